"""Times every model of the zoo beside its reference, alternating the two, and writes
docs/performance.md.

For each row it runs our command and the reference's, one after the other, `--repeats` times,
and takes the medians. Each side is timed as a whole process (wall time and peak resident
memory, from the operating system's accounting of the child); the reference's own JSON line
also gives the seconds of its work alone (without starting Python and importing its
libraries), and the table's ratio divides our whole command by that: the comparison least
favourable to the zoo. The result figures each side printed are shown beside, so that the two
can be seen to do the same work.

Run it from the repository root, with the release binary built and the references'
libraries in a throwaway virtual environment (the project itself never depends on Python):

    cargo build --release
    python3 -m venv /tmp/perf && /tmp/perf/bin/pip install numpy torch scikit-learn "reservoirpy>=0.4,<0.5"
    /tmp/perf/bin/python tools/performance.py            # writes docs/performance.md

(PyPI's torch wheel for Linux brings CUDA's libraries too, about 3 GB; the references run it on
the CPU, on 2 threads.)

The analysis below the table (what stops a row that misses the goal) is written by hand and
kept when the table is regenerated.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

# One row per comparison: our arguments to plastic-zoo, the reference's arguments to Python,
# and the figures of each JSON line that show the same work was done.
ROWS = [
    {
        "model": f"feedback-alignment (product, {method.upper()})",
        "ours": ["--json", "train", "feedback-alignment", "--task", "product", "--method", method],
        "reference": ["tools/numpy_fa_product.py", "--method", method],
        "reference_name": "NumPy loop",
        "ours_figures": ["frozen_mse_fraction", "angle_hidden1"],
        "reference_figures": ["frozen_mse_percent_of_variance", "last_angle_degrees"],
    }
    for method in ("fa", "bp")
] + [
    {
        "model": "feedback-alignment (Fashion-MNIST, 784-1000-10, FA, 1 epoch)",
        "ours": ["--json", "train", "feedback-alignment", "--task", "fashion-mnist",
                 "--epochs", "1", "--method", "fa"],
        "reference": ["tools/torch_fa_fashion.py", "--epochs", "1", "--method", "fa"],
        "reference_name": "PyTorch, updates by hand",
        "ours_figures": ["test_error"],
        "reference_figures": ["test_error"],
        "note": "needs Debian's `dataset-fashion-mnist` (both sides read "
        "/usr/share/datasets/fashion-mnist); ours also measures the hidden layer's angle to "
        "the true gradient every `--log-every` updates.",
    },
    {
        "model": "plastic-rnn (dp-simple: N = 1000, 106 steps, 10 episodes)",
        "ours": ["--json", "train", "plastic-rnn", "--preset", "dp-simple", "--episodes", "10",
                 "--eval-episodes", "1"],
        "reference": ["tools/torch_pattern_nets.py", "--model", "plastic", "--episodes", "10"],
        "reference_name": "PyTorch",
        "ours_figures": ["loss"],
        "reference_figures": ["loss"],
    },
] + [
    {
        "model": f"{model} (dp-50bit: {units}, 11 steps, 30 episodes)",
        "ours": ["--json", "train", model, "--preset", "dp-50bit", "--episodes", "30",
                 "--eval-episodes", "1"],
        "reference": ["tools/torch_pattern_nets.py", "--model", model, "--episodes", "30"],
        "reference_name": "PyTorch",
        "ours_figures": ["loss"],
        "reference_figures": ["loss"],
        "note": "30 episodes, so that training rather than starting and saving sets the time: "
        "ours writes a checkpoint before the first episode and after the last (for the LSTM "
        "65 MB, then 200 MB with Adam's moments) and evaluates; the per-episode figures are "
        "below the table.",
    }
    for model, units in (("rnn", "2051 units"), ("lstm", "2000 hidden units"))
] + [
    {
        "model": "cue-reward (retroactive, 32 units, 50 updates of 16 episodes × 60 steps)",
        "ours": ["--json", "train", "cue-reward", "--episodes", "50", "--eval-episodes", "1"],
        "reference": ["tools/torch_cue_reward.py", "--updates", "50"],
        "reference_name": "PyTorch",
        "ours_figures": ["reward"],
        "reference_figures": ["mean_reward"],
        "note": "the rewards are not the same measure: ours is one evaluation episode's, the "
        "reference's the mean over its last ten updates; both sit near chance (0) this early.",
    },
    {
        "model": "force (N = 1000, seed 0)",
        "ours": ["--json", "train", "force", "--seed", "0"],
        "reference": ["tools/numpy_force.py", "--seed", "0"],
        "reference_name": "NumPy loop",
        "ours_figures": ["train_mae", "test_mae"],
        "reference_figures": ["train_mae_last_period", "test_mae"],
    },
    {
        "model": "bayesian-synapse (4 networks × 5 targets, N = 500, 100 trials)",
        "ours": ["--json", "train", "bayesian-synapse", "--trials", "100"],
        "reference": ["tools/torch_bayesian_synapse.py", "--trials", "100"],
        "reference_name": "PyTorch",
        "ours_figures": ["median_mse"],
        "reference_figures": ["median_mse"],
        "note": "the median test MSE this early varies severalfold between seeds on either "
        "side: at trial 200, 0.0005 and 0.031 for `plastic-zoo --json train bayesian-synapse "
        "--trials 200 --seed 1` and `--seed 2`, 0.0008 and 0.0011 for "
        "`tools/torch_bayesian_synapse.py --trials 200 --seed 1` and `--seed 2`.",
    },
    {
        "model": "hopfield (recall: 50 networks, N = 500, P = 10)",
        "ours": ["--json", "train", "hopfield", "--preset", "recall"],
        "reference": ["tools/numpy_hopfield.py"],
        "reference_name": "NumPy loop",
        "ours_figures": ["recalled", "mean_overlap", "one_step_error.classic.n500.p0.02"],
        "reference_figures": ["recalled", "mean_overlap", "one_step_error"],
    },
    {
        "model": "hopfield (capacity: N = 1000, P/N = 0.12–0.17, cues 10 % flipped)",
        "ours": ["--json", "train", "hopfield", "--neurons", "1000",
                 "--loads", "0.12,0.13,0.14,0.15,0.16,0.17", "--cue-flip", "0.1"],
        "reference": ["tools/numpy_hopfield.py", "--neurons", "1000",
                      "--loads", "0.12,0.13,0.14,0.15,0.16,0.17", "--cue-flip", "0.1"],
        "reference_name": "NumPy loop",
        "ours_figures": ["critical_load", "recalled.classic.n1000.p0.14"],
        "reference_figures": ["critical_load", "recalled.p0.14"],
    },
    {
        "model": "learned-rule (boolean, LSTM rule, 10 meta-steps of 32 nets × 40 updates)",
        "ours": ["--json", "train", "learned-rule", "--meta-steps", "10"],
        "reference": ["tools/torch_learned_rule.py", "--meta-steps", "10"],
        "reference_name": "PyTorch",
        "ours_figures": ["xor.k40.learned"],
        "reference_figures": ["loss"],
        "note": "ours also tunes and scores the six hand-written rules (6 rates × 4 validation "
        "tasks, then 100 nets per held-out task) and scores the learned rule at the end; the "
        "reference takes the meta-steps alone. After 10 meta-steps the rule has learned "
        "nothing yet on either side (ours solves 1 of 100 XOR nets; the reference's meta-loss "
        "is near 1, as ours is: 0.95 in its metrics.jsonl).",
    },
    {
        "model": "hebbian-ff (xor, 2-100-1, 100 replications × 400 updates)",
        "ours": ["--json", "train", "hebbian-ff"],
        "reference": ["tools/numpy_hebbian_ff.py"],
        "reference_name": "NumPy, seed 001's loop",
        "ours_figures": ["success_rate"],
        "reference_figures": ["success_rate"],
        "note": "ours also scores every copy on the four inputs every 4 updates (the "
        "learning curve), writes checkpoints and plots; the seed's loop scores once, at the end.",
    },
    {
        "model": "sorn (counting, n = 10: one network, 50 000 plastic + 10 000 readout steps)",
        "ours": ["--json", "train", "sorn", "--repeats", "10", "--variants", "sorn",
                 "--replicates", "1"],
        "reference": ["tools/numpy_sorn.py", "--repeats", "10"],
        "reference_name": "NumPy loop + scikit-learn",
        "ours_figures": ["sorn_word_end", "sorn_accuracy"],
        "reference_figures": ["word_end", "predictable"],
    },
    {
        "model": "esn (Mackey-Glass, 1000 units, seed 0)",
        "ours": ["--json", "train", "esn", "--units", "1000", "--seed", "0"],
        "reference": ["tools/reservoirpy_esn.py", "--units", "1000", "--seeds", "0", "--repeats", "1"],
        "reference_name": "reservoirpy",
        "ours_figures": ["test_rmse"],
        "reference_figures": ["median_test_rmse"],
        "ours_work": "fit_predict_seconds",
        "reference_work": "median_fit_predict_seconds",
        "note": "reservoirpy's fit + predict includes drawing and scaling its reservoir (the "
        "spectral radius by ARPACK); ours leaves out building the reservoir (its spectral "
        "radius by a restarted Arnoldi iteration too), so the work ratio favours us; the "
        "whole-command ratio does not.",
    },
]

# Below this line docs/performance.md is written by hand (what stops the rows that miss the
# goal, the floors, what was tried); regenerating the table keeps it.
KEPT = "<!-- Written by hand below this line; tools/performance.py keeps it. -->"


def run(command):
    """Runs `command`; returns its wall seconds, peak resident bytes, last JSON line and
    system (kernel) seconds."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"failed ({child.returncode}): {' '.join(command)}")
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"no JSON line from: {' '.join(command)}")
    # ru_maxrss is in KiB on Linux.
    return seconds, usage.ru_maxrss * 1024, json.loads(lines[-1]), usage.ru_stime


