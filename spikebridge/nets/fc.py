"""Fully connected spiking networks: image -> one spiking layer -> task heads.

::

    I_j   = W_j x + b_j                       one projection per model input (j = 1..n_in);
                                              adder synapses: spikebridge.nets.input_synapses
    s_t   = neurons(I, t)                     t = 1..T, the same I at every step
    r     = (1/T) sum_t s_t                   all events of the layer (4 x width for s-LIF2HH)
    logits = TaskHeads(r)

The spiking part is a network description (:func:`fc_network`): the image as a value
source with a constant unit for the biases, one dense projection per model input
(``I_j_post = w * x_pre (summed)``, computed once per image by the engine's loop-invariant
hoisting) and a population of the spec's model; :class:`SpikingFC` runs it with the torch
engine's :class:`~spikebridge.torch.network.SpikingNetwork`, so the dynamics are the model
file's, and adds the non-spiking heads. The weights are drawn as ``torch.nn.Linear``'s, in
the order of the paper's code, from torch's global generator; the model's ``shared``
parameters (the s-LIF2HH 3->1 map) are trained with the weights.
"""

from __future__ import annotations

import numpy as np
import torch
from brian2 import ms
from torch import Tensor, nn

from ..model import load_model
from ..network import Dense, Network, Population, Projection, ValueSource
from ..torch import SpikingNeurons, rectangular
from ..torch.network import SpikingNetwork
from .base import MultiTaskNet
from .heads import TaskHeads
from .input_synapses import SynapseKind, adder_summed, check_synapse, summed
from .specs import IMAGE_SIZE, STEPS, NetSpec

PIXELS = IMAGE_SIZE * IMAGE_SIZE


def spiking_neurons(
    spec: NetSpec, n: int, seed: int, dtype: torch.dtype | None = None
) -> SpikingNeurons:
    """A single spiking layer of ``spec``, ``n`` neurons (the information study's encoder);
    the model's shared parameters are trained."""
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


def network_name(spec: NetSpec, synapse: SynapseKind = "multiply") -> str:
    """The description's name of a paper network (``hh-fc`` -> ``paper_hh_fc``; with adder
    input synapses ``paper_hh_fc_adder``)."""
    suffix = "" if synapse == "multiply" else f"_{synapse}"
    return "paper_" + spec.name.replace("-", "_") + suffix


def network_dt(spec: NetSpec) -> object:
    """The network's dt: the spec's, or its model's declared one."""
    assert spec.neuron is not None
    return load_model(spec.neuron).dt if spec.dt_ms is None else spec.dt_ms * ms


def fc_network(
    spec: NetSpec,
    steps: int = STEPS,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    synapse: SynapseKind = "multiply",
) -> Network:
    """The spiking part of fc network ``spec`` as a description; weights from torch's RNG,
    drawn in ``dtype`` (torch's draws depend on it); ``synapse``: the input projections'
    (:mod:`spikebridge.nets.input_synapses`)."""
    assert spec.neuron is not None
    check_synapse(synapse)
    model = load_model(spec.neuron)
    projections = []
    for j, name in enumerate(model.inputs):
        linear = nn.Linear(PIXELS, spec.width, dtype=dtype)  # the paper's init, in its order
        weight = np.ascontiguousarray(linear.weight.detach().double().numpy().T)
        if synapse == "adder":
            projection = Projection(
                f"input_{j}",
                "pixels",
                "hidden",
                adder_summed(name, PIXELS, spec.adder_gain),
                Dense(),
                weights=weight,
                trainable=True,
            )
        else:
            projection = Projection(
                f"input_{j}",
                "pixels",
                "hidden",
                summed(name),
                Dense(),
                weights=weight * spec.weight_scale,
                bias=linear.bias.detach().double().numpy(),
                trainable=True,
            )
        projections.append(projection)
    hidden = Population(
        "hidden",
        model,
        spec.width,
        parameters=dict(spec.parameters),
        trainable=tuple(sorted(model.shared_parameters)),
        seed=seed,
    )
    return Network(
        network_name(spec, synapse),
        network_dt(spec),
        (hidden,),
        (ValueSource("pixels", (1, IMAGE_SIZE, IMAGE_SIZE), constant_unit=synapse == "multiply"),),
        tuple(projections),
        schedule="layered",
        duration=steps * network_dt(spec),  # type: ignore[operator]
        doc=f"The spiking part of the paper's {spec.name} network (spikebridge.nets.fc).",
    )


class SpikingFC(MultiTaskNet):
    """The paper's fc spiking network of ``spec`` over ``steps`` time steps."""

    def __init__(
        self,
        spec: NetSpec,
        steps: int = STEPS,
        seed: int = 0,
        dtype: torch.dtype | None = None,
        synapse: SynapseKind = "multiply",
    ) -> None:
        super().__init__(spec, steps)
        self.synapse = check_synapse(synapse)
        self.network = SpikingNetwork(
            fc_network(spec, steps, seed, dtype, synapse),
            synapses="matrix",  # dense projections and convolutions in their matrix form
            spike_fn=rectangular(spec.surrogate_width),
            dtype=dtype,
        )
        model = self.network.plan.populations["hidden"].model
        self.readout = TaskHeads(len(model.event_names) * spec.width).to(dtype)

    @property
    def model_name(self) -> str:
        return self.network.plan.populations["hidden"].model.name

    def layer(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """The spiking layer's ``(spk, mem)``, time-first, for ``images`` held over T steps;
        ``mem``: the model's membrane variables concatenated."""
        model = self.network.plan.populations["hidden"].model
        record = tuple(f"hidden.{m}" for m in model.membrane)
        out = self.network({"pixels": images.flatten(1)}, n_steps=self.steps, record=record)
        mem = torch.cat([out.traces[name] for name in record], -1)
        return out.spikes["hidden"], mem

    def spikes(self, images: Tensor) -> Tensor:
        """Spikes ``[T, B, n_events * width]`` (events in the model's order)."""
        return self.network({"pixels": images.flatten(1)}, n_steps=self.steps).spikes["hidden"]

    def logits_from_spikes(self, spikes: Tensor) -> Tensor:
        """Logits ``[B, 2, 10]`` from the layer's spikes ``[T, B, n_events * width]``."""
        return self.readout(spikes.mean(0))

    def forward(self, images: Tensor) -> Tensor:
        """Images ``[B, 1, 36, 36]`` -> logits ``[B, 2, 10]``."""
        return self.logits_from_spikes(self.spikes(images))
