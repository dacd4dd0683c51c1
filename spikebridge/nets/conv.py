"""Convolutional spiking networks: two conv -> spiking -> average-pool stages, then task heads.

::

    I1_j   = conv1_j(x)                                  one conv per model input j
    s1_t   = neurons1(I1, t)                             [n_events, C, 36, 36]
    I2_j,t = sum_e conv2_j(avgpool2(s1_t[e]))            the paper's "each conv on each map"
    s2_t   = neurons2(I2_t, t)                           [n_events, C, 18, 18]
    r      = (1/T) sum_t avgpool2(s2_t)                  n_events * C * 9 * 9 features
    logits = TaskHeads(r)

A spiking layer treats the image columns as its neurons (``n`` = map width) and the
batch, channel and row axes as batch axes, so a model's per-neuron random parameters
(the deep HH's gate rates) are one per column, as in the paper's ``HH_conv``. The
s-LIF2HH 3->1 map is one set of parameters shared by both layers. Since convolution is
linear, sum_e conv2(p_e) is computed as conv2 without bias on sum_e p_e plus n_events
times the bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import MultiTaskNet
from .fc import spiking_neurons
from .heads import TaskHeads
from .specs import IMAGE_SIZE, STEPS, NetSpec

POOLED = IMAGE_SIZE // 4


class SpikingConv(MultiTaskNet):
    """The paper's conv spiking network of ``spec`` over ``steps`` time steps."""

    def __init__(
        self, spec: NetSpec, steps: int = STEPS, seed: int = 0, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__(spec, steps)
        channels = spec.width
        self.neurons1 = spiking_neurons(spec, IMAGE_SIZE, seed, dtype)
        self.neurons2 = spiking_neurons(spec, IMAGE_SIZE // 2, seed + 1, dtype)
        for name in sorted(self.neurons1.model.shared_parameters):
            del self.neurons2._parameters[name]
            self.neurons2.register_parameter(name, getattr(self.neurons1, name))
        inputs = self.neurons1.model.inputs
        self.conv1 = nn.ModuleList(
            nn.Conv2d(1, channels, 3, padding=1, dtype=dtype) for _ in inputs
        )
        self.conv2 = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, padding=1, dtype=dtype) for _ in inputs
        )
        self.n_events = len(self.neurons1.model.event_names)
        self.readout = TaskHeads(self.n_events * channels * POOLED * POOLED).to(dtype)

    def _layer(self, neurons: nn.Module, drives: dict[str, Tensor]) -> Tensor:
        """Drives ``[T, B, C, H, W]`` -> spikes ``[T, n_events, B, C, H, W]``."""
        spk, _ = neurons(drives)
        steps, batch, channels, height, _ = spk.shape
        width = spk.shape[-1] // self.n_events
        return spk.view(steps, batch, channels, height, self.n_events, width).permute(
            0, 4, 1, 2, 3, 5
        )

    def spikes(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Spikes of both layers, ``[T, n_events, B, C, H, W]`` each."""
        inputs = self.neurons1.model.inputs
        drives1 = {}
        for name, conv in zip(inputs, self.conv1, strict=True):
            current = conv(images)
            drives1[name] = current.expand(self.steps, *current.shape)
        spk1 = self._layer(self.neurons1, drives1)
        steps, events, batch, channels, size, _ = spk1.shape
        pooled = F.avg_pool2d(spk1.reshape(-1, channels, size, size), 2)
        summed = pooled.view(steps, events, batch, channels, size // 2, size // 2).sum(1)
        flat = summed.flatten(0, 1)
        drives2 = {}
        for name, conv in zip(inputs, self.conv2, strict=True):
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            current = F.conv2d(flat, conv.weight, None, padding=1)
            current = current + events * conv.bias[:, None, None]
            drives2[name] = current.view(steps, batch, *current.shape[1:])
        spk2 = self._layer(self.neurons2, drives2)
        return spk1, spk2

    def forward(self, images: Tensor) -> Tensor:
        """Images ``[B, 1, 36, 36]`` -> logits ``[B, 2, 10]``."""
        return self.logits_from_spikes(self.spikes(images)[1])

    def logits_from_spikes(self, spk2: Tensor) -> Tensor:
        """Logits ``[B, 2, 10]`` from layer 2's spikes ``[T, n_events, B, C, H, W]``."""
        steps, events, batch, channels, size, _ = spk2.shape
        pooled = F.avg_pool2d(spk2.reshape(-1, channels, size, size), 2)
        rates = pooled.view(steps, events, batch, channels, size // 2, size // 2).mean(0)
        return self.readout(rates.transpose(0, 1).flatten(1))
