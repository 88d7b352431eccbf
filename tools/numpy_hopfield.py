"""The Hopfield runs as a plain NumPy loop: the reference that `plastic-zoo train hopfield` is
timed against.

The same work as the zoo's run: for each load P/N, networks of N units, each storing
P = round(load·N) random ±1 patterns by the Hebbian rule (W = ξᵀξ/N, zero diagonal), enough
networks that at least `--min-probes` patterns are probed; one synchronous step from the
stored patterns (the one-step error); then the patterns' cues, each unit flipped with
probability `--cue-flip`, settled by asynchronous sweeps (units one at a time in a fresh random
order per sweep, the same order for the network's P probes, s_i ← sign(Σ_j W_ij s_j) with
sign(0) = +1) until a sweep changes no unit or 300 sweeps have run; a probe is recalled when
its final overlap with its pattern is at least 0.95. The critical load is where the recalled
fraction first falls below ½, interpolated linearly between the loads around the fall. float32,
as the zoo runs. The defaults are the zoo's `recall` preset (src/experiments/hopfield/mod.rs).

The patterns come from NumPy's generator, not the zoo's, so the two runs agree in the figures'
size, not to the digit.

    python tools/numpy_hopfield.py                                   # the recall preset
    python tools/numpy_hopfield.py --neurons 500 --loads 0.12,0.13,0.14,0.15,0.16 --cue-flip 0.1

Prints one JSON line: the seconds the networks took and, per load, the fraction recalled, the
mean final overlap, the one-step error and the mean sweeps per network (the figures of the
first load also at the top level), and the critical load.
"""
import argparse
import json
import time

import numpy as np

MAX_SWEEPS, RECALL_OVERLAP = 300, 0.95


def measure(n, load, cue_flip, min_probes, rng):
    """One load: its networks, probed; returns the cell's figures."""
    count = max(1, round(load * n))
    networks = max(1, -(-min_probes // count))
    overlaps, sweeps_taken, flipped = [], [], 0
    for _ in range(networks):
        patterns = np.where(rng.random((count, n)) < 0.5, -1.0, 1.0).astype(np.float32)
        weights = patterns.T @ patterns / np.float32(n)
        np.fill_diagonal(weights, 0.0)
        stepped = np.where(patterns @ weights >= 0, 1.0, -1.0)
        flipped += int(np.sum(stepped != patterns))
        states = patterns * np.where(rng.random((count, n)) < cue_flip, -1.0, 1.0).astype(np.float32)
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
    overlaps = np.array(overlaps)
    return {
        "load": load,
        "networks": networks,
        "probes": len(overlaps),
        "recalled": float(np.mean(overlaps >= RECALL_OVERLAP - 1e-9)),
        "mean_overlap": float(overlaps.mean()),
        "one_step_error": flipped / (networks * count * n),
        "mean_sweeps": float(np.mean(sweeps_taken)),
    }


def critical_load(cells):
    """Where recall first falls below ½, interpolated linearly; None if it never does."""
    for above, below in zip(cells, cells[1:]):
        if below["recalled"] < 0.5 <= above["recalled"]:
            t = (above["recalled"] - 0.5) / (above["recalled"] - below["recalled"])
            return above["load"] + t * (below["load"] - above["load"])
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--neurons", type=int, default=500)
    parser.add_argument("--loads", default="0.02", help="comma-separated, increasing")
    parser.add_argument("--cue-flip", type=float, default=0.2)
    parser.add_argument("--min-probes", type=int, default=500)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    loads = [float(load) for load in args.loads.split(",")]
    started = time.perf_counter()
    cells = [measure(args.neurons, load, args.cue_flip, args.min_probes, rng) for load in loads]
    seconds = time.perf_counter() - started

    report = {"reference": "numpy_hopfield", "neurons": args.neurons, "seconds": round(seconds, 3)}
    report.update({k: v for k, v in cells[0].items() if k != "load"})
    for cell in cells:
        report[f"recalled.p{cell['load']:g}"] = cell["recalled"]
    report["critical_load"] = critical_load(cells)
    report["cells"] = cells
    print(json.dumps(report))


if __name__ == "__main__":
    main()
