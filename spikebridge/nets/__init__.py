"""The paper's multi-task networks, built from the torch engine's spiking layers.

>>> from spikebridge.nets import build_net
>>> net = build_net("hh-fc", seed=1)
>>> logits = net(images)          # [B, 1, 36, 36] -> [B, 2, 10]
"""

from __future__ import annotations

import torch
from torch import nn

from .base import MultiTaskNet
from .binary import BinaryCNN, BinaryFC
from .conv import SpikingConv
from .fc import SpikingFC
from .heads import TaskHeads
from .input_synapses import SYNAPSES, check_synapse_for
from .specs import NETS, STEPS, NetSpec, Optimiser, net_spec


def build_net(
    name: str,
    *,
    steps: int = STEPS,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    synapse: str = "multiply",
) -> MultiTaskNet:
    """Network ``name`` (see :data:`NETS`), initialised from torch's RNG and ``seed``;
    ``synapse``: its input projections' (``multiply`` or ``adder``,
    :mod:`spikebridge.nets.input_synapses`; spiking nets only).

    ``seed`` seeds the neuron models' random parameters (the deep HH's gate rates, the
    s-LIF2HH 3->1 map); the weights come from torch's global generator, which the
    trainer seeds.
    """
    spec = net_spec(name)
    kind = check_synapse_for(name, spec.spiking, synapse)
    if spec.neuron is None:
        return BinaryFC(spec, dtype) if spec.body == "fc" else BinaryCNN(spec, dtype)
    if spec.body == "fc":
        return SpikingFC(spec, steps, seed, dtype, kind)
    return SpikingConv(spec, steps, seed, dtype, kind)


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters (shared ones counted once)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


__all__ = [
    "NETS",
    "STEPS",
    "SYNAPSES",
    "BinaryCNN",
    "BinaryFC",
    "MultiTaskNet",
    "NetSpec",
    "Optimiser",
    "SpikingConv",
    "SpikingFC",
    "TaskHeads",
    "build_net",
    "count_parameters",
    "net_spec",
]
