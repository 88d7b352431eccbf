"""The feedback-alignment product task as a plain NumPy loop: the reference that
`train feedback-alignment --task product` is timed against.

It does the same work as the zoo's run: a 2-100-1 perceptron (ReLU hidden layer, linear output,
weights and biases uniform in ±1/√fan_in) learns x₀·x₁ from x₀ = sin(2πt/2) and
x₁ = sin(2π·0.7·t/2), one sample every 0.01 s, one SGD update per sample (lr 0.02, loss
½(y − t)²). The update is carried down by the transposed forward weights (bp), by a fixed random
matrix uniform in ±1/√100 (fa), or straight from the output error (dfa: the same matrix
here, since there is one hidden layer). Every 100 updates, as the zoo logs, the mean loss of the
window is taken and, for fa and dfa, the angle between the hidden layer's update and the true
gradient. At the end the frozen net is scored on the last input cycle (10 periods).

One thread, float32, as the zoo runs. The weights come from NumPy's generator, not the zoo's,
so the two runs agree in the score's size, not to the digit.

    python tools/numpy_fa_product.py --method fa

Prints one JSON line: the method, the seconds the updates took, and the frozen net's mean
squared error on the last cycle as a percentage of the target's variance (0.25).
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

PERIOD, DT, TARGET_VARIANCE, CYCLE_PERIODS = 2.0, 0.01, 0.25, 10.0


def samples(first, count):
    t = (np.arange(first, first + count, dtype=np.float64)) * DT
    phase = 2.0 * np.pi * t / PERIOD
    x = np.stack([np.sin(phase), np.sin(0.7 * phase)], axis=1)
    return x.astype(np.float32), (x[:, 0] * x[:, 1]).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["bp", "fa", "dfa"], default="fa")
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    f32 = np.float32

    def uniform(shape, fan):
        bound = 1.0 / np.sqrt(fan)
        return rng.uniform(-bound, bound, size=shape).astype(f32)

    h = args.hidden
    w1, b1 = uniform((2, h), 2), uniform((h,), 2)
    w2, b2 = uniform((h, 1), h), uniform((1,), h)
    feedback = uniform((1, h), h)
    lr = f32(args.lr)
    inputs, targets = samples(0, args.steps)
    log_every = round(1.0 / DT)

    started = time.perf_counter()
    window, angles = [], []
    for step in range(args.steps):
        x = inputs[step : step + 1]
        drive = x @ w1 + b1
        hidden = np.maximum(drive, 0)
        y = hidden @ w2 + b2
        miss = y - targets[step]
        window.append(0.5 * float(miss[0, 0]) ** 2)
        arriving = miss @ (w2.T if args.method == "bp" else feedback)
        delta = arriving * (drive > 0)
        dw1 = x.T @ delta
        if (step + 1) % log_every == 0 or step + 1 == args.steps:
            if args.method != "bp":
                true_dw1 = x.T @ ((miss @ w2.T) * (drive > 0))
                dot = float((dw1 * true_dw1).sum())
                norms = float(np.sqrt((dw1 * dw1).sum() * (true_dw1 * true_dw1).sum()))
                angles.append(np.degrees(np.arccos(np.clip(dot / norms, -1, 1))) if norms else 90.0)
            window.clear()
        w2 -= lr * (hidden.T @ miss)
        b2 -= lr * miss[0]
        w1 -= lr * dw1
        b1 -= lr * delta[0]
    seconds = time.perf_counter() - started

    cycle = max(round(CYCLE_PERIODS * PERIOD / DT), 1)
    first = max(args.steps - cycle, 0)
    x, t = samples(first, args.steps - first)
    y = (np.maximum(x @ w1 + b1, 0) @ w2 + b2)[:, 0]
    mse = float(np.mean((y.astype(np.float64) - t) ** 2))
    print(
        json.dumps(
            {
                "reference": "numpy",
                "method": args.method,
                "updates": args.steps,
                "seconds": seconds,
                "frozen_mse_percent_of_variance": 100.0 * mse / TARGET_VARIANCE,
                "last_angle_degrees": angles[-1] if angles else None,
            }
        )
    )


if __name__ == "__main__":
    main()
