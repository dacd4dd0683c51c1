"""The one time loop of the torch engine: every simulation and every module runs through it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..model import NeuronModel
from .codegen import GeneratedStep
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
) -> tuple[Tensor, dict[str, Tensor], Any]:
    """Run ``n_steps`` steps of the generated step function.

    ``drives`` hold one value per step on their leading axis (step k uses ``drive[k]``);
    ``start_step`` is the index of the first step (time ``start_step * dt``). Returns the
    spikes ``[n_steps, n_events, *shape]``, the ``record``-ed values at the end of every
    step ``{name: [n_steps, *shape]}`` and the final state.
    """
    names = tuple(record)
    spikes: list[Tensor] = []
    traces: dict[str, list[Tensor]] = {name: [] for name in names}
    device = state[0].device
    # unbind once: indexing drive[k] per step would make autograd allocate a zero tensor of
    # the whole sequence for every step in the backward pass.
    per_step = {name: drive.unbind(0) for name, drive in drives.items()}
    for k in range(n_steps):
        step_params = {**params, **{name: values[k] for name, values in per_step.items()}}
        t = torch.tensor((start_step + k) * dt, dtype=torch.float64, device=device)
        events, state = generated.step(state, step_params, t, dt, spike_fn)
        spikes.append(torch.stack(events))
        for name in names:
            traces[name].append(observe(generated, state, step_params, t, dt, name))
    stacked = {name: torch.stack(values) for name, values in traces.items()}
    return torch.stack(spikes), stacked, state


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
