r"""A described feed-forward spiking network cut into its layers, for layer-local learning.

Forward-Forward trains every layer on its own objective with no gradient crossing a
layer. :class:`LayerwiseNetwork` runs a described network (:mod:`spikebridge.network`)
as a chain of one-population sub-networks on the torch engine: sub-network ``l`` holds
population ``l`` and the projections onto it, with every earlier population it listens to
replaced by a :class:`~spikebridge.network.description.SpikeSource` of the same name and
size, which is given that population's (detached) spikes of the run. With the network's
``layered`` schedule, where a layer sees the spikes of the layers before it from the same
step, the chain computes exactly what the whole network computes (tested against the
whole network on the torch engine); :meth:`to_network` writes the trained values back
into the original description, which then runs in Brian2 unchanged.

What the network must be (checked, with the fix named): ``layered``; one
:class:`~spikebridge.network.description.ValueSource` (the image, its label embedded);
populations in feed-forward order, each listened to only by later ones, through ``on_pre``
pathways of its model's single event that read nothing else of it (only spikes cross a
layer); no current inputs and no parameters tied across layers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError
from ..network.description import Network, Projection, SpikeSource, ValueSource
from ..network.plan import plan_network
from ..torch.network import NetworkOutput, SpikingNetwork
from ..torch.surrogate import SpikeFunction

GOODNESS = ("spike_count", "membrane")
_PRE = re.compile(r"\b[A-Za-z_]\w*_pre\b")


@dataclass(frozen=True)
class LayerRun:
    """One layer's events ``[T, B, n]`` and membrane ``[T, B, n]`` (None if not recorded)."""

    spikes: Tensor
    membrane: Tensor | None


def _pathway_events(projection: Projection) -> set[str]:
    on_event = projection.synapse.on_event
    if projection.synapse.on_pre is None:
        return set()
    return set(on_event.values()) if isinstance(on_event, dict) else {str(on_event)}


def check_feed_forward(network: Network) -> str:
    """The name of the network's value source, after checking that the network can be
    trained layer by layer (module docstring)."""
    name = network.name
    if network.schedule != "layered":
        raise InputError(
            f"Network '{name}' has the '{network.schedule}' schedule; layer-local training "
            "needs schedule='layered' (each layer sees the spikes of the layers before it "
            "from the same step)."
        )
    values = [s.name for s in network.sources if isinstance(s, ValueSource)]
    if len(values) != 1:
        raise InputError(
            f"Network '{name}' has {len(values)} value sources; Forward-Forward needs exactly "
            "one, the image into which the label is embedded."
        )
    if network.inputs:
        raise InputError(
            f"Network '{name}' has current inputs; Forward-Forward drives the network through "
            "its value source only. Remove the CurrentInputs."
        )
    if network.tied:
        raise InputError(
            f"Network '{name}' ties parameters across populations; layer-local training "
            "trains each layer on its own. Untie them."
        )
    plan = plan_network(network)
    order = {pop.name: k for k, pop in enumerate(network.populations)}
    for pop in network.populations:
        if not any(p.target == pop.name for p in network.projections):
            raise InputError(f"Population '{pop.name}' receives no projection; connect it.")
    for projection in network.projections:
        if projection.source not in order:
            continue
        if order[projection.source] >= order[projection.target]:
            raise InputError(
                f"Projection '{projection.name}' goes from '{projection.source}' to "
                f"'{projection.target}', not forward; layer-local training needs a feed-forward "
                "network (list the populations in the order the signal flows)."
            )
        synapse = projection.synapse
        pathways = synapse.on_pre.values() if isinstance(synapse.on_pre, dict) else [synapse.on_pre]
        reads = {
            m.group(0) for code in (synapse.model, *pathways) if code for m in _PRE.finditer(code)
        }
        if synapse.on_pre is None or reads:
            what = f"reads {sorted(reads)}" if reads else "has no on_pre pathway"
            raise InputError(
                f"Projection '{projection.name}' from population '{projection.source}' {what}; "
                "only spikes cross a layer in layer-local training. Drive the next layer by "
                "its spikes (on_pre='I_post += w')."
            )
        model_events = plan.populations[projection.source].model.event_names
        used = _pathway_events(projection)
        if len(model_events) != 1 or used - {model_events[0]}:
            raise InputError(
                f"Projection '{projection.name}' listens to events {sorted(used)} of "
                f"'{projection.source}', whose model has {list(model_events)}; layer-local "
                "training passes one event per layer (use a single-event model)."
            )
        if model_events[0] != "spike":
            raise InputError(
                f"Population '{projection.source}' emits '{model_events[0]}'; a layer's "
                "output is passed on as 'spike' events. Name the model's event 'spike'."
            )
    return values[0]


