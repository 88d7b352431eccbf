"""Times the original NumPy RTRL of BOHP (ThomasMiconi/BOHP_RNN, rnnbohp.py: runNetwork) on one
episode, for a side-by-side comparison with `plastic-zoo compare`.

rnnbohp.py is not part of this project: fetch it into a directory of your own and pass that
directory. Needs numpy.

    python tools/numpy_bohp_time.py --bohp-dir /tmp/bohp_ref --n 29 --steps 66 --repeats 3

Prints one JSON line: the median seconds per runNetwork call and every time measured.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bohp-dir", required=True, help="directory holding rnnbohp.py")
    parser.add_argument("--n", type=int, default=29, help="neurons, the bias neuron included")
    parser.add_argument("--steps", type=int, default=66)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, args.bohp_dir)
    from rnnbohp import runNetwork

    rng = np.random.default_rng(0)
    n = args.n
    w = rng.normal(0.0, 1.1 / np.sqrt(n), (n, n))
    alpha = 0.01 * rng.random((n, n))
    inputs = [rng.choice([-1.0, 1.0], n - 1) for _ in range(args.steps)]
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        runNetwork(w, alpha, 0.99, args.steps, inputs, np.zeros(n))
        times.append(time.perf_counter() - started)
    print(json.dumps({"impl": "numpy-rnnbohp", "n": n, "steps": args.steps,
                      "median_s": statistics.median(times), "times": times}))


if __name__ == "__main__":
    main()
