"""Meta-training a learned synaptic rule in PyTorch (CPU): the reference that `plastic-zoo train
learned-rule` is timed against.

One meta-step, as the zoo takes it (docs/learned-rule.md, the `boolean` preset): 32 fresh
2-[20]-1 nets without biases (ReLU hidden layer, tanh output; PyTorch's `nn.Linear` weights,
uniform in ±1/√fan-in), each given one of the 10 training boolean functions (±1 coding); 40
online updates, each on one random example per net, in which every synapse feeds an LSTM rule
(`nn.LSTMCell(4, 10)`, a memory per synapse and layer) its presynaptic activity, postsynaptic
activity, weight and the example's error target − output, and gets Δw = 0.1 · a linear readout
of the rule's hidden state (the readout starting at zero), the weights then clamped to [−1, 1];
then the nets' mean squared error on the four inputs, backpropagated through the whole inner
loop into the rule, the gradient clipped to a global norm of 1, and one Adam step (1e-3).

The nets, tasks and examples come from PyTorch's and NumPy's generators, not the zoo's, so the
two runs agree in the loss's size, not to the digit.

    python tools/torch_learned_rule.py --meta-steps 5

Prints one JSON line: the seconds of the meta-steps and the last meta-step's loss.
"""
import argparse
import json
import time

import numpy as np
import torch

from torch_reference import parse_and_seed

NETS, HIDDEN, RULE_HIDDEN, INNER, STEP_SCALE = 32, 20, 10, 40, 0.1
INPUTS = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
# The boolean functions other than the validation (and, or, nand, nor) and held-out (xor,
# xnor) ones, as their outputs on INPUTS: all 16 sign patterns but those six.
HELD = {(-1, -1, -1, 1), (-1, 1, 1, 1), (1, 1, 1, -1), (1, -1, -1, -1), (-1, 1, 1, -1),
        (1, -1, -1, 1)}
TRAINING = [p for p in np.ndindex(2, 2, 2, 2)]
TRAINING = [tuple(2 * b - 1 for b in p) for p in TRAINING]
TRAINING = torch.tensor([p for p in TRAINING if p not in HELD], dtype=torch.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta-steps", type=int, default=5)
    args, rng = parse_and_seed(parser)

    cell = torch.nn.LSTMCell(4, RULE_HIDDEN)
    readout = torch.nn.Linear(RULE_HIDDEN, 1)
    torch.nn.init.zeros_(readout.weight)
    torch.nn.init.zeros_(readout.bias)
    parameters = list(cell.parameters()) + list(readout.parameters())
    optimizer = torch.optim.Adam(parameters, lr=1e-3)

    def changes(pre, post, weights, error, memory):
        """Δw of every synapse of one layer: `weights` `[nets, out, in]`."""
        nets, outs, ins = weights.shape
        shape = (nets, outs, ins)
        features = torch.stack(
            [pre.expand(shape), post.transpose(1, 2).expand(shape), weights,
             error.expand(shape)], dim=3).reshape(-1, 4)
        hidden, state = cell(features, memory)
        return STEP_SCALE * readout(hidden).reshape(shape), (hidden, state)

    loss = None
    started = time.perf_counter()
    for _ in range(args.meta_steps):
        tasks = TRAINING[rng.integers(len(TRAINING), size=NETS)]
        first = (torch.rand(NETS, HIDDEN, 2) * 2 - 1) / np.sqrt(2)
        second = (torch.rand(NETS, 1, HIDDEN) * 2 - 1) / np.sqrt(HIDDEN)
        memories = [None, None]
        for _ in range(INNER):
            example = torch.tensor(rng.integers(4, size=NETS))
            x = INPUTS[example].view(NETS, 1, 2)
            target = tasks[torch.arange(NETS), example].view(NETS, 1, 1)
            hidden = torch.relu(x @ first.transpose(1, 2))
            output = torch.tanh(hidden @ second.transpose(1, 2))
            error = (target - output).mean(dim=2, keepdim=True)
            d_first, memories[0] = changes(x, hidden, first, error, memories[0])
            d_second, memories[1] = changes(hidden, output, second, error, memories[1])
            first = (first + d_first).clamp(-1.0, 1.0)
            second = (second + d_second).clamp(-1.0, 1.0)
        outputs = torch.tanh(torch.relu(INPUTS @ first.transpose(1, 2)) @ second.transpose(1, 2))
        loss = ((outputs.squeeze(2) - tasks) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "reference": f"torch_learned_rule, torch {torch.__version__}",
                "seconds": round(seconds, 3),
                "meta_steps": args.meta_steps,
                "loss": loss.item(),
            }
        )
    )


if __name__ == "__main__":
    main()
