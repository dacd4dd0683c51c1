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
# # 1. One model, two engines
#
# A neuron model in spikebridge is one file of Brian2 equations. From it, Brian2 generates
# C++ for simulation and spikebridge generates a PyTorch step function for training, both
# from Brian2's own state-update code. In this tutorial we write a small model file (an
# adaptive exponential integrate-and-fire neuron), run it on both engines and check that
# they agree, then look at the same check for the HH model of the paper.
#
# Run time: about 1 minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`), a few minutes
# at full size.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

import spikebridge as sb
from spikebridge import ms, namp

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
sns.set_theme(context="notebook", style="whitegrid")

# %% [markdown]
# ## Write a model file
#
# The file holds the equations, the spike condition and reset, the integration method
# (always declared: Brian2 would otherwise pick one for you), default parameters with units,
# and a docstring that states the equations.

# %%
MODEL = '''"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

::

    C dv/dt = -g_L (v - E_L) + g_L D_T exp((v - V_T)/D_T) - w + I
    tau_w dw/dt = a (v - E_L) - w
    spike when v > -40 mV: v <- V_r, w <- w + b
"""
from brian2 import mV, ms, namp, nS, pF

EQUATIONS = """
dv/dt = (-g_L*(v - E_L) + g_L*D_T*exp((v - V_T)/D_T) - w + I)/C : volt
dw/dt = (a*(v - E_L) - w)/tau_w : amp
I : amp
C : farad
g_L : siemens
E_L : volt
V_T : volt
D_T : volt
V_r : volt
a : siemens
b : amp
tau_w : second
"""
THRESHOLD = "v > -40*mV"
RESET = "v = V_r; w += b"
METHOD = "euler"
METHODS = ("euler", "rk2")
DT = 0.05 * ms
INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV
EXAMPLE_INPUT = {"I": 0.8 * namp}
PARAMETERS = {
    "I": 0 * namp, "C": 281 * pF, "g_L": 30 * nS, "E_L": -70.6 * mV, "V_T": -50.4 * mV,
    "D_T": 2 * mV, "V_r": -70.6 * mV, "a": 4 * nS, "b": 0.0805 * namp, "tau_w": 144 * ms,
}
INITIAL = {"v": -70.6 * mV}
'''
path = Path(tempfile.mkdtemp()) / "adex.py"
path.write_text(MODEL)
adex = sb.load_model(path)
adex

# %% [markdown]
# spikebridge checked the file when loading it: the equations parse, every parameter has a
# default in the right units, the method is one Brian2 knows. A mistake gets a message that
# says what to fix:

# %%
broken = path.with_name("broken.py")
broken.write_text(MODEL.replace("tau_w : second\n", ""))  # forget to declare a parameter
try:
    sb.load_model(broken)
except sb.ModelFileError as error:
    print(error)

# %% [markdown]
# ## The generated torch step
#
# This is the code the torch engine runs: Brian2's Euler statements for this model,
# rendered operation for operation, with the threshold turned into spikes that carry a
# surrogate gradient and the reset applied where a spike occurred.

# %%
print(sb.torch.torch_step(adex).source)

# %% [markdown]
# ## Run both engines
#
# The same input, a step current that ramps per neuron, on Brian2 (`cpp_standalone`:
# generated C++) and on torch.

# %%
duration = 200 * ms if SMALL else 500 * ms
n_steps = round(float(duration / adex.dt))
current = np.outer(np.ones(n_steps), [0.6, 0.8, 1.0]) * namp
common = dict(n_steps=n_steps, n=3, inputs={"I": current}, record=("v", "w"))
brian = sb.simulate(adex, engine="brian2", device="cpp_standalone", **common)
torch_result = sb.simulate(adex, engine="torch", **common)

fig, ax = plt.subplots(figsize=(8, 3))
for j in range(3):
    ax.plot(brian.t * 1e3, brian.trace("v", 1e-3)[:, j], lw=1.5, label=f"Brian2, {current[0, j]}")
    ax.plot(torch_result.t * 1e3, torch_result.trace("v", 1e-3)[:, j], "k--", lw=0.7)
ax.set(xlabel="time (ms)", ylabel="v (mV)", title="AdEx: Brian2 (colour) and torch (dashed)")
ax.legend(fontsize=8)

# %%
for j in range(3):
    print(
        f"neuron {j}: Brian2 spikes {brian.spike_steps('spike', j)[:5]}..., "
        f"torch spikes {torch_result.spike_steps('spike', j)[:5]}..."
    )
print("spike steps identical:", np.array_equal(brian.spikes["spike"], torch_result.spikes["spike"]))
print("max |dv| = %.2e mV" % (np.abs(brian.traces["v"] - torch_result.traces["v"]).max() * 1e3))
assert np.array_equal(brian.spikes["spike"], torch_result.spikes["spike"])

# %% [markdown]
# ## The same model as a trainable layer
#
# `SpikingNeurons` wraps the generated step as an `nn.Module`. Parameters can be trained;
# spikes have a surrogate gradient (the paper's rectangular window by default, or any
# snnTorch surrogate).

# %%
layer = sb.SpikingNeurons(adex, 3, trainable=("a", "b"), dtype=torch.float64)
x = torch.as_tensor(current / namp * 1e-9, dtype=torch.float64)[:400]
spk, mem = layer(x)
mem.mean().backward()  # any differentiable objective of spikes and membranes
print("spikes per neuron:", spk.sum(0).tolist())
print(f"d(mean v)/d(a) = {layer.a.grad.item():.3g} V/S")
print(f"d(mean v)/d(b) = {layer.b.grad.item():.3g} V/A")

# %% [markdown]
# ## The paper's HH neuron, checked the same way
#
# `spikebridge parity` (here its Python form) runs any model of the catalogue on both
# engines with a deterministic stimulus and compares against the tolerance table.

# %%
report = sb.parity("hh_rest0", duration=15 * ms, device="cpp_standalone")
{
    k: report.to_dict()[k]
    for k in (
        "model",
        "method",
        "max_abs_v",
        "membrane_unit",
        "spikes_brian2",
        "spikes_torch",
        "spike_steps_equal",
    )
}
