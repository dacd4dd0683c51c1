"""The one time loop of the torch engine: every simulation and every module runs through it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..errors import InputError
from ..model import NeuronModel
from .codegen import GeneratedStep, StepFunction
from .surrogate import SpikeFunction

#: Brian2's initial ``lastspike`` (a spike long ago) and ``not_refractory``.
LASTSPIKE_NEVER = -1e4


def initial_state(
    generated: GeneratedStep,
    values: Mapping[str, Any],
    shape: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device | str | None = None,
) -> Any:
    """The state tuple of ``generated`` for neurons of ``shape`` from SI ``values``.

    Variables missing from ``values`` start at 0; ``not_refractory`` starts True and
    ``lastspike`` at -1e4 s in float64, as Brian2's clock variables.
    """
    fields = []
    for name in generated.state_variables:
        if name == "not_refractory":
            fields.append(torch.ones(shape, dtype=torch.bool, device=device))
        elif name == "lastspike":
            fields.append(torch.full(shape, LASTSPIKE_NEVER, dtype=torch.float64, device=device))
        else:
            value = torch.as_tensor(np.asarray(values.get(name, 0.0)), dtype=dtype, device=device)
            fields.append(value.expand(shape).clone())
    return generated.state_class(*fields)


def observe(
    generated: GeneratedStep,
    state: Any,
    params: Mapping[str, Tensor],
    t: Tensor,
    dt: float,
    name: str,
) -> Tensor:
    """The value of a state variable or subexpression ``name`` in ``state``."""
    if name in generated.state_variables:
        value: Tensor = getattr(state, name)
        return value
    if name in generated.observers:
        return generated.observers[name](state, params, t, dt)
    if name in params:
        return params[name]
    raise KeyError(
        f"'{name}' is neither a state variable, a subexpression nor a parameter of "
        f"'{generated.model}'."
    )


#: A replacement for :func:`run_chunk` (e.g. its ``torch.compile``-d form), same signature.
ChunkFunction = Callable[..., tuple[Tensor, dict[str, Tensor], Any]]


def run_chunk(
    step: StepFunction,
    generated: GeneratedStep,
    state: Any,
    params: Mapping[str, Tensor],
    per_step: Mapping[str, Sequence[Tensor]],
    times: Sequence[Tensor],
    dt: float,
    spike_fn: SpikeFunction,
    names: tuple[str, ...],
) -> tuple[Tensor, dict[str, Tensor], Any]:
    """Run ``len(times)`` consecutive steps with ``step``: the body of :func:`run_steps`.

    Step k uses the drives ``per_step[name][k]`` and the time ``times[k]`` (0-d float64);
    ``per_step[name]`` and ``times`` are tuples of per-step tensors or tensors indexed on
    their leading axis.
    Returns the spikes ``[k, n_events, *shape]``, the ``names`` traces ``{name: [k, *shape]}``
    and the final state.
    """
    events_by_step: list[tuple[Tensor, ...]] = []
    traces: dict[str, list[Tensor]] = {name: [] for name in names}
    for k, t in enumerate(times):
        step_params = {**params, **{name: values[k] for name, values in per_step.items()}}
        events, state = step(state, step_params, t, dt, spike_fn)
        events_by_step.append(events)
        for name in names:
            traces[name].append(observe(generated, state, step_params, t, dt, name))
    stacked = {name: torch.stack(values) for name, values in traces.items()}
    return _stack_events(events_by_step), stacked, state


def _stack_events(events_by_step: list[tuple[Tensor, ...]]) -> Tensor:
    """Per-step event tuples -> ``[steps, n_events, *shape]`` (the same values as stacking each
    step's events and then the steps; one copy fewer for a single event)."""
    per_event = [torch.stack(values) for values in zip(*events_by_step, strict=True)]
    if len(per_event) == 1:
        return per_event[0].unsqueeze(1)
    return torch.stack(per_event, 1)


def check_steps(value: Any, name: str = "checkpoint_every") -> int | None:
    """``value`` as a chunk length: a positive integer, or None (no chunks)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name} must be a positive number of steps or None, got {value!r}.")
    return int(value)


def run_steps(
    generated: GeneratedStep,
    state: Any,
    params: Mapping[str, Tensor],
    drives: Mapping[str, Tensor],
    *,
    dt: float,
    spike_fn: SpikeFunction,
    n_steps: int,
    start_step: int = 0,
    record: Iterable[str] = (),
    step_fn: StepFunction | None = None,
    chunk_fn: ChunkFunction | None = None,
    chunk_steps: int | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Tensor, dict[str, Tensor], Any]:
    """Run ``n_steps`` steps of the generated step function.

    ``drives`` hold one value per step on their leading axis (step k uses ``drive[k]``);
    ``start_step`` is the index of the first step (time ``start_step * dt``). Returns the
    spikes ``[n_steps, n_events, *shape]``, the ``record``-ed values at the end of every
    step ``{name: [n_steps, *shape]}`` and the final state.

    Speed and memory options (the defaults run the generated step eagerly, as it is):

    * ``step_fn``: the step function to call instead of ``generated.step`` (same
      signature; e.g. :func:`spikebridge.torch.compiled.compile_step`);
    * ``chunk_fn``: runs a chunk of steps instead of :func:`run_chunk` (same signature;
      e.g. :func:`spikebridge.torch.compiled.compile_chunk`, the unrolled loop compiled);
    * ``chunk_steps``: run the loop in chunks of at most this many steps (bounds the
      unrolled length of a compiled ``chunk_fn``; no effect on the values);
    * ``checkpoint_every``: with gradients enabled, run the steps in chunks of this many
      under ``torch.utils.checkpoint`` (non-reentrant): a chunk keeps only its input state
      for the backward pass and recomputes its steps there, so activation memory grows with
      ``n_steps / checkpoint_every + checkpoint_every`` steps instead of ``n_steps``, at the
      cost of a second forward pass. Values and gradients are those of the plain loop.
    """
    checkpoint_every = check_steps(checkpoint_every)
    chunk_steps = check_steps(chunk_steps, "chunk_steps")
    names = tuple(record)
    step = generated.step if step_fn is None else step_fn
    chunk = run_chunk if chunk_fn is None else chunk_fn
    checkpointed = checkpoint_every is not None and torch.is_grad_enabled()
    every = checkpoint_every if checkpointed else chunk_steps
    sizes = [n_steps] if every is None else [every] * (n_steps // every)
    if sum(sizes) < n_steps:
        sizes.append(n_steps - sum(sizes))
    # times from Python floats (start_step + k) * dt, one tensor created for all steps
    times = torch.tensor(
        [(start_step + k) * dt for k in range(n_steps)],
        dtype=torch.float64,
        device=state[0].device,
    )
    if chunk_fn is None:
        # unbind once: indexing drive[k] per step would make autograd allocate a zero tensor
        # of the whole sequence for every step in the backward pass.
        per_step = {name: drive.unbind(0) for name, drive in drives.items()}
        time_steps = times.unbind(0)
        parts = [
            ({name: values[a:b] for name, values in per_step.items()}, time_steps[a:b])
            for a, b in itertools.pairwise(itertools.accumulate([0, *sizes]))
        ]
    else:
        # a chunk function (a compiled loop) indexes whole chunks inside its graph, so that
        # the gradient of a chunk's drives is one tensor; split once for the same reason
        split = {
            name: (drive if drive.shape[0] == n_steps else drive[:n_steps]).split(sizes)
            for name, drive in drives.items()
        }
        parts = [
            ({name: values[i] for name, values in split.items()}, chunk_times)
            for i, chunk_times in enumerate(times.split(sizes))
        ]
    spikes: list[Tensor] = []
    traces: dict[str, list[Tensor]] = {name: [] for name in names}
    for part, part_times in parts:
        args = (step, generated, state, params, part, part_times, dt, spike_fn, names)
        if checkpointed and len(parts) > 1:
            chunk_spikes, chunk_traces, state = checkpoint(
                chunk,
                *args,
                use_reentrant=False,
                preserve_rng_state=False,  # generated steps draw no random numbers
            )
        else:
            chunk_spikes, chunk_traces, state = chunk(*args)
        spikes.append(chunk_spikes)
        for name in names:
            traces[name].append(chunk_traces[name])
    if len(parts) == 1:
        return spikes[0], {name: values[0] for name, values in traces.items()}, state
    return torch.cat(spikes), {name: torch.cat(v) for name, v in traces.items()}, state


def parameter_tensors(
    model: NeuronModel,
    values: Mapping[str, np.ndarray],
    dtype: torch.dtype,
    device: torch.device | str | None = None,
) -> dict[str, Tensor]:
    """SI parameter arrays as tensors of ``dtype`` (scalars stay 0-d)."""
    return {
        name: torch.as_tensor(np.asarray(value), dtype=dtype, device=device)
        for name, value in values.items()
        if name in model.parameter_names
    }
