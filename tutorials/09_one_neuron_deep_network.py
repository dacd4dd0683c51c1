# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 9. A deep network on one neuron: Fit-DNN
#
# Stelzer et al. (Nat. Commun. 2021) fold a deep network into **one** nonlinear element with
# delayed feedback loops: hidden layer l is a time interval of N node intervals theta, and
# the loop with delay (N + n') theta, multiplied by a modulation M(t), carries the n'-th
# diagonal of a hidden weight matrix. spikebridge writes the element once, as a Brian2
# equation file, trains the folded system in torch by backpropagation through the delay
# system itself, and runs the trained network back in Brian2, one element per image.
#
# Here the element is one we write ourselves: a tanh node instead of the paper's sine.
#
# Run time: under a minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 2,000
# training images, N = 32, 2 epochs, 16 images in Brian2); a few minutes at full size
# (60,000 images, N = 100, 5 epochs, 200 images).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from spikebridge.data.sources import load_split
from spikebridge.fitdnn import FitDNN, FitDNNConfig, TrainConfig, element_update, load_element
from spikebridge.fitdnn.brian_delay import run_in_brian2
from spikebridge.fitdnn.modulations import delay_signals
from spikebridge.fitdnn.training import ImageData, evaluate, train_fitdnn

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
torch.manual_seed(0)

# %% [markdown]
# ## The element, as a Brian2 equation file
#
# One state variable, one input (the signal the folded network feeds in), a declared
# integration method and the time unit in which theta and the delays are given.

# %%
folder = Path(tempfile.mkdtemp())
element_file = folder / "tanh_node.py"
element_file.write_text(
    '''"""A leaky tanh node: tau dx/dt = -x + tanh(a)."""
from brian2 import ms

EQUATIONS = """
dx/dt = (-x + tanh(a))/tau : 1
a : 1
tau : second
"""
METHOD = "exponential_euler"
METHODS = ("exponential_euler", "euler")
STATE = "x"
INPUT = "a"
PARAMETERS = {"tau": 1 * ms}
TIME_UNIT = 1 * ms
'''
)
element = load_element(element_file)
update = element_update(element, dt=0.5e-3 / 8)
print(element)
print(f"Brian2's step, measured: x <- {update.c:.6f} x + u(a)")
print(update.source)

# %% [markdown]
# ## Three ways to run the same weights
#
# `dde` is the delay system, stepped as Brian2 steps it; `network` is the paper's
# equivalent network (the delayed signal taken at the node values); `decoupled` drops the
# node's inertia (theta -> infinity). On random weights they already differ:

# %%
train, test = load_split("fashion-mnist", "train"), load_split("fashion-mnist", "test")
n_train, n_test = (2000, 500) if SMALL else (60000, 10000)
data = ImageData.from_arrays(
    (train[0][:n_train], train[1][:n_train]), (test[0][:n_test], test[1][:n_test])
)
config = FitDNNConfig(
    nodes=32 if SMALL else 100,
    loops=15 if SMALL else 50,
    substeps=8,
    element=str(element_file),
)
model = FitDNN(config)
with torch.no_grad():
    for mode in ("dde", "network", "decoupled"):
        print(f"{mode:>10}: {model(data.test_x[:1], mode)[0, :4].numpy().round(3)}")

# %% [markdown]
# ## Training through the delay system

# %%
training = TrainConfig(mode="dde", epochs=2 if SMALL else 5, lr=5e-3 if SMALL else 1e-3)
model, result = train_fitdnn(config, training, data)
for record in result.history:
    print(record)
for mode in ("dde", "network", "decoupled"):
    print(f"same weights in {mode}: {100 * evaluate(model, data, training, mode):.1f} %")

# %% [markdown]
# ## The weights as modulation functions
#
# Each delay loop gets a step function M_d(t) over the sample's L N node intervals: zero
# on the input layer, the n'-th diagonal of the hidden weights on layer 2.

# %%
signals = delay_signals(model, data.test_x[:1])
fig, ax = plt.subplots(figsize=(7, 3))
t = np.arange(signals.modulation.shape[0]) * config.theta
for d in range(3):
    ax.step(t, signals.modulation[:, d], where="post", label=f"loop {d}: n' = {signals.offsets[d]}")
ax.set_xlabel("time (units of tau)")
ax.set_ylabel("M_d(t)")
ax.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## Back in Brian2
#
# One delay element per test image, driven by the exported signals (a shift register per
# element holds the delayed states). The predictions must be the torch `dde` mode's.

# %%
samples = 16 if SMALL else 200
bridge_model = FitDNN(config, dtype=torch.float64)
bridge_model.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
x = data.test_x[:samples].double()
run = run_in_brian2(bridge_model, x, device="cpp_standalone", directory=folder / "build")
torch_logits = bridge_model(x, "dde").detach().numpy()
agreement = np.mean(run.logits.argmax(1) == torch_logits.argmax(1))
print(
    f"Brian2 vs torch dde: prediction agreement {100 * agreement:.1f} % on {samples} images, "
    f"max |logit difference| {np.abs(run.logits - torch_logits).max():.1e}"
)
assert agreement == 1.0
