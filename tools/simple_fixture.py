"""Makes tests/fixtures/dp_simple_16.{pt,json}: weights of the differentiable-plasticity
simple/simple.py network (uber-research/differentiable-plasticity), trained briefly in
PyTorch at a small size, and one episode's input and final output as PyTorch computes them.

Our own statement of simple.py's network and task, shrunk: PATTERNSIZE 16 (NBNEUR 17, the
last neuron the bias, driven by an input of 20), NBPATTERNS 2, NBPRESCYCLES 2, PRESTIME 6,
INTERPRESDELAY 4, PRESTIMETEST 6, PROBADEGRADE 0.5; w, alpha ~ 0.01*N(0,1), eta 0.01 learned;
y(t) = tanh(y(t-1) @ (w + alpha*hebb) + input(t)), hebb = (1-eta)*hebb + eta*outer(y(t-1), y(t)),
y(0) = 0, hebb(0) = 0; loss = squared error of the last step on the pattern bits; Adam.
simple.py itself pickles numpy arrays; the fixture is the state dict a PyTorch user would
save: torch.save({"w", "alpha", "eta"}).

Run once, from a throwaway virtual environment (pip install torch numpy):
    python tools/simple_fixture.py --out tests/fixtures
"""
import argparse, json, os
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("--out", default="tests/fixtures")
p.add_argument("--episodes", type=int, default=400)
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

PATTERNSIZE, NBPATTERNS, NBPRESCYCLES = 16, 2, 2
PRESTIME, INTERPRESDELAY, PRESTIMETEST, PROBADEGRADE = 6, 4, 6, 0.5
NBNEUR = PATTERNSIZE + 1
NBSTEPS = NBPRESCYCLES * (PRESTIME + INTERPRESDELAY) * NBPATTERNS + PRESTIMETEST

torch.manual_seed(a.seed)
rng = np.random.default_rng(a.seed)


def episode():
    seedp = np.ones(PATTERNSIZE); seedp[: PATTERNSIZE // 2] = -1
    patterns = [rng.permutation(seedp) for _ in range(NBPATTERNS)]
    test = patterns[rng.integers(NBPATTERNS)].copy()
    keep = np.ones(PATTERNSIZE); keep[: int(PROBADEGRADE * PATTERNSIZE)] = 0; rng.shuffle(keep)
    inputs = np.zeros((NBSTEPS, NBNEUR))
    for c in range(NBPRESCYCLES):
        order = rng.permutation(NBPATTERNS)
        for i in range(NBPATTERNS):
            start = c * NBPATTERNS * (PRESTIME + INTERPRESDELAY) + i * (PRESTIME + INTERPRESDELAY)
            inputs[start : start + PRESTIME, :PATTERNSIZE] = patterns[order[i]]
    inputs[-PRESTIMETEST:, :PATTERNSIZE] = test * keep
    inputs[:, -1] = 1.0
    inputs *= 20.0
    return torch.tensor(inputs, dtype=torch.float32), torch.tensor(test, dtype=torch.float32)


w = (0.01 * torch.randn(NBNEUR, NBNEUR)).requires_grad_()
alpha = (0.01 * torch.randn(NBNEUR, NBNEUR)).requires_grad_()
eta = (0.01 * torch.ones(1)).requires_grad_()
opt = torch.optim.Adam([w, alpha, eta], lr=a.lr)


def run(inputs):
    y = torch.zeros(1, NBNEUR)
    hebb = torch.zeros(NBNEUR, NBNEUR)
    for t in range(NBSTEPS):
        yout = torch.tanh(y.mm(w + alpha * hebb) + inputs[t : t + 1])
        hebb = (1 - eta) * hebb + eta * torch.bmm(y.unsqueeze(2), yout.unsqueeze(1))[0]
        y = yout
    return y[0]


errors = []
for _ in range(a.episodes):
    inputs, target = episode()
    opt.zero_grad()
    y = run(inputs)
    loss = (y[:PATTERNSIZE] - target).pow(2).sum()
    loss.backward()
    opt.step()
    errors.append(float(np.mean(np.sign(y[:PATTERNSIZE].detach().numpy()) != np.sign(target.numpy()))))

inputs, target = episode()
with torch.no_grad():
    y = run(inputs)
print("final y of the held-out episode:", y.tolist())
os.makedirs(a.out, exist_ok=True)
torch.save({"w": w.detach(), "alpha": alpha.detach(), "eta": eta.detach()},
           os.path.join(a.out, "dp_simple_16.pt"))
with open(os.path.join(a.out, "dp_simple_16.json"), "w") as f:
    json.dump({
        "made_by": "tools/simple_fixture.py",
        "torch": torch.__version__,
        "settings": {"patternsize": PATTERNSIZE, "nbneur": NBNEUR, "nbpatterns": NBPATTERNS,
                     "nbprescycles": NBPRESCYCLES, "prestime": PRESTIME,
                     "interpresdelay": INTERPRESDELAY, "prestimetest": PRESTIMETEST,
                     "episodes": a.episodes, "lr": a.lr, "seed": a.seed},
        "sign_error_last_100_training_episodes": float(np.mean(errors[-100:])),
        "eta": float(eta.detach()[0]),
        "inputs": inputs.tolist(),
        "target": target.tolist(),
        "final_y": y.tolist(),
    }, f)
print(json.dumps({"sign_error_last_100": float(np.mean(errors[-100:])), "eta": float(eta.detach()[0])}))
