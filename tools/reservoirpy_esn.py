"""reservoirpy's side of the echo-state network comparison.

Runs reservoirpy's README benchmark (Mackey-Glass, 2000 samples, the last 20 % for testing,
one-step prediction, warm-up 100, ridge 1e-5, leak 0.3, spectral radius 1.25) for several
seeds and prints one JSON line: the test RMSE per seed and their median, the median wall
time of fit + predict, and the RMSE of --generative closed-loop steps from the start of the
test set (each prediction fed back as the next input). Install into a throwaway virtual environment:

    python -m venv /tmp/rpy && /tmp/rpy/bin/pip install "reservoirpy>=0.4,<0.5"
    /tmp/rpy/bin/python tools/reservoirpy_esn.py --units 100 --seeds 0,1,2,3,4
"""
import argparse
import json
import statistics
import time

import numpy as np
import reservoirpy as rpy
from reservoirpy.datasets import mackey_glass
from reservoirpy.nodes import Reservoir, Ridge

p = argparse.ArgumentParser()
p.add_argument("--units", type=int, default=100)
p.add_argument("--samples", type=int, default=2000)
p.add_argument("--seeds", default="0,1,2,3,4")
p.add_argument("--repeats", type=int, default=5, help="timed fit + predict per seed")
p.add_argument("--generative", type=int, default=100, help="closed-loop steps")
p.add_argument(
    "--initialise-apart",
    action="store_true",
    help="draw and scale the reservoir (reservoir.initialize) before the timer, timed apart",
)
a = p.parse_args()

series = mackey_glass(a.samples + 1)
split = int(0.8 * a.samples)
x_train, y_train = series[:split], series[1 : split + 1]
x_test, y_test = series[split:-1], series[split + 1 :]

rmses, times, generative, initialise = [], [], [], []
for seed in [int(s) for s in a.seeds.split(",")]:
    for repeat in range(a.repeats):
        reservoir = Reservoir(units=a.units, lr=0.3, sr=1.25, seed=seed)
        readout = Ridge(output_dim=1, ridge=1e-5)
        esn = reservoir >> readout
        if a.initialise_apart:
            start = time.perf_counter()
            reservoir.initialize(x_train[:1])
            initialise.append(time.perf_counter() - start)
        start = time.perf_counter()
        esn.fit(x_train, y_train, warmup=100)
        predicted = esn.run(x_test)
        times.append(time.perf_counter() - start)
    rmses.append(float(np.sqrt(np.mean((predicted - y_test) ** 2))))
    # The reservoir after the last training input predicts the first test value; from there
    # each prediction is the next input.
    esn.reset()
    y = esn.run(x_train)[-1]
    loop = [y]
    for _ in range(a.generative - 1):
        y = esn.step(y)
        loop.append(y)
    loop = np.stack(loop)
    truth = series[split : split + a.generative]
    generative.append(float(np.sqrt(np.mean((loop - truth) ** 2))))

print(json.dumps({
    "impl": "reservoirpy-" + rpy.__version__,
    "units": a.units,
    "test_rmse": rmses,
    "median_test_rmse": statistics.median(rmses),
    "median_fit_predict_seconds": statistics.median(times),
    "generative_rmse": generative,
    "median_generative_rmse": statistics.median(generative),
    "median_initialise_seconds": statistics.median(initialise) if initialise else None,
}))
