"""Index plumbing of the generated network step: gathers, scatters, delays.

The network step (:mod:`spikebridge.torch.network_codegen`) renders Brian2's synaptic
statements as expressions over *selected* synapses and calls these helpers to read
presynaptic, postsynaptic and synaptic variables for them and to write results back.
Two interchangeable implementations with the same signatures decide what "selected"
means:

:class:`Scatter` (``synapses="scatter"``)
    every synapse at every step; the selection is the *gate*, each synapse's (delayed)
    presynaptic spike as a float with its surrogate gradient. ``x_post += e`` adds
    ``gate * e`` with one ``index_add`` in Brian2's delivery order (exact in float64:
    adding a zero changes nothing), a synaptic write is ``gate * new + (1 - gate) * old``.
    Differentiable; cost per step proportional to the synapses.
:class:`Event` (``synapses="event"``)
    only the synapses of the neurons that fired, found from per-delay CSR tables and added
    in Brian2's queue order (delay groups from the longest, then presynaptic neuron, then
    synapse); cost per step proportional to the spikes. No gradient through the spikes.

Batched state has shape ``[*batch, n]``; parameters ``[n]`` or 0-d. Event mode flattens
the batch axes (trial ``b``'s element ``k`` is ``b * n + k``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

Selection = Any


def gather(values: Tensor | float, index: Tensor) -> Tensor | float:
    """``values[..., index]`` of a per-neuron tensor (scalars and 0-d tensors pass)."""
    if not isinstance(values, Tensor) or values.dim() == 0:
        return values
    return values[..., index]


def total(n: int, index: Tensor, values: Tensor | float, n_syn: int, like: Tensor) -> Tensor:
    """A summed variable: ``sum_s values[s]`` onto neurons ``index[s]`` of ``n``, from 0 and in
    synapse order (Brian2's summed-variable loop); float type and device of ``like``."""
    values = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    batch = values.shape[:-1] if values.dim() else ()
    values = values.expand(*batch, n_syn)
    return values.new_zeros(*batch, n).index_add(-1, index, values)


def fit(value: Tensor, target: Tensor) -> Tensor:
    """``value`` in the shape of ``target`` (a summed variable or a hoisted value assigned to a
    population's variable of shape ``[*batch, n]``)."""
    shape = torch.broadcast_shapes(value.shape, target.shape)
    return value.expand(shape)


def push(buffer: Tensor, spikes: Tensor) -> Tensor:
    """A delay line one step later: ``spikes`` in front, the oldest entry dropped."""
    return torch.cat([spikes.unsqueeze(0), buffer[:-1]])


class Scatter:
    """Every synapse, gated by its presynaptic spike (see the module docstring)."""

    @staticmethod
    def select(spikes: Sequence[Tensor], tables: Sequence[Any], pre: Tensor) -> Tensor:
        """The gate ``[*batch, n_syn]`` from the presynaptic spikes of the pathway's delay(s).

        ``spikes``: one ``[*batch, n_pre]`` tensor per delay group; ``tables``: per group,
        the synapses of that delay (a ``[n_syn]`` bool mask, or None for all)."""
        if len(spikes) == 1:
            return spikes[0][..., pre]
        gate = None
        for group_spikes, mask in zip(spikes, tables, strict=True):
            part = group_spikes[..., pre] * mask
            gate = part if gate is None else gate + part
        assert gate is not None
        return gate

    @staticmethod
    def syn(values: Tensor, selection: Tensor) -> Tensor:
        return values

    @staticmethod
    def take(values: Tensor | float, index: Tensor, selection: Tensor) -> Tensor | float:
        return gather(values, index)

    @staticmethod
    def add(
        target: Tensor,
        index: Tensor,
        selection: Tensor,
        values: Tensor | float,
        order: Tensor | None = None,
    ) -> Tensor:
        """``target[index[s]] += gate[s] * values[s]`` for every synapse, in Brian2's order
        (``order``: the synapses in delivery order, when it is not the synapse order)."""
        contribution = selection * values
        shape = torch.broadcast_shapes(target.shape[:-1], contribution.shape[:-1])
        contribution = contribution.expand(*shape, contribution.shape[-1])
        if order is not None:
            contribution, index = contribution[..., order], index[order]
        return target.expand(*shape, target.shape[-1]).index_add(-1, index, contribution)

    @staticmethod
    def update(selection: Tensor, new: Tensor | float, old: Tensor | float) -> Tensor:
        """A synaptic write: ``new`` where the synapse's spike arrived, else ``old``."""
        return selection * new + (1 - selection) * old

    @staticmethod
    def store(full: Tensor, local: Tensor, selection: Tensor) -> Tensor:
        return local.expand_as(full) if local.shape != full.shape else local


class Event:
    """Only the synapses whose spike arrives this step (see the module docstring)."""

    @staticmethod
    def select(
        spikes: Sequence[Tensor], tables: Sequence[tuple[Tensor, Tensor]], pre: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``(trial, synapse)`` of every arriving spike, in Brian2's queue order.

        ``tables``: per delay group (longest first), ``(crow, synapses)``: the synapses of
        presynaptic neuron ``k`` with that delay are ``synapses[crow[k]:crow[k + 1]]``."""
        trials: list[Tensor] = []
        synapses: list[Tensor] = []
        for group_spikes, (crow, members) in zip(spikes, tables, strict=True):
            n_pre = group_spikes.shape[-1]
            fired = torch.nonzero(group_spikes.reshape(-1) > 0).squeeze(1)
            if fired.numel() == 0:
                continue
            trial, neuron = fired // n_pre, fired % n_pre
            starts = crow[neuron]
            lengths = crow[neuron + 1] - starts
            count = int(lengths.sum())
            if count == 0:
                continue
            offsets = torch.repeat_interleave(
                starts - (torch.cumsum(lengths, 0) - lengths), lengths, output_size=count
            )
            positions = offsets + torch.arange(count, device=offsets.device)
            trials.append(torch.repeat_interleave(trial, lengths, output_size=count))
            synapses.append(members[positions])
        if not trials:
            empty = torch.zeros(0, dtype=torch.int64, device=pre.device)
            return empty, empty
        return torch.cat(trials), torch.cat(synapses)

    @staticmethod
    def syn(values: Tensor, selection: tuple[Tensor, Tensor]) -> Tensor:
        trial, synapse = selection
        if values.dim() <= 1:
            return values[synapse] if values.dim() == 1 else values
        return values.reshape(-1, values.shape[-1])[trial, synapse]

    @staticmethod
    def take(
        values: Tensor | float, index: Tensor, selection: tuple[Tensor, Tensor]
    ) -> Tensor | float:
        trial, synapse = selection
        if not isinstance(values, Tensor) or values.dim() == 0:
            return values
        if values.dim() == 1:
            return values[index[synapse]]
        return values.reshape(-1, values.shape[-1])[trial, index[synapse]]

    @staticmethod
    def add(
        target: Tensor,
        index: Tensor,
        selection: tuple[Tensor, Tensor],
        values: Tensor | float,
        order: Tensor | None = None,
    ) -> Tensor:
        """``target[trial, index[s]] += values`` for the selected synapses, in their order."""
        trial, synapse = selection
        n = target.shape[-1]
        values = torch.as_tensor(values, dtype=target.dtype, device=target.device)
        values = values.expand(synapse.shape)
        flat = target.reshape(-1)
        return flat.index_add(0, trial * n + index[synapse], values).view(target.shape)

    @staticmethod
    def update(
        selection: tuple[Tensor, Tensor], new: Tensor | float, old: Tensor | float
    ) -> Tensor | float:
        return new

    @staticmethod
    def store(full: Tensor, local: Tensor | float, selection: tuple[Tensor, Tensor]) -> Tensor:
        trial, synapse = selection
        n = full.shape[-1]
        values = torch.as_tensor(local, dtype=full.dtype, device=full.device).expand(synapse.shape)
        flat = full.reshape(-1).clone()
        flat[trial * n + synapse] = values
        return flat.view(full.shape)


MODES = {"scatter": Scatter, "event": Event}
