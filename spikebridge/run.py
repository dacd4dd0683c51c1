"""What a simulation run is, independent of the engine: validated once, executed by either.

:func:`plan_run` checks a request (method, dt, duration, inputs, parameters, initial
state, recorded variables) against the model and resolves it to SI arrays; each engine
executes the resulting :class:`RunSpec` and returns a
:class:`~spikebridge.results.SimulationResult` through :func:`make_result`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import count, index
from .inputs import prepare_inputs, steps_for
from .model import NeuronModel, load_model
from .results import SimulationResult
from .units import unit_name


@dataclass(frozen=True)
class RunSpec:
    """A validated run: ``n`` neurons of ``model`` for ``n_steps`` steps of ``dt`` seconds."""

    model: NeuronModel
    method: str
    dt: float
    n_steps: int
    n: int
    parameters: Mapping[str, np.ndarray]
    initial: Mapping[str, np.ndarray]
    waveforms: Mapping[str, np.ndarray]
    record: tuple[str, ...]
    seed: int


def plan_run(
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
) -> RunSpec:
    """Validate a run request and resolve it to SI values.

    Give exactly one of ``duration`` (a time, a whole number of steps) and ``n_steps``.
    ``dt`` and ``method`` default to the model's; ``inputs`` drive parameters per step (see
    :mod:`spikebridge.inputs`); ``parameters`` and ``initial`` override defaults (scalars or
    one value per neuron); ``seed`` draws the model's random parameters; ``record`` lists the
    variables to trace (default: the membrane variables).
    """
    model = load_model(model) if isinstance(model, str) else model
    method = model.check_method(method)
    dt_s = model.check_dt(model.dt if dt is None else dt, method)
    if (duration is None) == (n_steps is None):
        raise ValueError("Give exactly one of duration (a time) and n_steps (an integer).")
    steps = count(n_steps, "n_steps") if n_steps is not None else steps_for(duration, dt_s)
    n = count(n, "n (the number of neurons)")
    seed = index(seed, "seed")
    prepared = prepare_inputs(model, inputs, steps, n)
    values = model.parameter_values(n, parameters, seed)
    values.update(prepared.constant)
    names = tuple(record) if record is not None else model.membrane
    for name in names:
        model.dim(name)  # raises, naming the model's variables, for an unknown name
    return RunSpec(
        model=model,
        method=method,
        dt=dt_s,
        n_steps=steps,
        n=int(n),
        parameters=values,
        initial=model.initial_values(n, initial),
        waveforms=prepared.waveforms,
        record=names,
        seed=seed,
    )


def make_result(
    spec: RunSpec,
    engine: str,
    dtype: str,
    traces: Mapping[str, np.ndarray],
    spikes: Mapping[str, np.ndarray],
    **metadata: Any,
) -> SimulationResult:
    """The :class:`SimulationResult` of an executed ``spec``."""
    return SimulationResult(
        model=spec.model.name,
        method=spec.method,
        engine=engine,
        dtype=dtype,
        dt=spec.dt,
        n_steps=spec.n_steps,
        n=spec.n,
        traces=dict(traces),
        units={name: unit_name(spec.model.dim(name)) for name in traces},
        spikes=dict(spikes),
        metadata={"seed": spec.seed, **metadata},
    )
