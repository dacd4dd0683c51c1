"""Simulate a model with Brian2 on any device and return a :class:`SimulationResult`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import EventMonitor, Network, NeuronGroup, StateMonitor, TimedArray, second
from brian2.devices.device import get_device

from ..model import NeuronModel
from ..results import SimulationResult, spike_rows
from ..run import RunSpec, make_result, plan_run
from ..units import as_quantity
from .devices import STANDALONE_DEVICES, brian2_session
from .group import make_neuron_group
from .program import step_program


def simulate_brian2(
    model: NeuronModel | str,
    *,
    device: str = "runtime",
    dtype: str = "float64",
    directory: str | Path | None = None,
    threads: int = 0,
    **run: Any,
) -> SimulationResult:
    """Run a model in Brian2: ``run`` options as :func:`spikebridge.run.plan_run`.

    ``device``: ``runtime`` (Cython), ``numpy``, ``cpp_standalone``, ``cuda_standalone`` or
    ``genn``; ``directory``: where a standalone project is built (default: a temporary
    folder); ``threads``: OpenMP threads of ``cpp_standalone`` (0: none).
    """
    spec = plan_run(model, **run)
    step_program(spec.model, spec.method)  # dry run in runtime mode: model errors before compiling
    return run_brian2(spec, device=device, dtype=dtype, directory=directory, threads=threads)


def driven_group(spec: RunSpec) -> NeuronGroup:
    """The ``NeuronGroup`` of a planned run: its parameters, initial values and waveform
    drives (``TimedArray``s read at the start of every step). Call inside a Brian2 session."""
    model = spec.model
    group = make_neuron_group(model, spec.n, spec.method, spec.dt)
    for name, value in {**spec.parameters, **spec.initial}.items():
        setattr(group, name, as_quantity(value, model.dim(name)))
    for name, wave in spec.waveforms.items():
        array = TimedArray(as_quantity(wave, model.dim(name)), dt=spec.dt * second)
        group.namespace[f"drive_{name}"] = array
        index = "(t, i)" if wave.ndim == 2 else "(t)"
        group.run_regularly(f"{name} = drive_{name}{index}", when="start", name=f"drive_{name}")
    return group


def run_brian2(
    spec: RunSpec,
    *,
    device: str = "runtime",
    dtype: str = "float64",
    directory: str | Path | None = None,
    threads: int = 0,
) -> SimulationResult:
    """Execute a planned run on a Brian2 device."""
    model = spec.model
    with brian2_session(device, float_dtype=dtype, directory=directory, threads=threads):
        group = driven_group(spec)
        traced = [StateMonitor(group, list(spec.record), record=True, when="end", name="trace")]
        traced = traced if spec.record else []
        events = {
            event: EventMonitor(group, event, name=f"events_{event}") for event in model.event_names
        }
        network = Network(group, *traced, *events.values())
        started = time.perf_counter()
        # After a run Brian2 compares state values with 1e50, which overflows a float32 cast
        # and makes numpy warn; the comparison itself is right, so the warning is silenced.
        with np.errstate(over="ignore"):
            network.run(spec.n_steps * spec.dt * second, namespace={})
        elapsed = time.perf_counter() - started
        # Standalone devices time their own simulation loop (without code generation/compile).
        loop = (
            getattr(get_device(), "_last_run_time", None) if device in STANDALONE_DEVICES else None
        )
        traces = {
            name: np.asarray(getattr(traced[0], f"{name}_"), dtype=np.float64).T.copy()
            for name in spec.record
        }
        spikes = {
            event: spike_rows(np.rint(np.asarray(mon.t_) / spec.dt), np.asarray(mon.i))
            for event, mon in events.items()
        }
    for name, trace in traces.items():
        if trace.shape[0] != spec.n_steps:
            raise RuntimeError(
                f"Brian2 recorded {trace.shape[0]} steps of '{name}', expected {spec.n_steps}."
            )
    return make_result(
        spec,
        f"brian2:{device}",
        dtype,
        traces,
        spikes,
        wall_seconds=elapsed,
        loop_seconds=float(loop) if loop is not None else elapsed,
    )
