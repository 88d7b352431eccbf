"""reservoirpy's side of the echo-state network comparison.

Runs reservoirpy's README benchmark (Mackey-Glass, 2000 samples, the last 20 % for testing,
one-step prediction, warm-up 100, ridge 1e-5, leak 0.3, spectral radius 1.25) for several
seeds and prints one JSON line: the test RMSE per seed and their median, and the median wall
time of fit + predict. Install into a throwaway virtual environment:

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
a = p.parse_args()

series = mackey_glass(a.samples + 1)
split = int(0.8 * a.samples)
x_train, y_train = series[:split], series[1 : split + 1]
x_test, y_test = series[split:-1], series[split + 1 :]

rmses, times = [], []
for seed in [int(s) for s in a.seeds.split(",")]:
    for repeat in range(a.repeats):
        reservoir = Reservoir(units=a.units, lr=0.3, sr=1.25, seed=seed)
        readout = Ridge(output_dim=1, ridge=1e-5)
        esn = reservoir >> readout
        start = time.perf_counter()
        esn.fit(x_train, y_train, warmup=100)
        predicted = esn.run(x_test)
        times.append(time.perf_counter() - start)
    rmses.append(float(np.sqrt(np.mean((predicted - y_test) ** 2))))

print(json.dumps({
    "impl": "reservoirpy-" + rpy.__version__,
    "units": a.units,
    "test_rmse": rmses,
    "median_test_rmse": statistics.median(rmses),
    "median_fit_predict_seconds": statistics.median(times),
}))
