"""The Hopfield `recall` preset as a plain NumPy loop: the reference that
`plastic-zoo train hopfield` is timed against.

The same work as the zoo's run: 50 networks of N = 500 units, each storing P = 10 random ±1
patterns by the Hebbian rule (W = ξᵀξ/N, zero diagonal); one synchronous step from the stored
patterns (the one-step error); then the patterns' cues, each unit flipped with probability
0.2, settled by asynchronous sweeps (units one at a time in a fresh random order per sweep,
the same order for the network's 10 probes, s_i ← sign(Σ_j W_ij s_j) with sign(0) = +1) until a
sweep changes no unit or 300 sweeps have run; a probe is recalled when its final overlap with
its pattern is at least 0.95. float32, as the zoo runs.

The patterns come from NumPy's generator, not the zoo's, so the two runs agree in the figures'
size, not to the digit.

    python tools/numpy_hopfield.py

Prints one JSON line: the seconds the networks took, the fraction recalled, the mean final
overlap, the one-step error and the mean sweeps per network.
"""
import argparse
import json
import time

import numpy as np


# The zoo's `recall` preset (src/experiments/hopfield/mod.rs).
NEURONS, LOAD, CUE_FLIP, MIN_PROBES, MAX_SWEEPS, RECALL_OVERLAP = 500, 0.02, 0.2, 500, 300, 0.95


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n = NEURONS
    count = max(1, round(LOAD * n))
    networks = max(1, -(-MIN_PROBES // count))
    rng = np.random.default_rng(args.seed)
    overlaps, sweeps_taken, flipped = [], [], 0

    started = time.perf_counter()
    for _ in range(networks):
        patterns = np.where(rng.random((count, n)) < 0.5, -1.0, 1.0).astype(np.float32)
        weights = patterns.T @ patterns / np.float32(n)
        np.fill_diagonal(weights, 0.0)
        stepped = np.where(patterns @ weights >= 0, 1.0, -1.0)
        flipped += int(np.sum(stepped != patterns))
        states = patterns * np.where(rng.random((count, n)) < CUE_FLIP, -1.0, 1.0).astype(np.float32)
        order = np.arange(n)
        for sweep in range(1, MAX_SWEEPS + 1):
            rng.shuffle(order)
            before = states.copy()
            for unit in order:
                states[:, unit] = np.where(states @ weights[:, unit] >= 0, 1.0, -1.0)
            if np.array_equal(states, before):
                break
        sweeps_taken.append(sweep)
        overlaps.extend((states * patterns).sum(axis=1) / n)
    seconds = time.perf_counter() - started

    overlaps = np.array(overlaps)
    print(
        json.dumps(
            {
                "reference": "numpy_hopfield",
                "networks": networks,
                "probes": len(overlaps),
                "seconds": round(seconds, 3),
                "recalled": float(np.mean(overlaps >= RECALL_OVERLAP - 1e-9)),
                "mean_overlap": float(overlaps.mean()),
                "one_step_error": flipped / (networks * count * n),
                "mean_sweeps": float(np.mean(sweeps_taken)),
            }
        )
    )


if __name__ == "__main__":
    main()
