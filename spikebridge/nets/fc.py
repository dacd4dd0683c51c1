"""Fully connected spiking networks: image -> one spiking layer -> task heads.

::

    I_j   = W_j x + b_j                       one projection per model input (j = 1..n_in)
    s_t   = neurons(I, t)                     t = 1..T, the same I at every step
    r     = (1/T) sum_t s_t                   all events of the layer (4 x width for s-LIF2HH)
    logits = TaskHeads(r)

The spiking layer is a :class:`~spikebridge.torch.SpikingNeurons` of the spec's model, so
its dynamics are the model file's, generated from Brian2's code; the model's ``shared``
parameters (the s-LIF2HH 3->1 map) are trained with the weights.
"""

from __future__ import annotations

import torch
from brian2 import ms
from torch import Tensor, nn

from ..model import load_model
from ..torch import SpikingNeurons, rectangular
from .base import MultiTaskNet
from .heads import TaskHeads
from .specs import IMAGE_SIZE, STEPS, NetSpec


def spiking_neurons(
    spec: NetSpec, n: int, seed: int, dtype: torch.dtype | None = None
) -> SpikingNeurons:
    """The spiking layer of ``spec``, ``n`` neurons; the model's shared parameters are trained."""
    assert spec.neuron is not None
    model = load_model(spec.neuron)
    return SpikingNeurons(
        model,
        n,
        dt=None if spec.dt_ms is None else spec.dt_ms * ms,
        parameters=dict(spec.parameters),
        trainable=sorted(model.shared_parameters),
        spike_fn=rectangular(spec.surrogate_width),
        seed=seed,
        dtype=dtype,
    )


class SpikingFC(MultiTaskNet):
    """The paper's fc spiking network of ``spec`` over ``steps`` time steps."""

    def __init__(
        self, spec: NetSpec, steps: int = STEPS, seed: int = 0, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__(spec, steps)
        self.neurons = spiking_neurons(spec, spec.width, seed, dtype)
        model = self.neurons.model
        self.projections: nn.ModuleList = nn.ModuleList(
            nn.Linear(IMAGE_SIZE * IMAGE_SIZE, spec.width, dtype=dtype) for _ in model.inputs
        )
        if spec.weight_scale != 1.0:
            with torch.no_grad():
                for projection in self.projections:
                    assert isinstance(projection, nn.Linear)
                    projection.weight.mul_(spec.weight_scale)
        self.readout = TaskHeads(len(model.event_names) * spec.width).to(dtype)

    def currents(self, images: Tensor) -> dict[str, Tensor]:
        """The input current of each model input, ``[B, width]`` each."""
        flat = images.flatten(1)
        return {
            name: projection(flat)
            for name, projection in zip(self.neurons.model.inputs, self.projections, strict=True)
        }

    def layer(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """The spiking layer's ``(spk, mem)``, time-first, for ``images`` held over T steps."""
        drives = {
            name: current.expand(self.steps, *current.shape)
            for name, current in self.currents(images).items()
        }
        spk, mem = self.neurons(drives)
        return spk, mem

    def spikes(self, images: Tensor) -> Tensor:
        """Spikes ``[T, B, n_events * width]`` (events in the model's order)."""
        return self.layer(images)[0]

    def logits_from_spikes(self, spikes: Tensor) -> Tensor:
        """Logits ``[B, 2, 10]`` from the layer's spikes ``[T, B, n_events * width]``."""
        return self.readout(spikes.mean(0))

    def forward(self, images: Tensor) -> Tensor:
        """Images ``[B, 1, 36, 36]`` -> logits ``[B, 2, 10]``."""
        return self.logits_from_spikes(self.spikes(images))
