"""The pattern-memorisation episodes of `plastic-rnn`, `rnn` and `lstm` in PyTorch (CPU): the
reference that the zoo's training is timed against.

One training episode is a forward pass over the episode's steps, the squared error of the
read-out units at the last step, the backward pass and one Adam step, as the zoo trains each
network (docs/plastic-rnn.md, docs/baselines.md):

- `plastic`: the differentiable-plasticity network of simple.py (Miconi et al. 2018;
  uber-research/differentiable-plasticity `simple/simple.py`), without its bias neuron:
  y ← tanh(y·(W + α ⊙ Hebb) + input), Hebb ← (1 − η)·Hebb + η·yᵀy_new; W, α ~ 0.01·N(0, 1),
  η = 0.01, all learned. Default: the `dp-simple` preset (1000 units, 5 zero-sum patterns,
  2 cycles of 6 steps shown and 4 zero steps, a 6-step cue, inputs ×20, Adam 3e-4).
- `rnn`: the non-plastic network of the paper's `full.py --type nonplastic`:
  y ← tanh(y·W + input), 50 pattern units + 2000 more + a bias unit held at 1, W ~ 0.01·N(0, 1).
  Default: the `dp-50bit` preset (2 random 50-bit patterns, one cycle of 3 steps shown and 1
  zero step, a 3-step cue: 11 steps; inputs ×20; Adam 3e-5).
- `lstm`: `torch.nn.LSTM(50, 2000)` (the paper's `lstm.py` shape in the zoo's preset), its
  first 50 hidden units read out and, as the zoo does by default, clamped to their input
  (cell-gate weight 10 from their own channel, gate biases 10, −1000, 0, 10; those entries get
  no gradient). `dp-50bit` with inputs ×100, Adam 3e-5.

Half the cue's bits are zeroed. The weights and episodes come from PyTorch's and NumPy's
generators, not the zoo's, so the two runs agree in the loss's size, not to the digit.

    python tools/torch_pattern_nets.py --model plastic --episodes 10
    python tools/torch_pattern_nets.py --model lstm --episodes 10

Prints one JSON line: the seconds of the training episodes (episode generation excluded),
the median per episode, the last episode's loss and the peak resident memory.
"""
import argparse
import json
import resource
import time

import numpy as np
import torch

from torch_reference import parse_and_seed

PRESETS = {
    "plastic": dict(n=1000, hidden=0, patterns=5, cycles=2, prestime=6, delay=4, test=6,
                    scale=20.0, zero_sum=True, lr=3e-4),
    "rnn": dict(n=50, hidden=2000, patterns=2, cycles=1, prestime=3, delay=1, test=3,
                scale=20.0, zero_sum=False, lr=3e-5),
    "lstm": dict(n=50, hidden=2000, patterns=2, cycles=1, prestime=3, delay=1, test=3,
                 scale=100.0, zero_sum=False, lr=3e-5),
}


def episode(p, rng):
    """Inputs `[steps, 1, n]` and the target `[1, n]` of one episode."""
    n = p["n"]
    if p["zero_sum"]:
        half = np.ones(n)
        half[: n // 2] = -1
        patterns = np.stack([rng.permutation(half) for _ in range(p["patterns"])])
    else:
        patterns = np.where(rng.random((p["patterns"], n)) < 0.5, -1.0, 1.0)
    steps = p["cycles"] * p["patterns"] * (p["prestime"] + p["delay"]) + p["test"]
    inputs = np.zeros((steps, 1, n))
    t = 0
    for _ in range(p["cycles"]):
        for k in rng.permutation(p["patterns"]):
            inputs[t : t + p["prestime"], 0] = patterns[k]
            t += p["prestime"] + p["delay"]
    target = patterns[rng.integers(p["patterns"])]
    keep = np.ones(n)
    keep[: n // 2] = 0
    inputs[t:, 0] = target * rng.permutation(keep)
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)
    return as_tensor(inputs * p["scale"]), as_tensor(target[None, :])


def plastic(p):
    n = p["n"]
    w = torch.nn.Parameter(0.01 * torch.randn(n, n))
    alpha = torch.nn.Parameter(0.01 * torch.randn(n, n))
    eta = torch.nn.Parameter(torch.tensor(0.01))

    def forward(inputs):
        y, hebb = torch.zeros(1, n), torch.zeros(n, n)
        for x in inputs:
            new = torch.tanh(y @ (w + alpha * hebb) + x)
            hebb = (1 - eta) * hebb + eta * (y.t() @ new)
            y = new
        return y

    return [w, alpha, eta], forward


def rnn(p):
    n, units = p["n"], p["n"] + p["hidden"] + 1
    w = torch.nn.Parameter(0.01 * torch.randn(units, units))
    bias_unit = torch.zeros(1, units)
    bias_unit[0, -1] = 1.0
    keep = torch.ones(1, units)
    keep[0, -1] = 0.0

    def forward(inputs):
        y = bias_unit.clone()
        for x in inputs:
            drive = y @ w
            drive[:, :n] = drive[:, :n] + x
            y = torch.tanh(drive) * keep + bias_unit
        return y[:, :n]

    return [w], forward


def lstm(p):
    n, h = p["n"], p["hidden"]
    net = torch.nn.LSTM(n, h)
    fixed = torch.zeros_like(net.weight_ih_l0, dtype=torch.bool)
    fixed_bias = torch.zeros(4 * h, dtype=torch.bool)
    with torch.no_grad():
        # Gates in PyTorch's order (input, forget, cell, output); unit i < n copies input i.
        for gate, bias in enumerate((10.0, -1000.0, 0.0, 10.0)):
            rows = slice(gate * h, gate * h + n)
            fixed[rows] = True
            fixed_bias[rows] = True
            net.weight_ih_l0[rows] = 10.0 * torch.eye(n) if gate == 2 else 0.0
            net.bias_ih_l0[rows] = bias
            net.bias_hh_l0[rows] = 0.0
    net.weight_ih_l0.register_hook(lambda g: g.masked_fill(fixed, 0.0))
    net.bias_ih_l0.register_hook(lambda g: g.masked_fill(fixed_bias, 0.0))
    net.bias_hh_l0.register_hook(lambda g: g.masked_fill(fixed_bias, 0.0))

    def forward(inputs):
        out, _ = net(inputs)
        return out[-1, :, :n]

    return list(net.parameters()), forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(PRESETS), default="plastic")
    parser.add_argument("--episodes", type=int, default=10)
    args, rng = parse_and_seed(parser)
    p = PRESETS[args.model]
    parameters, forward = {"plastic": plastic, "rnn": rnn, "lstm": lstm}[args.model](p)
    optimizer = torch.optim.Adam(parameters, lr=p["lr"])

    times, loss = [], None
    for _ in range(args.episodes):
        inputs, target = episode(p, rng)
        started = time.perf_counter()
        y = forward(inputs)
        loss = ((y - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "reference": f"torch_pattern_nets ({args.model}), torch {torch.__version__}",
                "seconds": round(sum(times), 3),
                "median_episode_seconds": round(float(np.median(times)), 4),
                "loss": loss.item(),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
