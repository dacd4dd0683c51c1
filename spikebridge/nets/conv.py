"""Convolutional spiking networks: two conv -> spiking -> average-pool stages, then task heads.

::

    I1_j   = conv1_j(x)                                  one conv per model input j (or an
                                                         adder conv: nets.input_synapses)
    s1_t   = neurons1(I1, t)                             [n_events, C, 36, 36]
    I2_j,t = sum_e conv2_j(avgpool2(s1_t[e]))            the paper's "each conv on each map"
    s2_t   = neurons2(I2_t, t)                           [n_events, C, 18, 18]
    r      = (1/T) sum_t avgpool2(s2_t)                  n_events * C * 9 * 9 features
    logits = TaskHeads(r)

The spiking part is a network description (:func:`conv_network`), run by the torch engine's
:class:`~spikebridge.torch.network.SpikingNetwork` with the ``layered`` schedule (layer 2
sees layer 1's spikes of the same step): the image as a value source with a constant unit
(conv 1's bias), per model input a summed ``Conv2d`` projection onto layer 1, a pathway from
layer 1 per event (``I_j_post += w``) through ``Chain(Pool2d, Conv2d)`` onto layer 2 (one set
of weights for all events, whose matrix form the engine applies once to the summed events)
and conv 2's bias from a constant source worth the number of events (``ChannelBias``).

As in the paper's ``HH_conv`` and ``LIF_hh_conv``, a model's per-neuron random parameters
(the deep HH's gate rates) are one per image column (drawn for the map width and shared
along channels and rows), and the s-LIF2HH 3->1 map is one set of parameters trained for both
layers (``tied``). The weights are drawn as ``torch.nn.Conv2d``'s, in the paper's order, from
torch's global generator.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..model import NeuronModel, load_model
from ..network import (
    Chain,
    ChannelBias,
    ConstantSource,
    Conv2d,
    Network,
    Pool2d,
    Population,
    Projection,
    Synapse,
    ValueSource,
)
from ..network.values import with_dim
from ..torch import rectangular
from ..torch.network import SpikingNetwork
from .base import MultiTaskNet
from .fc import network_dt, network_name
from .heads import TaskHeads
from .input_synapses import SynapseKind, adder_summed, check_synapse, summed
from .specs import IMAGE_SIZE, STEPS, NetSpec

POOLED = IMAGE_SIZE // 4
KERNEL = 3


def _column_parameters(
    model: NeuronModel, spec: NetSpec, shape: tuple[int, int, int], seed: int
) -> dict[str, object]:
    """The spec's parameters, with the model's random ones drawn per column and broadcast."""
    drawn = model.parameter_values(shape[2], dict(spec.parameters), seed)
    values: dict[str, object] = dict(spec.parameters)
    for name in model.random_parameters:
        array = np.asarray(drawn[name])
        if name not in model.shared_parameters:
            array = np.broadcast_to(array, shape).reshape(-1).copy()
        values[name] = with_dim(array, model.dim(name))
    return values


def conv_network(
    spec: NetSpec,
    steps: int = STEPS,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    synapse: SynapseKind = "multiply",
) -> Network:
    """The spiking part of conv network ``spec`` as a description; weights from torch's RNG,
    drawn in ``dtype`` (torch's draws depend on it); ``synapse``: conv 1's
    (:mod:`spikebridge.nets.input_synapses`; layer 2's input stays a weighted sum of
    spikes, which an adder layer equals on binary events)."""
    assert spec.neuron is not None
    check_synapse(synapse)
    model = load_model(spec.neuron)
    channels, size, half = spec.width, IMAGE_SIZE, IMAGE_SIZE // 2
    shapes = ((channels, size, size), (channels, half, half))
    trainable = tuple(sorted(model.shared_parameters))
    layer1 = Population(
        "layer1",
        model,
        shapes[0],
        trainable=trainable,
        seed=seed,
        parameters=_column_parameters(model, spec, shapes[0], seed),
    )
    second = _column_parameters(model, spec, shapes[1], seed + 1)
    for name in model.shared_parameters:  # one 3->1 map for both layers, as in the paper
        second[name] = layer1.parameters[name]
    layer2 = Population(
        "layer2", model, shapes[1], trainable=trainable, seed=seed + 1, parameters=second
    )
    inputs = model.inputs
    conv1 = [nn.Conv2d(1, channels, KERNEL, padding=1, dtype=dtype) for _ in inputs]  # paper's
    conv2 = [nn.Conv2d(channels, channels, KERNEL, padding=1, dtype=dtype) for _ in inputs]
    events = model.event_names
    spikes = {f"e{k}": event for k, event in enumerate(events)}
    projections = []
    for j, name in enumerate(inputs):
        bias1, bias2 = conv1[j].bias, conv2[j].bias
        assert bias1 is not None and bias2 is not None
        geometry = Conv2d((1, size, size), channels, (KERNEL, KERNEL), padding=(1, 1))
        drawn = conv1[j].weight.detach().double().numpy()
        if synapse == "adder":
            fan_in = KERNEL * KERNEL
            conv1_j = Projection(
                f"conv1_{j}",
                "pixels",
                "layer1",
                adder_summed(name, fan_in, spec.adder_gain),
                geometry,
                weights=drawn,
                trainable=True,
            )
        else:
            conv1_j = Projection(
                f"conv1_{j}",
                "pixels",
                "layer1",
                summed(name),
                geometry,
                weights=drawn,
                bias=bias1.detach().double().numpy(),
                trainable=True,
            )
        projections.append(conv1_j)
        projections.append(
            Projection(
                f"conv2_{j}",
                "layer1",
                "layer2",
                Synapse("w : 1", on_pre={p: f"{name}_post += w" for p in spikes}, on_event=spikes),
                Chain(
                    (
                        Pool2d(shapes[0], (2, 2)),
                        Conv2d((channels, half, half), channels, (KERNEL, KERNEL), padding=(1, 1)),
                    )
                ),
                weights=conv2[j].weight.detach().double().numpy(),
                trainable=True,
            )
        )
        projections.append(
            Projection(
                f"bias2_{j}",
                "events",
                "layer2",
                summed(name),
                ChannelBias(shapes[1]),
                weights=bias2.detach().double().numpy(),
                trainable=True,
            )
        )
    return Network(
        network_name(spec, synapse),
        network_dt(spec),
        (layer1, layer2),
        (
            ValueSource("pixels", (1, size, size), constant_unit=synapse == "multiply"),
            ConstantSource("events", 1, value=float(len(events))),  # the bias on every event map
        ),
        tuple(projections),
        schedule="layered",
        duration=steps * network_dt(spec),  # type: ignore[operator]
        doc=f"The spiking part of the paper's {spec.name} network (spikebridge.nets.conv).",
        tied=tuple((f"layer1.{p}", f"layer2.{p}") for p in trainable),
    )


class SpikingConv(MultiTaskNet):
    """The paper's conv spiking network of ``spec`` over ``steps`` time steps."""

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
            conv_network(spec, steps, seed, dtype, synapse),
            synapses="matrix",  # dense projections and convolutions in their matrix form
            spike_fn=rectangular(spec.surrogate_width),
            dtype=dtype,
        )
        self.n_events = len(self.network.plan.populations["layer1"].model.event_names)
        self.readout = TaskHeads(self.n_events * spec.width * POOLED * POOLED).to(dtype)

    @property
    def model_name(self) -> str:
        return self.network.plan.populations["layer1"].model.name

    def _maps(self, spikes: Tensor, size: int) -> Tensor:
        """``[T, B, n_events * C * H * W]`` -> ``[T, n_events, B, C, H, W]``."""
        steps, batch, _ = spikes.shape
        maps = spikes.view(steps, batch, self.n_events, self.spec.width, size, size)
        return maps.transpose(1, 2)

    def spikes(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Spikes of both layers, ``[T, n_events, B, C, H, W]`` each."""
        out = self.network({"pixels": images.flatten(1)}, n_steps=self.steps).spikes
        return (
            self._maps(out["layer1"], IMAGE_SIZE),
            self._maps(out["layer2"], IMAGE_SIZE // 2),
        )

    def forward(self, images: Tensor) -> Tensor:
        """Images ``[B, 1, 36, 36]`` -> logits ``[B, 2, 10]``."""
        out = self.network({"pixels": images.flatten(1)}, n_steps=self.steps).spikes
        return self.logits_from_spikes(self._maps(out["layer2"], IMAGE_SIZE // 2))

    def logits_from_spikes(self, spk2: Tensor) -> Tensor:
        """Logits ``[B, 2, 10]`` from layer 2's spikes ``[T, n_events, B, C, H, W]``."""
        steps, events, batch, channels, size, _ = spk2.shape
        pooled = F.avg_pool2d(spk2.reshape(-1, channels, size, size), 2)
        rates = pooled.view(steps, events, batch, channels, size // 2, size // 2).mean(0)
        return self.readout(rates.transpose(0, 1).flatten(1))