def layer_network(network: Network, population: str) -> Network:
    """The sub-network of one population: it, the projections onto it and their sources,
    earlier populations standing as spike sources of the same name and size."""
    onto = tuple(p for p in network.projections if p.target == population)
    sources: list[Any] = []
    for source_name in dict.fromkeys(p.source for p in onto):
        group = network.group(source_name)
        if source_name in network.population_names:
            empty = np.zeros(0, dtype=np.int64)
            sources.append(SpikeSource(source_name, group.shape, indices=empty, steps=empty))
        else:
            sources.append(group)
    pop = network.group(population)
    return replace(
        network,
        name=f"{network.name}_{population}",
        populations=(pop,),  # type: ignore[arg-type]
        sources=tuple(sources),
        projections=onto,
        doc=f"Layer '{population}' of network '{network.name}'.",
    )


class LayerwiseNetwork(nn.Module):
    """A feed-forward described network as a chain of layers (module docstring)."""

    def __init__(
        self,
        network: Network,
        *,
        dtype: torch.dtype | None = None,
        spike_fn: SpikeFunction | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.input = check_feed_forward(network)
        self.names = network.population_names
        nets = [
            SpikingNetwork(
                layer_network(network, name), synapses="matrix", dtype=dtype, spike_fn=spike_fn
            )
            for name in self.names
        ]
        self.layers = nn.ModuleList(nets)
        self.nets: list[SpikingNetwork] = nets  # the same modules, typed
        self.sources = [
            [s.name for s in net.plan.network.sources if s.name in self.names] for net in nets
        ]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Neurons per layer."""
        return tuple(
            net.plan.populations[name].n for name, net in zip(self.names, self.nets, strict=True)
        )

    @property
    def pixels(self) -> int:
        """Units of the value source (without its constant unit)."""
        for net in self.nets:
            if self.input in net.plan.sources:
                return int(net.plan.sources[self.input].size)
        raise AssertionError("the value source feeds no layer")

    def membrane_names(self, k: int) -> tuple[str, ...]:
        """The ``pop.var`` membrane variables of layer ``k``."""
        model = self.nets[k].plan.populations[self.names[k]].model
        return tuple(f"{self.names[k]}.{v}" for v in model.membrane)

    def run_layer(
        self, k: int, values: Tensor, spikes: dict[str, Tensor], steps: int, membrane: bool
    ) -> LayerRun:
        """Layer ``k`` on the image ``values`` ``[B, n]`` and the earlier layers' ``spikes``."""
        layer = self.nets[k]
        inputs: dict[str, Tensor] = {}
        if self.input in layer.plan.sources:
            inputs[self.input] = values
        for name in self.sources[k]:
            inputs[name] = spikes[name].detach()
        record = self.membrane_names(k) if membrane else ()
        out: NetworkOutput = layer(inputs, n_steps=steps, record=record, batch=values.shape[:1])
        mem = torch.cat([out.traces[r] for r in record], -1) if record else None
        return LayerRun(out.spikes[self.names[k]], mem)

    def forward(self, values: Tensor, steps: int, membrane: bool = False) -> list[LayerRun]:
        """Every layer's run for images ``values`` ``[B, n]``; no gradient crosses a layer."""
        spikes: dict[str, Tensor] = {}
        runs = []
        for k, name in enumerate(self.names):
            run = self.run_layer(k, values, spikes, steps, membrane)
            spikes[name] = run.spikes
            runs.append(run)
        return runs

    def to_network(self) -> Network:
        """The original description with every layer's trained values."""
        populations = {}
        projections = {}
        for net in self.nets:
            trained = net.to_network()
            populations.update({p.name: p for p in trained.populations})
            projections.update({p.name: p for p in trained.projections})
        return replace(
            self.network,
            populations=tuple(populations[p.name] for p in self.network.populations),
            projections=tuple(projections[p.name] for p in self.network.projections),
        )


def goodness(run: LayerRun, kind: str) -> Tensor:
    """``[B]``: the sum over neurons of the squared spike count (``spike_count``) or of the
    squared membrane averaged over the steps (``membrane``)."""
    if kind == "spike_count":
        return run.spikes.sum(0).pow(2).sum(-1)
    if kind == "membrane":
        if run.membrane is None:
            raise InputError("Membrane goodness needs the layer's membrane recorded.")
        return run.membrane.mean(0).pow(2).sum(-1)
    raise InputError(f"goodness must be one of {', '.join(GOODNESS)}, got {kind!r}.")
