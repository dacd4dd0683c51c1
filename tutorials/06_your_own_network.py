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
# # 6. Your own network: write it once, run it on both engines, train it, bridge it back
#
# A network is data, like a model file: populations of neuron models, sources, and
# projections whose synapses are written in Brian2's own `Synapses` syntax. spikebridge
# builds the description in Brian2 and renders Brian2's code for it into one torch step
# function, so both engines run the same network, spike for spike. Here: a small
# excitatory/inhibitory circuit of conductance-based LIF neurons that reads Poisson
# inputs; we simulate it on both engines, train its weights with surrogate gradients to
# tell two input patterns apart, and validate the trained network in Brian2.
#
# Run time: under a minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 96
# training and 48 test trials, 3 epochs; 41 s on 2 cores); a few minutes at full size (400
# and 200 trials, 8 epochs).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from brian2 import Hz, ms, mV, nS

from spikebridge.bridge import validate_network
from spikebridge.learning.fit import fit_network, predict
from spikebridge.network import (
    Dense,
    Network,
    Population,
    Probability,
    Projection,
    SpikeSource,
    Synapse,
    Uniform,
    network_parity,
    simulate_network,
)
from spikebridge.network.run import poisson_trains
from spikebridge.torch.network import SpikingNetwork

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
TRAIN, TEST, EPOCHS = (96, 48, 3) if SMALL else (400, 200, 8)
sns.set_theme(context="notebook", style="whitegrid")

# %% [markdown]
# ## The network, written once
# Two input patterns: 20 input neurons, the first half or the second half firing at 60 Hz
# (the others at 5 Hz). They drive 40 excitatory neurons through conductance synapses
# (`g_e_post += w`, `w` in siemens); 10 inhibitory neurons feed back onto them; two readout
# neurons listen to the excitatory ones. The neuron model is the catalogue's `lif_coba`
# (Brette et al. 2007); any model file works the same way. The trainable projections are
# marked `trainable=True`.

# %%
DT = 0.1 * ms
STEPS = 300  # 30 ms
excitatory = Synapse("w : siemens", on_pre="g_e_post += w")
inhibitory = Synapse("w : siemens", on_pre="g_i_post += w")
rng = np.random.default_rng(0)
network = Network(
    "ei_readout",
    DT,
    populations=(
        Population("exc", "lif_coba", 40, initial={"v": Uniform(-60 * mV, -55 * mV)}, seed=1),
        Population("inh", "lif_coba", 10, seed=2),
        Population("readout", "lif_coba", 2, seed=3),
    ),
    sources=(SpikeSource("inputs", 20, indices=np.zeros(0, int), steps=np.zeros(0, int)),),
    projections=(
        Projection(
            "in_exc",
            "inputs",
            "exc",
            excitatory,
            Dense(),
            weights=rng.uniform(0, 6, (20, 40)) * nS,
            trainable=True,
        ),
        Projection("exc_inh", "exc", "inh", excitatory, Probability(0.3, seed=4), weights=4 * nS),
        Projection("inh_exc", "inh", "exc", inhibitory, Probability(0.3, seed=5), weights=20 * nS),
        Projection(
            "exc_out",
            "exc",
            "readout",
            excitatory,
            Dense(),
            weights=rng.uniform(0, 4, (40, 2)) * nS,
            trainable=True,
        ),
    ),
    duration=STEPS * DT,
)


def trials(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input spike trains ``[count, T, 20]`` of the two patterns, and their labels."""
    labels = np.random.default_rng(seed).integers(0, 2, count)
    spikes = np.empty((count, STEPS, 20), dtype=bool)
    for k, label in enumerate(labels):
        rates = np.where((np.arange(20) < 10) == (label == 0), 60.0, 5.0)
        spikes[k] = poisson_trains(rates, STEPS, 1, float(DT), seed * 10_000 + k)[0]
    return spikes, labels


train_spikes, train_labels = trials(TRAIN, seed=1)
test_spikes, test_labels = trials(TEST, seed=2)

# %% [markdown]
# ## Both engines, one network
# `network_parity` runs the description on Brian2 (`cpp_standalone`) and on the torch
# engine from the same state and inputs and compares every spike and membrane.

# %%
report = network_parity(network, inputs={"inputs": train_spikes[:1]}, device="cpp_standalone")
print(
    f"spike for spike: {report.spike_steps_equal}; "
    + ", ".join(
        f"{name}: {row['spikes_brian2']} spikes, max |dV| {row['max_abs_v']:.1e} mV"
        for name, row in report.populations.items()
    )
)

# %%
result = simulate_network(network, engine="torch", inputs={"inputs": train_spikes[:1]})
fig, ax = plt.subplots(figsize=(8, 3))
for offset, (key, rows) in zip((0, 40, 50), result.spikes.items(), strict=True):
    ax.scatter(rows[:, 1] * 0.1, rows[:, 2] + offset, s=3, label=key)
inputs_rows = np.argwhere(train_spikes[0])
ax.scatter(inputs_rows[:, 0] * 0.1, inputs_rows[:, 1] + 52, s=3, label="inputs", color="grey")
ax.set_xlabel("time (ms)")
ax.set_ylabel("neuron")
ax.legend(fontsize=8, markerscale=3, loc="upper right")
plt.show()

# %% [markdown]
# ## Training with surrogate gradients
# `SpikingNetwork` is the description as an `nn.Module`; `fit_network` trains its
# trainable weights by backpropagation through time, with snnTorch's spike-count
# cross-entropy on the readout neurons. The learning rate is in the weights' unit.
# `detach_reset=True` resets with the detached spike, as snnTorch does: the forward
# dynamics are unchanged, but no gradient flows through the reset. For a physical model in
# SI units that matters: each threshold crossing would multiply the backward path by
# |v_reset - v| / mV (about 10 here), and over 300 steps the gradients overflow.

# %%
torch.manual_seed(0)
net = SpikingNetwork(network, dtype=torch.float32, detach_reset=True)
before = predict(net, {"inputs": test_spikes}, readout="readout", n_steps=STEPS)
history = fit_network(
    net,
    {"inputs": train_spikes},
    train_labels,
    readout="readout",
    n_steps=STEPS,
    epochs=EPOCHS,
    batch_size=16,
    lr=0.5 * nS,
    test=({"inputs": test_spikes}, test_labels),
    on_epoch=lambda r: print(
        f"epoch {r['epoch']:.0f}: loss {r['loss']:.3f}, test accuracy {r['test_accuracy']:.2f}"
    ),
)
print(
    f"test accuracy before training {(before == test_labels).mean():.2f}, "
    f"after {history.last['test_accuracy']:.2f}"
)

# %% [markdown]
# ## Bridged back and validated in Brian2
# `net.to_network()` is the description with the trained weights; Brian2 runs the test
# trials back to back (each from the initial state) and the torch engine runs them as a
# batch.

# %%
trained = net.to_network()
validation = validate_network(
    trained, {"inputs": test_spikes}, targets=test_labels, readout="readout", n_steps=STEPS
)
for key in ("spike_train_agreement", "prediction_agreement", "accuracy_brian2", "accuracy_torch"):
    print(f"{key}: {validation[key]:.3f}")
assert Hz  # (rates above are in Hz)
