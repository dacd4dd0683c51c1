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
# # 3. Train an HH network and a LIF network, bridge both into Brian2
#
# The paper's multi-task networks read a 36x36 image holding two overlapping Fashion-MNIST
# items and classify both. Their spiking layers are the torch engine's `SpikingNeurons`, so
# the dynamics come from the model files in `equations/` (`hh_dl`, `lif_dl`). After
# training, `validate` rebuilds each network in Brian2 from the same model files, with the
# trained weights as synapses, runs the test images there and compares every spike.
#
# Run time: about 1 minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 4,096
# training images, 1 epoch, 100 validation samples); about 10 minutes at full size (all
# 120,000 images, 3 epochs, 1,000 samples) on 2 cores. Needs Fashion-MNIST
# (`apt-get install dataset-fashion-mnist`, or `SPIKEBRIDGE_DATA`).

# %%
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from spikebridge.bridge import validate
from spikebridge.learning.checkpoint import load_trained
from spikebridge.learning.data import load_task_data
from spikebridge.learning.train import TrainConfig, train

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
SUBSET, EPOCHS, SAMPLES = (4096, 1, 100) if SMALL else (None, 3, 1000)
sns.set_theme(context="notebook", style="whitegrid")
out = Path(tempfile.mkdtemp(prefix="spikebridge_tutorial3_"))

# %% [markdown]
# ## The data
# Each composite puts image A in the top-left and image B in the bottom-right corner of a
# 36x36 canvas (pixel-wise maximum where they overlap); the two labels are the two tasks.

# %%
test = load_task_data("multi-fashion", "test", subset=8)
fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, image, labels in zip(axes, test.images, test.labels, strict=True):
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(f"{labels[0].item()} / {labels[1].item()}")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Training
# The paper's optimiser settings are the defaults (Adam, lr 1e-4 for fc networks, batch 128).
# Every epoch writes an atomic checkpoint and `metrics.json`; `resume=True` continues a run.

# %%
history = {}
for net in ("hh-fc", "lif-fc"):
    config = TrainConfig(net=net, epochs=EPOCHS, subset=SUBSET, seed=1)
    metrics = train(config, out / net, progress=False)
    history[net] = metrics["epochs"][-1]
pd.DataFrame(history).T[["train_loss", "test_accuracy_task1", "test_accuracy_task2"]]

# %% [markdown]
# ## Spikes of the trained HH layer
# The deep HH of the paper has constant gate rates and no reset: a neuron spikes at every
# step while its membrane is above threshold.

# %%
hh, _ = load_trained(out / "hh-fc")
with torch.no_grad():
    spikes = hh.spikes(test.images[:1])[:, 0, :64]
ax = sns.heatmap(spikes.T.numpy(), cbar=False, cmap="Greys")
ax.set(xlabel="time step", ylabel="neuron (first 64)", title="HH-fc hidden layer, one image")
plt.show()

# %% [markdown]
# ## The bridge: the same networks in Brian2
# `validate` runs the torch network and its Brian2 rebuild (`cpp_standalone`, float64) on
# the same test images; the comparison is over every spike of every step.

# %%
results = {
    net: validate(out / net, device="cpp_standalone", samples=SAMPLES, export=out / f"{net}.npz")
    for net in ("hh-fc", "lif-fc")
}
keys = [
    "samples",
    "spike_train_agreement",
    "prediction_agreement",
    "accuracy_torch",
    "accuracy_brian2",
]
print(json.dumps({net: {k: r[k] for k in keys} for net, r in results.items()}, indent=1))
assert all(r["spike_train_agreement"] == 1.0 for r in results.values())
