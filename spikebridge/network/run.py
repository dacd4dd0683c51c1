"""What one run of a network is, independent of the engine: steps, trials and input data.

A run has ``n_steps`` steps of the network's ``dt`` and ``trials`` independent trials
(each starts from the initial state). The torch engine runs trials as a batch; Brian2 runs
them back to back in one simulation, each in a window of ``n_steps`` steps at whose start
every state variable returns to its initial value (with the longest wait of a spike, its
delay plus a step for a layered recurrent projection, as a silent margin after each
window, so that no spike crosses into the next trial).

Input data, per group (``inputs`` of :func:`prepare_run` override the description):

* a :class:`~.description.CurrentInput` target ``"pop.var"``: a scalar, ``[T]``, ``[T, n]``
  or ``[trials, T, n]`` (quantities);
* a :class:`~.description.ValueSource`: ``[n]`` or ``[trials, n]`` values;
* a :class:`~.description.PoissonSource`: frozen trains drawn here, per trial from
  ``(seed, trial)``; a :class:`~.description.SpikeSource`: its trains in every trial, or
  ``(indices, steps)`` rows per trial given as ``[trials, T, n]`` booleans.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, second
from brian2.units.fundamentalunits import get_dimensions

from ..checks import count, index
from ..errors import InputError
from ..inputs import steps_for
from ..units import to_si
from .description import ConstantSource, PoissonSource, SpikeSource, ValueSource
from .plan import NetworkPlan


@dataclass(frozen=True, eq=False)
class NetworkRun:
    """A validated run of a planned network (SI arrays)."""

    plan: NetworkPlan
    n_steps: int
    trials: int
    #: ``(population, variable) -> [trials or 1, T, n or 1]`` per-step drives
    drives: Mapping[tuple[str, str], np.ndarray]
    #: value and constant sources: ``name -> [trials or 1, n (+1 constant unit)]``
    values: Mapping[str, np.ndarray]
    #: frozen Poisson and spike sources: ``name -> [trials or 1, T, n]`` booleans
    spikes: Mapping[str, np.ndarray]
    #: engine-drawn Poisson sources: ``name -> rates [n]`` (Hz as SI 1/s)
    rates: Mapping[str, np.ndarray]
    #: variables to trace, ``"pop.var"``
    record: tuple[str, ...] = ()
    seed: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dt(self) -> float:
        return self.plan.dt

    @property
    def margin(self) -> int:
        """Silent steps after each trial window in Brian2 (the longest wait of a spike)."""
        return self.plan.longest_wait() if self.trials > 1 else 0


def prepare_run(
    plan: NetworkPlan,
    *,
    duration: Any = None,
    n_steps: int | None = None,
    trials: int = 1,
    inputs: Mapping[str, Any] | None = None,
    record: Sequence[str] = (),
    seed: int = 0,
) -> NetworkRun:
    """Validate a run of ``plan`` and resolve its input data (see the module docstring).

    Give at most one of ``duration`` and ``n_steps``; with neither, the description's
    ``duration``. ``record``: ``"pop.var"`` names to trace (state variables or parameters).
    """
    if duration is not None and n_steps is not None:
        raise InputError("Give at most one of duration (a time) and n_steps (an integer).")
    if n_steps is None:
        duration = plan.network.duration if duration is None else duration
        if duration is None:
            raise InputError(
                f"Network '{plan.name}' declares no duration; give duration (e.g. 100 * ms) "
                "or n_steps."
            )
        n_steps = steps_for(duration, plan.dt)
    steps = count(n_steps, "n_steps")
    trials = count(trials, "trials")
    seed = index(seed, "seed")
    given = dict(inputs or {})
    drives = _drives(plan, given, steps, trials)
    values: dict[str, np.ndarray] = {}
    spikes: dict[str, np.ndarray] = {}
    rates: dict[str, np.ndarray] = {}
    for name, source in plan.sources.items():
        value = given.pop(name, None)
        if isinstance(source, ValueSource):
            values[name] = _values(source, value, trials)
        elif isinstance(source, ConstantSource):
            if value is not None:
                raise InputError(f"ConstantSource '{name}' takes no input; change its value.")
            values[name] = np.full((1, source.size), float(source.value))
        elif isinstance(source, PoissonSource):
            source_rates = _rates(source, value)
            if source.realisation == "engine":
                rates[name] = source_rates
            else:
                spikes[name] = poisson_trains(source_rates, steps, trials, plan.dt, source.seed)
        else:
            assert isinstance(source, SpikeSource)
            spikes[name] = _spike_trains(source, value, steps, trials, plan.dt)
    unknown = sorted(given)
    if unknown:
        raise InputError(
            f"inputs name {unknown}, which are neither sources nor 'population.variable' "
            f"current inputs of network '{plan.name}'. Sources: "
            f"{', '.join(plan.sources) or 'none'}."
        )
    traced = tuple(record)
    for name in traced:
        _check_trace(plan, name)
    return NetworkRun(plan, steps, trials, drives, values, spikes, rates, traced, seed)


def _drives(
    plan: NetworkPlan, given: dict[str, Any], steps: int, trials: int
) -> dict[tuple[str, str], np.ndarray]:
    drives: dict[tuple[str, str], Any] = {
        (c.target, c.variable): c.values for c in plan.network.inputs
    }
    for key in [k for k in given if "." in k]:
        pop, _, var = key.partition(".")
        if pop not in plan.populations:
            raise InputError(
                f"input '{key}': no population '{pop}'; populations: {', '.join(plan.populations)}."
            )
        drives[(pop, var)] = given.pop(key)
    resolved: dict[tuple[str, str], np.ndarray] = {}
    for (pop, var), value in drives.items():
        population = plan.populations[pop]
        model = population.model
        if var not in model.parameter_names:
            raise InputError(
                f"input '{pop}.{var}': '{var}' is not a parameter of model '{model.name}'; its "
                f"parameters are: {', '.join(model.parameter_names)}."
            )
        si = to_si(value, model.dim(var), f"input '{pop}.{var}'")
        if not np.all(np.isfinite(si)):
            raise InputError(f"input '{pop}.{var}' contains NaN or infinite values.")
        n = population.n
        if si.ndim == 0:
            array = si.reshape(1, 1, 1)
        elif si.ndim == 1 and si.shape[0] == steps:
            array = si.reshape(1, steps, 1)
        elif si.ndim == 2 and si.shape == (steps, n):
            array = si.reshape(1, steps, n)
        elif si.ndim == 3 and si.shape == (trials, steps, n):
            array = si
        else:
            raise InputError(
                f"input '{pop}.{var}' has shape {si.shape}; a run of {trials} trial(s) of "
                f"{steps} steps needs a scalar, ({steps},), ({steps}, {n}) or "
                f"({trials}, {steps}, {n})."
            )
        resolved[(pop, var)] = array
    return resolved


def _values(source: ValueSource, value: Any, trials: int) -> np.ndarray:
    data = source.values if value is None else value
    n = source.size
    if data is None:
        raise InputError(
            f"ValueSource '{source.name}' has no values; give them as inputs={{'{source.name}': "
            f"array of shape ({n},) or (trials, {n})}}."
        )
    array = np.asarray(data, dtype=np.float64)
    if array.size == n:
        array = array.reshape(1, n)
    elif array.ndim >= 2 and array.shape[0] == trials and math.prod(array.shape[1:]) == n:
        array = array.reshape(trials, n)
    else:
        raise InputError(
            f"values of '{source.name}' have shape {array.shape}; give ({n},) or "
            f"({trials}, {n}) (one set per trial)."
        )
    if not np.all(np.isfinite(array)):
        raise InputError(f"values of '{source.name}' contain NaN or infinite values.")
    if source.constant_unit:
        array = np.concatenate([array, np.ones((array.shape[0], 1))], axis=1)
    return array


def _rates(source: PoissonSource, value: Any) -> np.ndarray:
    rates = source.rates if value is None else value
    si = to_si(rates, Hz.dim, f"rates of PoissonSource '{source.name}'")
    if si.ndim > 1 or (si.ndim == 1 and si.shape[0] != source.size):
        raise InputError(
            f"rates of '{source.name}' need one value or {source.size}, got shape {si.shape}."
        )
    if not np.all(np.isfinite(si)) or np.any(si < 0):
        raise InputError(f"rates of '{source.name}' must be finite and >= 0.")
    return np.broadcast_to(si, (source.size,)).astype(np.float64)


def poisson_trains(rates: np.ndarray, steps: int, trials: int, dt: float, seed: int) -> np.ndarray:
    """Frozen Poisson trains ``[trials, T, n]``: a spike in step k where ``u < rate * dt``
    (Brian2's ``PoissonGroup`` rule), ``u`` uniform from ``(seed, trial)``."""
    out = np.empty((trials, steps, len(rates)), dtype=bool)
    p = rates * dt
    for trial in range(trials):
        rng = np.random.default_rng([seed, trial])
        out[trial] = rng.random((steps, len(rates))) < p
    return out


def _spike_trains(
    source: SpikeSource, value: Any, steps: int, trials: int, dt: float
) -> np.ndarray:
    if value is not None:
        array = np.asarray(value, dtype=bool)
        if array.shape == (steps, source.size):
            return array.reshape(1, steps, source.size)
        if array.shape == (trials, steps, source.size):
            return array
        raise InputError(
            f"spikes of '{source.name}' have shape {array.shape}; give ({steps}, "
            f"{source.size}) or ({trials}, {steps}, {source.size}) booleans."
        )
    if source.steps is not None:
        step_of = np.asarray(source.steps, dtype=np.int64)
    else:
        if get_dimensions(source.times) is not second.dim:
            raise InputError(f"SpikeSource '{source.name}': times must be times (e.g. 5 * ms).")
        seconds = np.asarray(source.times / second, dtype=np.float64).reshape(-1)
        step_of = np.rint(seconds / dt).astype(np.int64)
        if np.any(np.abs(step_of * dt - seconds) > 1e-6 * dt):
            raise InputError(
                f"SpikeSource '{source.name}': spike times must be whole steps of dt = "
                f"{dt * 1e3:g} ms (Brian2 runs spikes on the step grid)."
            )
    trains = np.zeros((1, steps, source.size), dtype=bool)
    inside = step_of < steps
    pairs = np.stack([step_of[inside], source.indices[inside]], 1)
    if len(np.unique(pairs, axis=0)) != len(pairs):
        raise InputError(
            f"SpikeSource '{source.name}': a neuron fires twice in one step; Brian2's "
            "SpikeGeneratorGroup forbids that."
        )
    trains[0, step_of[inside], source.indices[inside]] = True
    return trains


def _check_trace(plan: NetworkPlan, name: str) -> None:
    pop, _, var = name.partition(".")
    if pop not in plan.populations:
        raise InputError(
            f"record '{name}': no population '{pop}'. Name traces 'population.variable'; "
            f"populations: {', '.join(plan.populations)}."
        )
    model = plan.populations[pop].model
    if var not in model.state_variables and var not in model.parameter_names:
        raise InputError(
            f"record '{name}': model '{model.name}' has no variable '{var}'; its state "
            f"variables are: {', '.join(model.state_variables)}."
        )
