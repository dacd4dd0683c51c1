"""Simulate a model with the generated torch step and return a :class:`SimulationResult`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from ..brian.simulate import _steps
from ..inputs import prepare_inputs
from ..model import NeuronModel, load_model
from ..results import SimulationResult, spike_rows
from ..units import unit_name
from .codegen import torch_step
from .loop import initial_state, parameter_tensors, run_steps
from .surrogate import SpikeFunction, rectangular

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def simulate_torch(
    model: NeuronModel | str,
    *,
    duration: Any = None,
    n_steps: int | None = None,
    dt: Any = None,
    method: str | None = None,
    n: int = 1,
    inputs: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    initial: Mapping[str, Any] | None = None,
    seed: int = 0,
    record: Iterable[str] | None = None,
    device: str = "cpu",
    dtype: str = "float64",
    spike_fn: SpikeFunction | None = None,
) -> SimulationResult:
    """The torch counterpart of :func:`~spikebridge.brian.simulate_brian2` (same arguments and
    result), run on a torch ``device`` without autograd."""
    model = load_model(model) if isinstance(model, str) else model
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got '{dtype}'.")
    torch_dtype = DTYPES[dtype]
    method = model.check_method(method)
    dt_s = model.check_dt(model.dt if dt is None else dt, method)
    steps = _steps(duration, n_steps, dt_s)
    prepared = prepare_inputs(model, inputs, steps, n)
    values = model.parameter_values(n, parameters, seed)
    values.update(prepared.constant)
    names = tuple(record) if record is not None else model.membrane
    for name in names:
        model.dim(name)
    generated = torch_step(model, method)
    params = parameter_tensors(model, values, torch_dtype, device)
    drives = {
        name: torch.as_tensor(wave, dtype=torch_dtype, device=device)
        for name, wave in prepared.waveforms.items()
    }
    state = initial_state(generated, model.initial_values(n, initial), (n,), torch_dtype, device)
    with torch.no_grad():
        spikes, traces, _ = run_steps(
            generated,
            state,
            params,
            drives,
            dt=dt_s,
            spike_fn=spike_fn or rectangular(model.surrogate_width),
            n_steps=steps,
            record=names,
        )
    spike_array = spikes.cpu().numpy()
    events = {}
    for index, event in enumerate(generated.events):
        steps_idx, neurons = np.nonzero(spike_array[:, index] > 0)
        events[event] = spike_rows(steps_idx, neurons)
    return SimulationResult(
        model=model.name,
        method=method,
        engine=f"torch:{device}",
        dtype=dtype,
        dt=dt_s,
        n_steps=steps,
        n=n,
        traces={
            name: np.broadcast_to(trace.cpu().double().numpy(), (steps, n)).copy()
            for name, trace in traces.items()
        },
        units={name: unit_name(model.dim(name)) for name in names},
        spikes=events,
        metadata={"seed": seed},
    )
