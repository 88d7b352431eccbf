"""Feedback alignment on Fashion-MNIST in PyTorch (CPU): the reference that `plastic-zoo train
feedback-alignment --task fashion-mnist` is timed against.

The same work as the zoo's run (docs/feedback-alignment.md): a 784-[1000]-10 net with tanh
hidden units, biases and a linear output, PyTorch's `nn.Linear` initialisation; softmax
cross-entropy; mini-batches of 32 shuffled each epoch, plain SGD at 0.05; the hidden layer's
error is the output error through a fixed random matrix B (entries uniform in ±1/√1000) for
`fa`, or through Wᵀ for `bp`, times tanh's slope, the updates written out by hand as FA
implementations do (no autograd); pixels standardised by the training set's mean and standard
deviation; the test error on the 10 000 test images after each epoch. float32.

The data: the four gzipped IDX files of Debian's `dataset-fashion-mnist` package
(/usr/share/datasets/fashion-mnist), or `--data-dir`.

    python tools/torch_fa_fashion.py --epochs 1 --method fa

Prints one JSON line: the seconds of the training and the tests, and the last test error.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch

from torch_reference import parse_and_seed


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--method", choices=["fa", "bp"], default="fa")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args, rng = parse_and_seed(parser)
    d = args.data_dir
    train_x = idx(f"{d}/train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32)
    train_y = idx(f"{d}/train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x = idx(f"{d}/t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32)
    test_y = idx(f"{d}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, sd = train_x.mean(), train_x.std()
    train_x, test_x = torch.tensor((train_x - mean) / sd), torch.tensor((test_x - mean) / sd)
    train_y, test_y = torch.tensor(train_y), torch.tensor(test_y)

    first, second = torch.nn.Linear(784, 1000), torch.nn.Linear(1000, 10)
    w1, b1 = first.weight.data.t().contiguous(), first.bias.data.clone()
    w2, b2 = second.weight.data.t().contiguous(), second.bias.data.clone()
    feedback = (torch.rand(10, 1000) * 2 - 1) / np.sqrt(1000)
    lr, batch = 0.05, 32

    started = time.perf_counter()
    error = None
    with torch.no_grad():
        for _ in range(args.epochs):
            order = torch.randperm(len(train_x))
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                x, y = train_x[rows], train_y[rows]
                hidden = torch.tanh(x @ w1 + b1)
                delta_out = torch.softmax(hidden @ w2 + b2, dim=1)
                delta_out[torch.arange(len(rows)), y] -= 1.0
                delta_out /= len(rows)
                back = feedback if args.method == "fa" else w2.t()
                delta_hidden = (delta_out @ back) * (1 - hidden**2)
                w2 -= lr * hidden.t() @ delta_out
                b2 -= lr * delta_out.sum(0)
                w1 -= lr * x.t() @ delta_hidden
                b1 -= lr * delta_hidden.sum(0)
            guesses = (torch.tanh(test_x @ w1 + b1) @ w2 + b2).argmax(dim=1)
            error = float((guesses != test_y).float().mean())
    seconds = time.perf_counter() - started
    print(json.dumps({"reference": f"torch_fa_fashion ({args.method}), torch {torch.__version__}",
                      "seconds": round(seconds, 3), "test_error": error}))


if __name__ == "__main__":
    main()
