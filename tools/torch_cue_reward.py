"""The cue-reward agent's training in PyTorch (CPU): the reference that `plastic-zoo train
cue-reward` is timed against.

One update plays a batch of episodes of the cue-reward association task with actions sampled
from the policy, then takes one Adam step on the advantage actor-critic loss, as Backpropamine's
`sr/srbatch.py` trains its agents (uber-research/backpropamine): the core advanced step by step
over the batch, the loss summed over the episode's steps, one backward pass, the gradient
clipped to a global norm, Adam. The agent and task follow the zoo's preset (docs/cue-reward.md),
so that both sides do the same arithmetic: 2 cues of 1 bit, 60-step episodes, batches of 16, a
32-unit retroactively modulated plastic core
y = tanh(x·W_in + b_in + y_prev·(W + α⊙Hebb)), M = tanh(y·w_mod),
Hebb ← clamp(Hebb + M·E, ±1), E ← (1 − η_e)E + η_e·y_prevᵀy (η_e = 0.3, learned), policy and
value heads, loss Σ_t −log π(a_t)(R_t − V_t) + 0.1(R_t − V_t)² − 0.03 H(π_t) with
R_t = r_t + 0.9 R_{t+1}, the advantage held constant in the policy term, clipping at 2,
Adam 3e-3 (ε = 1e-6).

The weights, cues and actions come from PyTorch's and NumPy's generators, not the zoo's, so the
two runs agree in the reward's size (chance: 0 after few updates), not to the digit.

    python tools/torch_cue_reward.py --updates 50

Prints one JSON line: the seconds of the updates and the mean reward per episode of the last
ten updates.
"""
import argparse
import json
import time

import numpy as np
import torch

from torch_reference import parse_and_seed

CUES, BITS, STEPS, BATCH, HIDDEN, LR = 2, 1, 60, 16, 32, 3e-3
INPUTS = BITS + 6  # cue bits, go, constant 1, elapsed fraction, last reward, last action (2)


def trials(rng):
    """The steps of one episode: per step, the cue shown (or -1), whether it is the go step,
    and the cues the trial showed (for the reward at its go step)."""
    shown, go, trial_cues = [], [], []
    while len(shown) < STEPS:
        cues = list(rng.choice(CUES, CUES // 2, replace=False))
        blanks = int(rng.integers(CUES))
        slots = [-1] * (len(cues) + blanks)
        for cue, slot in zip(cues, sorted(rng.choice(len(slots), len(cues), replace=False))):
            slots[slot] = cue
        steps = [-1] + slots + [-2, -1]
        for s in steps:
            shown.append(max(s, -1))
            go.append(s == -2)
            trial_cues.append(set(cues))
    return shown[:STEPS], go[:STEPS], trial_cues[:STEPS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50)
    args, rng = parse_and_seed(parser)

    def linear(fan_in, shape):
        bound = 1 / np.sqrt(fan_in)
        return torch.nn.Parameter(torch.empty(shape).uniform_(-bound, bound))

    w_in, b_in = linear(INPUTS, (INPUTS, HIDDEN)), linear(INPUTS, (HIDDEN,))
    w = torch.nn.Parameter(0.001 * torch.randn(HIDDEN, HIDDEN))
    alpha = torch.nn.Parameter(0.001 * torch.rand(HIDDEN, HIDDEN))
    w_mod = linear(HIDDEN, (HIDDEN,))
    eta = torch.nn.Parameter(torch.tensor(0.3))
    w_pi, b_pi = linear(HIDDEN, (HIDDEN, 2)), linear(HIDDEN, (2,))
    w_v, b_v = linear(HIDDEN, (HIDDEN, 1)), linear(HIDDEN, (1,))
    parameters = [w_in, b_in, w, alpha, w_mod, eta, w_pi, b_pi, w_v, b_v]
    optimizer = torch.optim.Adam(parameters, lr=LR, eps=1e-6)

    rewards_per_update = []
    started = time.perf_counter()
    for _ in range(args.updates):
        episodes = [trials(rng) for _ in range(BATCH)]
        codes = np.where(rng.random((BATCH, CUES, BITS)) < 0.5, -1.0, 1.0)
        targets = rng.integers(CUES, size=BATCH)
        # The episodes' inputs but for the agent's own last reward and action, `[steps, batch,
        # inputs]`, and per step and episode whether it is a go step and whether the trial
        # showed the target.
        cue_inputs = np.zeros((STEPS, BATCH, INPUTS), dtype=np.float32)
        go_steps = np.zeros((STEPS, BATCH), dtype=bool)
        target_shown = np.zeros((STEPS, BATCH), dtype=bool)
        for b, (shown, go, cues) in enumerate(episodes):
            for t in range(STEPS):
                if shown[t] >= 0:
                    cue_inputs[t, b, :BITS] = codes[b, shown[t]]
                go_steps[t, b] = go[t]
                target_shown[t, b] = targets[b] in cues[t]
        cue_inputs[:, :, BITS] = go_steps
        cue_inputs[:, :, BITS + 1] = 1.0
        cue_inputs[:, :, BITS + 2] = (np.arange(STEPS) / STEPS)[:, None]
        cue_inputs = torch.tensor(cue_inputs)
        go_steps, target_shown = torch.tensor(go_steps), torch.tensor(target_shown)
        y = torch.zeros(BATCH, HIDDEN)
        hebb = torch.zeros(BATCH, HIDDEN, HIDDEN)
        trace = torch.zeros(BATCH, HIDDEN, HIDDEN)
        reward = torch.zeros(BATCH)
        action = torch.zeros(BATCH, dtype=torch.long)
        log_probs, values, entropies, rewards = [], [], [], []
        for t in range(STEPS):
            x = cue_inputs[t].clone()
            x[:, BITS + 3] = reward
            x[:, BITS + 4 :] = torch.nn.functional.one_hot(action, 2).float()
            recurrent = torch.bmm(y.unsqueeze(1), w + alpha * hebb).squeeze(1)
            new = torch.tanh(x @ w_in + b_in + recurrent)
            modulation = torch.tanh(new @ w_mod).view(BATCH, 1, 1)
            hebb = torch.clamp(hebb + modulation * trace, -1.0, 1.0)
            trace = (1 - eta) * trace + eta * torch.bmm(y.unsqueeze(2), new.unsqueeze(1))
            y = new
            policy = torch.softmax(y @ w_pi + b_pi, dim=1)
            action = torch.multinomial(policy.detach(), 1).squeeze(1)
            log_probs.append(torch.log(policy.gather(1, action.view(-1, 1)).squeeze(1)))
            entropies.append(-(policy * torch.log(policy)).sum(dim=1))
            values.append((y @ w_v + b_v).squeeze(1))
            right = (action == 1) == target_shown[t]
            reward = torch.where(go_steps[t], torch.where(right, 1.0, -1.0), 0.0)
            rewards.append(reward)
        loss, ret = 0.0, torch.zeros(BATCH)
        for t in reversed(range(STEPS)):
            ret = rewards[t] + 0.9 * ret
            advantage = ret - values[t]
            loss = loss + (-log_probs[t] * advantage.detach() + 0.1 * advantage**2
                           - 0.03 * entropies[t]).mean()
        optimizer.zero_grad()
        (loss / STEPS).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 2.0)
        optimizer.step()
        rewards_per_update.append(float(torch.stack(rewards).sum(0).mean()))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "reference": f"torch_cue_reward, torch {torch.__version__}",
                "seconds": round(seconds, 3),
                "updates": args.updates,
                "mean_reward": float(np.mean(rewards_per_update[-10:])),
            }
        )
    )


if __name__ == "__main__":
    main()
