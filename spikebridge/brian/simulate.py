"""Simulate a model with Brian2 on any device and return a :class:`SimulationResult`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import EventMonitor, Network, StateMonitor, TimedArray, second

from ..inputs import prepare_inputs, steps_for
from ..model import NeuronModel, load_model
from ..results import SimulationResult, spike_rows
from ..units import as_quantity, unit_name
from .devices import brian2_session
from .group import make_neuron_group
from .program import step_program


def simulate_brian2(
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
    device: str = "runtime",
    dtype: str = "float64",
    directory: str | Path | None = None,
    threads: int = 0,
) -> SimulationResult:
    """Run ``n`` neurons of ``model`` for ``duration`` (or ``n_steps`` steps) in Brian2.

    ``device``: ``runtime`` (Cython), ``numpy``, ``cpp_standalone``, ``cuda_standalone`` or
    ``genn``. ``inputs`` drive parameters per step (see :mod:`spikebridge.inputs`);
    ``parameters`` and ``initial`` override defaults (scalars or one value per neuron);
    ``seed`` draws the model's random parameters. ``record`` lists the variables to
    trace (default: the membrane variables).
    """
    model = load_model(model) if isinstance(model, str) else model
    method = model.check_method(method)
    step_program(model, method)  # a dry run in runtime mode: model errors surface before compiling
    dt_s = model.check_dt(model.dt if dt is None else dt, method)
    steps = _steps(duration, n_steps, dt_s)
    prepared = prepare_inputs(model, inputs, steps, n)
    values = model.parameter_values(n, parameters, seed)
    values.update(prepared.constant)
    init = model.initial_values(n, initial)
    names = tuple(record) if record is not None else model.membrane
    for name in names:
        model.dim(name)  # raises for unknown variables

    with brian2_session(device, float_dtype=dtype, directory=directory, threads=threads):
        group = make_neuron_group(model, n, method, dt_s)
        for name, value in {**values, **init}.items():
            setattr(group, name, as_quantity(value, model.dim(name)))
        for name, wave in prepared.waveforms.items():
            array = TimedArray(as_quantity(wave, model.dim(name)), dt=dt_s * second)
            group.namespace[f"drive_{name}"] = array
            index = "(t, i)" if wave.ndim == 2 else "(t)"
            group.run_regularly(f"{name} = drive_{name}{index}", when="start", name=f"drive_{name}")
        state_monitor = StateMonitor(group, list(names), record=True, when="end", name="trace")
        spike_monitors = {
            event: EventMonitor(group, event, name=f"events_{event}") for event in model.event_names
        }
        network = Network(group, state_monitor, *spike_monitors.values())
        # After a run Brian2 compares state values with 1e50, which overflows a float32 cast
        # and makes numpy warn; the comparison itself is right, so the warning is silenced.
        with np.errstate(over="ignore"):
            network.run(steps * dt_s * second, namespace={})
        traces = {
            name: np.asarray(getattr(state_monitor, f"{name}_"), dtype=np.float64).T.copy()
            for name in names
        }
        spikes = {
            event: spike_rows(np.rint(np.asarray(mon.t_) / dt_s), np.asarray(mon.i))
            for event, mon in spike_monitors.items()
        }
    for name, trace in traces.items():
        if trace.shape[0] != steps:
            raise RuntimeError(
                f"Brian2 recorded {trace.shape[0]} steps of '{name}', expected {steps}."
            )
    return SimulationResult(
        model=model.name,
        method=method,
        engine=f"brian2:{device}",
        dtype=dtype,
        dt=dt_s,
        n_steps=steps,
        n=n,
        traces=traces,
        units={name: unit_name(model.dim(name)) for name in names},
        spikes=spikes,
        metadata={"seed": seed},
    )


def _steps(duration: Any, n_steps: int | None, dt_s: float) -> int:
    if (duration is None) == (n_steps is None):
        raise ValueError("Give exactly one of duration (a time) and n_steps (an integer).")
    if n_steps is not None:
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps}.")
        return int(n_steps)
    return steps_for(duration, dt_s)