def work_seconds(report, name):
    """The seconds a JSON line gives for the work alone: `name` among its metrics or at its
    top level."""
    value = report.get("metrics", {}).get(name, report.get(name))
    if value is None:
        sys.exit(f"no {name} in {report}")
    return float(value)


def figure(report, name):
    value = report.get("metrics", report).get(name)
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def system_share(runs):
    """The median share of wall time a command spent in the kernel."""
    return f"{100 * statistics.median(r[3] / r[0] for r in runs):.0f} %"


def mebibytes(values):
    return f"{statistics.median(values) / 2**20:.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="target/release/plastic-zoo")
    parser.add_argument("--python", default=sys.executable, help="runs the references")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="run only the rows whose model contains this")
    parser.add_argument("--out", default="docs/performance.md")
    args = parser.parse_args()
    if not os.path.exists(args.zoo):
        sys.exit(f"{args.zoo} is missing: run `cargo build --release` first")

    rows = [r for r in ROWS if not args.only or args.only in r["model"]]
    table = []
    with tempfile.TemporaryDirectory() as runs:
        for row in rows:
            ours, reference = [], []
            for repeat in range(args.repeats):
                name = ["--out", runs, "--run-name", f"{len(table)}-{repeat}"]
                ours.append(run([args.zoo, *row["ours"], *name]))
                reference.append(run([args.python, *row["reference"]]))
                print(f"{row['model']}: ours {ours[-1][0]:.2f} s, reference {reference[-1][0]:.2f} s",
                      file=sys.stderr)
            ours_wall = statistics.median(r[0] for r in ours)
            ours_work = statistics.median(
                work_seconds(r[2], row.get("ours_work", "seconds")) for r in ours
            )
            ref_wall = statistics.median(r[0] for r in reference)
            ref_work = statistics.median(
                work_seconds(r[2], row.get("reference_work", "seconds")) for r in reference
            )
            table.append((row, ours, reference, ours_wall, ours_work, ref_wall, ref_work))

    command = " ".join(["python", "tools/performance.py", *sys.argv[1:]])
    lines = [
        "# Performance",
        "",
        "Every model beside what a researcher would otherwise run, timed side by side: the two "
        f"commands alternate, {args.repeats} times each, and the table gives medians. Wall time "
        "and peak memory are of the whole process; *work* is the seconds each side reports for "
        "the work alone (the reference without starting Python and importing its libraries; "
        "ours without starting, and for esn the fit and prediction as reservoirpy times them); "
        "*system time* is our process's time in the kernel as a share of its wall time. "
        "**Ratio** = our whole command ÷ the reference's work: the comparison least favourable "
        "to the zoo; *work ratio* = our work ÷ the reference's work. The figures show that both sides did the same work (the references draw "
        "their weights from NumPy's or PyTorch's generator, so they agree in size, not to the "
        "digit). PyTorch runs on 2 threads, NumPy with its BLAS's default.",
        "",
        f"Made by `{command}` on {datetime.date.today()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.platform()}; ours on the default backend (ndarray).",
        "",
        "| model | ours: wall, peak, work, system time | reference | reference: wall, peak, work | ratio | work ratio | our figures | reference's figures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios = [ours_wall / ref_work for _, _, _, ours_wall, _, _, ref_work in table]
    leaner = sum(
        statistics.median(r[1] for r in ours) <= statistics.median(r[1] for r in reference)
        for _, ours, reference, *_ in table
    )
    header = lines.index(
        "| model | ours: wall, peak, work, system time | reference | reference: wall, peak, "
        "work | ratio | work ratio | our figures | reference's figures |"
    )
    lines[header:header] = [
        f"**Summary**: of {len(table)} rows, {sum(r <= 0.5 for r in ratios)} at or below 0.5× "
        f"(the goal), {sum(0.5 < r <= 1.0 for r in ratios)} between 0.5× and 1×, "
        f"{sum(r > 1.0 for r in ratios)} slower than the reference; ours peaks at no more memory "
        f"than the reference in {leaner} of them.",
        "",
    ]
    for row, ours, reference, ours_wall, ours_work, ref_wall, ref_work in table:
        ours_figures = ", ".join(f"{n} {figure(ours[0][2], n)}" for n in row["ours_figures"])
        ref_figures = ", ".join(
            f"{n} {figure(reference[0][2], n)}" for n in row["reference_figures"]
        )
        lines.append(
            f"| {row['model']} | {ours_wall:.2f} s, {mebibytes([r[1] for r in ours])}, "
            f"{ours_work:.3g} s, {system_share(ours)} | {row['reference_name']} (`{' '.join(row['reference'])}`) "
            f"| {ref_wall:.2f} s, {mebibytes([r[1] for r in reference])}, {ref_work:.3g} s "
            f"| **{ours_wall / ref_work:.2f}×** | {ours_work / ref_work:.2f}× "
            f"| {ours_figures} | {ref_figures} |"
        )
    notes = [f"- {row['model']}: {row['note']}" for row, *_ in table if "note" in row]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "Our commands: `plastic-zoo " + "`, `plastic-zoo ".join(" ".join(r["ours"]) for r, *_ in table) + "`.",
    ]
    kept = [KEPT]
    if os.path.exists(args.out):
        with open(args.out) as old:
            previous = old.read()
        if KEPT in previous:
            kept = [KEPT + previous.split(KEPT, 1)[1].rstrip("\n")]
    lines += ["", *kept]
    with open(args.out, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
