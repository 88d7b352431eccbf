"""The bayesian-synapse runs in PyTorch (CPU), written as the seed formulates them (seed 004:
dense torch tensors for the rate network and its readout, advanced step by step), with the
corrections docs/bayesian-synapse.md lists: the reference that `plastic-zoo train
bayesian-synapse` is timed against.

The same work as the zoo's run: `--networks` networks of N = 500 rate units (M dense with a
fraction p = 0.1 of entries N(0, g²/(pN)), g = 1.5; w_f ~ U(−1, 1); x₀ ~ 0.5·N(0, 1); w = 0),
each learning `--targets` targets (one period, 160 steps, of a Gaussian process with the
periodic kernel exp(−2 sin²(π|Δt|/160)), sampled exactly and scaled to mean 0, variance 1), all
advanced together as `[networks, targets, N]` tensors. Per step: r = tanh(x),
x ← (1 − dt/τ)x + (dt/τ)(r·M + z·w_f) with dt/τ = 0.1, r = tanh(x), z = r·w, δ = f − z, and the
Bayesian rule w += (σ²/σ_δ²)·r·δ, σ² −= σ⁴r²/σ_δ² (floored at 0), σ²(0) = η₀σ_δ², η₀ = 1e-2,
σ_δ² = 1. A trial is one period; the test MSE is one period with the readout frozen from a copy
of the state, at trial 0, every 100 trials and after the last. float32.

The weights and targets come from PyTorch's and NumPy's generators, not the zoo's, so the two
runs agree in the test MSE's size, not to the digit.

    python tools/torch_bayesian_synapse.py --trials 100

Prints one JSON line: the seconds of the trials and tests, and the median test MSE over
networks × targets after the last trial.
"""
import argparse
import json
import time

import numpy as np
import torch

from torch_reference import parse_and_seed

N, P, GAIN, LEAK, PERIOD, ETA0, ERROR_VARIANCE = 500, 0.1, 1.5, 0.1, 160, 1e-2, 1.0


def gp_targets(count, rng):
    t = np.arange(PERIOD)
    kernel = np.exp(-2 * np.sin(np.pi * np.abs(t[:, None] - t[None, :]) / PERIOD) ** 2)
    values, vectors = np.linalg.eigh(kernel)
    root = vectors * np.sqrt(np.clip(values, 0, None))
    samples = rng.standard_normal((count, PERIOD)) @ root.T
    samples -= samples.mean(axis=1, keepdims=True)
    return samples / samples.std(axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=4)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--test-every", type=int, default=100)
    args, rng = parse_and_seed(parser)
    nets, runs = args.networks, args.targets

    mask = torch.rand(nets, N, N) < P
    recurrent = torch.randn(nets, N, N) * GAIN / np.sqrt(P * N) * mask
    feedback = torch.rand(nets, 1, N) * 2 - 1
    targets = torch.tensor(gp_targets(runs, rng), dtype=torch.float32)  # [runs, period]
    state = 0.5 * torch.randn(nets, runs, N)
    output = torch.zeros(nets, runs, 1)
    weights = torch.zeros(nets, runs, N)
    variance = torch.full((nets, runs, N), ETA0 * ERROR_VARIANCE)

    def period(state, output, learn):
        squared = torch.zeros(nets, runs, 1)
        for t in range(PERIOD):
            rates = torch.tanh(state)
            state = (1 - LEAK) * state + LEAK * (torch.bmm(rates, recurrent) + output * feedback)
            rates = torch.tanh(state)
            output = (rates * weights).sum(dim=2, keepdim=True)
            error = targets[:, t].view(1, runs, 1) - output
            squared += error**2
            if learn:
                weights.add_(variance / ERROR_VARIANCE * rates * error)
                variance.sub_(variance**2 * rates**2 / ERROR_VARIANCE).clamp_(min=0.0)
        return state, output, squared / PERIOD

    started = time.perf_counter()
    tests = []
    for trial in range(args.trials + 1):
        if trial > 0:
            state, output, _ = period(state, output, learn=True)
        if trial % args.test_every == 0 or trial == args.trials:
            _, _, mse = period(state.clone(), output.clone(), learn=False)
            tests.append(float(mse.flatten().median()))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "reference": f"torch_bayesian_synapse, torch {torch.__version__}",
                "seconds": round(seconds, 3),
                "median_mse": tests[-1],
                "test_medians": tests,
            }
        )
    )


if __name__ == "__main__":
    main()
