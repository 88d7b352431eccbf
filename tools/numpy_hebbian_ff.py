"""The default `train hebbian-ff` run as seed 001 runs it, in NumPy: the reference that the zoo
is timed against.

Seed 001 (`../shared/seeds/001_*.txt`, the supervised-Hebbian cells) trains its replications
one after another: for each, a fresh 2-[hidden]-1 network without biases (PyTorch's
`nn.Linear` initialisation, every weight uniform in ±1/√fan-in), then `--updates` updates, each
on one of the four ±1 input pairs drawn at random: from the output back, ΔW = lr·yᵀx with y
the target at the output and x the ReLU activity of the layer below, every weight then clamped
to [−1, 1]; the first layer keeps its random weights. A replication succeeds when all four
outputs have the target's sign. This loop is the seed's, with NumPy in place of PyTorch.

The weights come from NumPy's generator, not the zoo's, so the two runs agree in the success
rate's size, not to the digit.

    python tools/numpy_hebbian_ff.py                       # xor, hidden 100, 100 × 400, lr 0.01

Prints one JSON line: the seconds the replications took and the success rate.
"""
import argparse
import json
import time

import numpy as np

INPUTS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
TARGETS = {"xor": np.array([-1.0, 1.0, 1.0, -1.0]), "and": np.array([-1.0, -1.0, -1.0, 1.0])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TARGETS), default="xor")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    targets = TARGETS[args.task]
    successes = 0
    started = time.perf_counter()
    for _ in range(args.replications):
        first = rng.uniform(-1 / np.sqrt(2), 1 / np.sqrt(2), (args.hidden, 2)).astype(np.float32)
        bound = 1 / np.sqrt(args.hidden)
        output = rng.uniform(-bound, bound, (1, args.hidden)).astype(np.float32)
        for _ in range(args.updates):
            example = rng.integers(0, 4)
            hidden = np.maximum(first @ INPUTS[example].astype(np.float32), 0.0)
            output += np.float32(args.lr * targets[example]) * hidden
            np.clip(output, -1.0, 1.0, out=output)
        outputs = np.maximum(INPUTS.astype(np.float32) @ first.T, 0.0) @ output.T
        successes += int(np.all((outputs[:, 0] > 0) == (targets > 0)))
    seconds = time.perf_counter() - started

    print(
        json.dumps(
            {
                "reference": "numpy_hebbian_ff",
                "seconds": round(seconds, 3),
                "replications": args.replications,
                "success_rate": successes / args.replications,
            }
        )
    )


if __name__ == "__main__":
    main()
