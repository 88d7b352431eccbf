"""FORCE learning as a plain NumPy loop of the supplementary script's equations (Sussillo &
Abbott 2009, `force_external_feedback_loop.m`): the reference that `train force` is timed
against.

The same work as `plastic-zoo train force --seed S`: N = 1000 rate neurons, M with connection
probability p = 0.1 and entries N(0, g²/(pN)) held as a dense matrix, g = 1.5, feedback
w_f ~ U(−1, 1), x₀ and z₀ ~ 0.5·N(0, 1), Euler steps of dt = 0.1 (τ = 1); RLS every 2 steps
with P₀ = I/α, α = 1, in the script's order (k = P r, c = 1/(1 + rᵀk), P ← P − c k kᵀ,
e = z − f, w ← w − c e k); 1440 time units of training, then 1440 of free-running test with the
readout fixed. Target: f(t) = (1.3/1.5)[sin(πt/60) + ½ sin(2πt/60) + ⅙ sin(3πt/60) +
⅓ sin(4πt/60)]. float32, as the zoo runs; BLAS threads as the environment sets them.

The weights come from NumPy's generator, not the zoo's, so the two runs agree in the size of
the errors (the zoo's docs: test MAE 0.03–0.09 over seeds 0–4), not to the digit.

    python tools/numpy_force.py --seed 0

Prints one JSON line: the seconds training and test took, the mean |z − f| of the last training
period and of the test.
"""
import argparse
import json
import time

import numpy as np


def target(t):
    phase = np.pi * t / 60.0
    return (1.3 / 1.5) * (
        np.sin(phase) + np.sin(2 * phase) / 2 + np.sin(3 * phase) / 6 + np.sin(4 * phase) / 3
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--gain", type=float, default=1.5)
    parser.add_argument("--connectivity", type=float, default=0.1)
    parser.add_argument("--train-time", type=float, default=1440.0)
    parser.add_argument("--test-time", type=float, default=1440.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n, p, g, dt, alpha, learn_every = args.neurons, args.connectivity, args.gain, 0.1, 1.0, 2
    rng = np.random.default_rng(args.seed)
    mask = rng.random((n, n)) < p
    recurrent = (mask * rng.standard_normal((n, n)) * g / np.sqrt(p * n)).astype(np.float32)
    feedback = (2.0 * (rng.random(n) - 0.5)).astype(np.float32)
    x = (0.5 * rng.standard_normal(n)).astype(np.float32)
    z = np.float32(0.5 * rng.standard_normal())
    r = np.tanh(x)
    w = np.zeros(n, dtype=np.float32)
    inverse_correlation = (np.eye(n) / alpha).astype(np.float32)
    train_steps = int(round(args.train_time / dt))
    test_steps = int(round(args.test_time / dt))
    period_steps = int(round(120.0 / dt))
    f = target(np.arange(train_steps + test_steps) * dt).astype(np.float32)
    errors = np.empty(train_steps + test_steps, dtype=np.float64)

    started = time.perf_counter()
    for step in range(train_steps + test_steps):
        # x(t) = (1 − dt)x + M r dt + w_f z dt, the script's Euler step (τ = 1).
        x = (1.0 - dt) * x + recurrent @ (r * dt) + feedback * (z * dt)
        r = np.tanh(x)
        z = w @ r
        if step < train_steps and (step + 1) % learn_every == 0:
            k = inverse_correlation @ r
            c = 1.0 / (1.0 + r @ k)
            inverse_correlation -= np.outer(k, k * c)
            e = z - f[step]
            w -= e * k * c
        errors[step] = abs(z - f[step])
    seconds = time.perf_counter() - started

    print(
        json.dumps(
            {
                "reference": "numpy_force",
                "seed": args.seed,
                "seconds": round(seconds, 3),
                "train_mae_last_period": float(errors[train_steps - period_steps : train_steps].mean()),
                "test_mae": float(errors[train_steps:].mean()),
            }
        )
    )


if __name__ == "__main__":
    main()
