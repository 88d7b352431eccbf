"""One SORN on the counting task as a NumPy loop of dense matrices, the way SORN codes are
commonly written (a masked N_E × N_E matrix of E→E weights, one product per population per
step): the reference that `plastic-zoo train sorn` is timed against.

The same work as `plastic-zoo train sorn --repeats N --variants sorn --replicates 1`
(Lazar, Pipa and Triesch 2009; the zoo's equations, docs/sorn.md): N_E = 200 excitatory and
N_I = 40 inhibitory binary units, λ = 10 E→E synapses per neuron, each letter driving its own
pool of 10 excitatory units, weights uniform and each neuron's incoming weights of each kind
normalised to sum to 1, thresholds uniform on [0, 0.5]. Per step
x' = H(W_EE x − W_EI y − T_E + W_EU u), y' = H(W_IE x' − T_I); then on existing synapses
ΔW = η_STDP(x'xᵀ − x x'ᵀ) (0.001), clipped at 0, a synapse that reaches 0 pruned, rows
normalised, and T_E += η_IP(x' − 0.1) (0.001). 50 000 plastic steps on the words A B…B C and
D E…E F (n middle letters), then plasticity off, 5 000 steps to fit a multinomial logistic
readout of the next letter from x (scikit-learn, L2 with C = 1/(λ·samples), λ = 1e-4, on the
centred states) and 5 000 to test it. float32 dynamics, as the zoo runs.

The weights and letters come from NumPy's generator, not the zoo's, so the two runs agree in
the scores' size, not to the digit.

    python tools/numpy_sorn.py --repeats 10

Prints one JSON line: the seconds of the plastic phase, the readout phase and both, and the
test accuracy on word ends and on letters that do not begin a word.
"""
import argparse
import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

NE, NI, LAMBDA, POOL, SYMBOLS = 200, 40, 10, 10, 6
STDP, IP, TARGET, L2 = 0.001, 0.001, 0.1, 1e-4


def letters(repeats, steps, rng):
    stream = []
    while len(stream) < steps:
        first = 0 if rng.random() < 0.5 else 3
        stream += [first] + [first + 1] * repeats + [first + 2]
    return np.array(stream[:steps])


def normalised(rng, rows, cols):
    w = rng.uniform(np.finfo(np.float32).eps, 1.0, (rows, cols)).astype(np.float32)
    return w / w.sum(axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--plastic-steps", type=int, default=50_000)
    parser.add_argument("--readout-train", type=int, default=5_000)
    parser.add_argument("--readout-test", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    steps = args.plastic_steps + args.readout_train + args.readout_test + 1
    stream = letters(args.repeats, steps, rng)

    mask = np.zeros((NE, NE), dtype=bool)
    for post in range(NE):
        pre = rng.choice(NE - 1, LAMBDA, replace=False)
        mask[post, pre + (pre >= post)] = True
    w_ee = np.zeros((NE, NE), dtype=np.float32)
    w_ee[mask] = normalised(rng, NE, LAMBDA).ravel()
    w_ei, w_ie = normalised(rng, NE, NI), normalised(rng, NI, NE)
    w_eu = np.zeros((NE, SYMBOLS), dtype=np.float32)
    pools = rng.choice(NE, SYMBOLS * POOL, replace=False)
    w_eu[pools, np.arange(SYMBOLS * POOL) // POOL] = 1.0
    t_e = (rng.random(NE) * 0.5).astype(np.float32)
    t_i = (rng.random(NI) * 0.5).astype(np.float32)
    x, y = np.zeros(NE, dtype=np.float32), np.zeros(NI, dtype=np.float32)

    started = time.perf_counter()
    for t in range(args.plastic_steps):
        x_new = (w_ee @ x - w_ei @ y - t_e + w_eu[:, stream[t]] > 0).astype(np.float32)
        y = (w_ie @ x_new - t_i > 0).astype(np.float32)
        w_ee += STDP * (np.outer(x_new, x) - np.outer(x, x_new)) * mask
        np.maximum(w_ee, 0.0, out=w_ee)
        mask &= w_ee > 0
        w_ee /= np.maximum(w_ee.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
        t_e += IP * (x_new - TARGET)
        x = x_new
    plastic_seconds = time.perf_counter() - started

    started = time.perf_counter()
    readout_steps = args.readout_train + args.readout_test
    states = np.zeros((readout_steps, NE), dtype=np.float32)
    for k in range(readout_steps):
        t = args.plastic_steps + k
        x = (w_ee @ x - w_ei @ y - t_e + w_eu[:, stream[t]] > 0).astype(np.float32)
        y = (w_ie @ x - t_i > 0).astype(np.float32)
        states[k] = x
    nxt = stream[args.plastic_steps + 1 : args.plastic_steps + 1 + readout_steps]
    train, test = slice(0, args.readout_train), slice(args.readout_train, readout_steps)
    centred = states - states[train].mean(axis=0)
    fit = LogisticRegression(C=1.0 / (L2 * args.readout_train), max_iter=2000)
    fit.fit(centred[train], nxt[train])
    guess = fit.predict(centred[test])
    readout_seconds = time.perf_counter() - started

    truth = nxt[test]
    predictable = (truth != 0) & (truth != 3)
    word_end = (truth == 2) | (truth == 5)
    print(
        json.dumps(
            {
                "reference": "numpy_sorn",
                "seconds": round(plastic_seconds + readout_seconds, 3),
                "plastic_seconds": round(plastic_seconds, 3),
                "readout_seconds": round(readout_seconds, 3),
                "predictable": float(np.mean(guess[predictable] == truth[predictable])),
                "word_end": float(np.mean(guess[word_end] == truth[word_end])),
                "rate": float(states.mean()),
            }
        )
    )


if __name__ == "__main__":
    main()
