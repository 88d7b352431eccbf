"""What the PyTorch references share: their `--threads` and `--seed` flags, and seeding."""
import numpy as np
import torch


def parse_and_seed(parser):
    """Adds `--threads` (PyTorch's CPU threads, 2 by default: this machine's cores) and
    `--seed` to `parser`, parses the command line, sets PyTorch's threads and seed, and
    returns the arguments and a NumPy generator from the same seed."""
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args, np.random.default_rng(args.seed)
