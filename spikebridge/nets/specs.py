"""The paper's multi-task networks (digest sections 1.5, 1.6, 3.1), one specification each.

Every network maps a 36x36 image to a shared 50-d feature and two 10-way task heads.
The spiking ones run ``steps`` time steps (T = 15) with the image's current applied
at every step (direct encoding); their spiking layers are :class:`SpikingNeurons` of a
model in ``equations/`` with the paper's settings:

=================  ========  ==================================  ========  ====================
name               neuron    settings                            surrogate  optimiser
=================  ========  ==================================  ========  ====================
lif-fc, 4lif-fc    lif_dl    decay 0.2, theta 0.3                0.5        lr 1e-4, wd 1e-5
hh-fc              hh_dl     dt 0.01, theta 0.2, W x0.01 at init 0.3        lr 1e-4, wd 1e-5
s-lif2hh-fc        s_lif2hh  decay 0.5, theta 2                  0.4        lr 1e-4, wd 1e-5
ann-fc             -         ReLU + H(x - 0.5)                   0.5        lr 1e-4, wd 1e-5
lif-conv,4lif-conv lif_dl    decay 0.2, theta 0.3                0.5        lr 3e-3, wd 3e-4
hh-conv            hh_dl     dt 0.1, theta 2.3                   0.5        lr 3e-3, wd 3e-4
s-lif2hh-conv      s_lif2hh  decay 0.2, theta 0.3                0.4        lr 3e-3, wd 3e-4
cnn                -         ReLU + H(x - 0.5)                   0.5        lr 1e-3, wd 1e-4
=================  ========  ==================================  ========  ====================

fc nets: milestones [10, 20, 30]; conv nets and the CNN: [20, 30]; Adam, batch 128,
40 epochs, gamma 0.1. ``4lif`` has four times the neurons (2048 / 40 channels).

Deviations from the paper's code, on purpose: the s-LIF2HH conv net runs T = 15 like
every other net (the paper's ``main.py`` leaves it at its default 10); the HH conv net
does not detach its ionic currents from the graph (the paper's ``HH_conv`` does, so
that its gradient flows through the input term only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import InputError

IMAGE_SIZE = 36
FEATURES = 50
CLASSES = 10
TASKS = 2
STEPS = 15


@dataclass(frozen=True)
class Optimiser:
    """Adam with a step schedule: the paper's per-family settings."""

    lr: float
    weight_decay: float
    milestones: tuple[int, ...]
    gamma: float = 0.1
    batch_size: int = 128
    epochs: int = 40


FC_OPTIMISER = Optimiser(lr=1e-4, weight_decay=1e-5, milestones=(10, 20, 30))
CONV_OPTIMISER = Optimiser(lr=3e-3, weight_decay=3e-4, milestones=(20, 30))
CNN_OPTIMISER = Optimiser(lr=1e-3, weight_decay=1e-4, milestones=(20, 30))


@dataclass(frozen=True)
class NetSpec:
    """One network of the paper: its body, neuron model and settings."""

    name: str
    body: Literal["fc", "conv"]
    neuron: str | None  # a model in equations/, or None for the binary ANNs
    width: int  # hidden neurons (fc) or channels (conv)
    parameters: Mapping[str, float] = field(default_factory=dict)
    dt_ms: float | None = None  # None: the model's own DT
    surrogate_width: float = 0.5
    weight_scale: float = 1.0  # factor on the input projection's weights at initialisation
    adder_gain: float = 16.0  # g of the adder input synapses (spikebridge.nets.input_synapses)
    optimiser: Optimiser = FC_OPTIMISER

    @property
    def spiking(self) -> bool:
        return self.neuron is not None


_LIF = {"decay": 0.2, "theta": 0.3}

NETS: dict[str, NetSpec] = {
    spec.name: spec
    for spec in (
        NetSpec("lif-fc", "fc", "lif_dl", 512, _LIF),
        NetSpec("4lif-fc", "fc", "lif_dl", 2048, _LIF),
        NetSpec(
            "hh-fc",
            "fc",
            "hh_dl",
            512,
            {"theta": 0.2},
            0.01,
            surrogate_width=0.3,
            weight_scale=0.01,
        ),
        NetSpec("s-lif2hh-fc", "fc", "s_lif2hh_dl", 512, {"decay": 0.5, "theta": 2.0}, None, 0.4),
        NetSpec("ann-fc", "fc", None, 512),
        NetSpec("lif-conv", "conv", "lif_dl", 10, _LIF, optimiser=CONV_OPTIMISER),
        NetSpec("4lif-conv", "conv", "lif_dl", 40, _LIF, optimiser=CONV_OPTIMISER),
        NetSpec("hh-conv", "conv", "hh_dl", 10, {"theta": 2.3}, 0.1, optimiser=CONV_OPTIMISER),
        NetSpec(
            "s-lif2hh-conv",
            "conv",
            "s_lif2hh_dl",
            10,
            _LIF,
            surrogate_width=0.4,
            optimiser=CONV_OPTIMISER,
        ),
        NetSpec("cnn", "conv", None, 10, optimiser=CNN_OPTIMISER),
    )
}


def net_spec(name: str) -> NetSpec:
    """The specification of network ``name``, with a clear error for an unknown name."""
    if name not in NETS:
        raise InputError(f"Unknown network '{name}'. Choose one of: {', '.join(NETS)}.")
    return NETS[name]
