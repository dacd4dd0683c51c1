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
# # 7. An snnTorch network in Brian2, through NIR
#
# NIR is how snnTorch, Norse, Sinabs, Rockpool and neuromorphic hardware exchange
# networks. spikebridge reads a NIR graph into a network description and runs it in
# Brian2. Here: a small spiking classifier trained in snnTorch (two Poisson input
# patterns to tell apart), exported with snnTorch's own `export_to_nir`, imported into
# spikebridge and simulated in Brian2, trial by trial, against snnTorch's own run.
#
# Run time: under a minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 64
# training and 32 test trials, 15 epochs; 18 s on 2 cores); a few minutes at full size.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import snntorch as snn
import snntorch.functional as SF
import torch
from brian2 import ms
from snntorch.export_nir import export_to_nir

from spikebridge.nir import import_nir

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
TRAIN, TEST, EPOCHS = (64, 32, 15) if SMALL else (400, 200, 40)
T, INPUTS, HIDDEN, CLASSES = 50, 20, 16, 2
torch.manual_seed(0)

# %% [markdown]
# ## The task and the snnTorch network
#
# Each trial is 50 steps of Poisson spikes on 20 input channels; class 0 drives the first
# half of the channels harder, class 1 the second half. The network is snnTorch's usual
# `Linear -> Leaky -> Linear -> Leaky`. NIR's LIF resets to its reset value in the step
# of the spike, which is snnTorch's `reset_mechanism="zero"` with `reset_delay=False`;
# NIR's neurons have one parameter per neuron, so `beta` and `threshold` are given per
# neuron.


# %%
def trials(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (n,), generator=generator)
    rates = torch.full((n, INPUTS), 0.05)
    half = INPUTS // 2
    rates[labels == 0, :half] = 0.25
    rates[labels == 1, half:] = 0.25
    spikes = torch.rand((T, n, INPUTS), generator=generator) < rates
    return spikes.float(), labels


def leaky(n: int, beta: float) -> snn.Leaky:
    return snn.Leaky(
        beta=torch.full((n,), beta),
        threshold=torch.ones(n),
        reset_mechanism="zero",
        reset_delay=False,
        init_hidden=True,
    )


net = torch.nn.Sequential(
    torch.nn.Linear(INPUTS, HIDDEN),
    leaky(HIDDEN, 0.9),
    torch.nn.Linear(HIDDEN, CLASSES),
    leaky(CLASSES, 0.9),
)


def run_snntorch(x: torch.Tensor) -> torch.Tensor:
    """snnTorch's run of ``x`` [T, batch, inputs] from rest (output spikes per step)."""
    for module in net.modules():
        if isinstance(module, snn.Leaky):
            module.mem = torch.zeros(0)
    return torch.stack([net(x[t]) for t in range(len(x))])


train_x, train_y = trials(TRAIN, seed=1)
test_x, test_y = trials(TEST, seed=2)
optimiser = torch.optim.Adam(net.parameters(), lr=5e-3)
loss_fn = SF.ce_count_loss()
for _ in range(EPOCHS):  # full-batch gradient steps
    loss = loss_fn(run_snntorch(train_x), train_y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
with torch.no_grad():
    expected = run_snntorch(test_x)
accuracy = float((expected.sum(0).argmax(1) == test_y).float().mean())
print(f"snnTorch: test accuracy {accuracy:.2f} after {EPOCHS} epochs")

# %% [markdown]
# ## Export with snnTorch, import with spikebridge
#
# `export_to_nir` writes continuous-time nodes whose forward-Euler step at 0.1 ms is
# snnTorch's update (`tau = dt / (1 - beta)`, `r = tau / dt`). NIR graphs carry no time
# step and no method, so the import names both.

# %%
graph = export_to_nir(net, torch.zeros(1, INPUTS), ignore_dims=[0])
print({name: type(node).__name__ for name, node in graph.nodes.items()})
imported = import_nir(graph, dt=0.1 * ms, method="euler")
for population in imported.network.populations:
    print(population.name, population.shape)

# %% [markdown]
# ## The trained network in Brian2
#
# The test trials run back to back in one Brian2 simulation (`cpp_standalone`), each from
# the initial state. Every output spike is compared with snnTorch's.

# %%
run = imported.run({"input": test_x.numpy()}, engine="brian2", device="cpp_standalone")
brian = run.outputs["output"]
same = np.array_equal(brian, expected.numpy())
agreement = float(np.mean(brian.sum(0).argmax(1) == expected.numpy().sum(0).argmax(1)))
print(f"Brian2 spikes equal snnTorch's: {same}; predictions agree on {agreement:.0%} of trials")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True)
for ax, (title, spikes) in zip(
    axes, (("snnTorch", expected.numpy()), ("Brian2", brian)), strict=True
):
    steps, trial_index, neuron = np.nonzero(spikes[:, :8])
    ax.scatter(steps, trial_index * CLASSES + neuron, s=4, c=neuron, cmap="coolwarm")
    ax.set_title(f"{title}: output spikes, 8 test trials")
    ax.set_xlabel("step")
axes[0].set_ylabel("trial x output neuron")
fig.tight_layout()
