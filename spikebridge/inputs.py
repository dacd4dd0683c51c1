"""Inputs of a simulation: validated, converted to SI, one value per time step.

``inputs`` maps a parameter of the model (usually one of its ``INPUTS``, but any
parameter, e.g. a tv-LIF's ``tau_m``, may be driven) to

* a scalar quantity: constant over time, same for every neuron;
* an array of shape ``(n_steps,)``: a waveform shared by all neurons;
* an array of shape ``(n_steps, n)``: one waveform per neuron.

The value of step k is applied during step k (sampled at t_k = k dt and held over the
step), identically in both engines: Brian2 reads it from a ``TimedArray`` in the
``start`` slot of the schedule, the torch loop indexes ``[k]``. Constant per-neuron
values are parameters (pass them as ``parameters``), not inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import second

from .errors import InputError, ParameterError
from .model import NeuronModel
from .units import to_si


@dataclass(frozen=True)
class PreparedInputs:
    """SI values: ``constant`` (scalars) and ``waveforms`` (``(n_steps,)`` or ``(n_steps, n)``)."""

    constant: Mapping[str, np.ndarray]
    waveforms: Mapping[str, np.ndarray]


def steps_for(duration: Any, dt_s: float) -> int:
    """Number of steps of ``duration`` (a time) at ``dt_s`` seconds; it must be a whole number."""
    seconds = float(to_si(duration, second.dim, "duration"))
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"duration must be a positive time, got {duration}.")
    n_steps = round(seconds / dt_s)
    if n_steps < 1 or abs(n_steps * dt_s - seconds) > 1e-9 * max(seconds, dt_s):
        raise InputError(
            f"duration {duration} is not a whole number of steps of dt = {dt_s * 1e3:g} ms. "
            f"Use a multiple of dt, e.g. {max(n_steps, 1) * dt_s * 1e3:g} ms."
        )
    return n_steps


def prepare_inputs(
    model: NeuronModel, inputs: Mapping[str, Any] | None, n_steps: int, n: int
) -> PreparedInputs:
    """Validate ``inputs`` for a run of ``n_steps`` steps of ``n`` neurons; convert to SI."""
    constant: dict[str, np.ndarray] = {}
    waveforms: dict[str, np.ndarray] = {}
    for name, value in dict(inputs or {}).items():
        if name not in model.parameter_names:
            raise InputError(
                f"'{name}' is not a parameter of model '{model.name}', so it cannot be driven. "
                f"Its inputs are {', '.join(model.inputs)}; any parameter "
                f"({', '.join(model.parameter_names)}) may be driven."
            )
        try:
            values = to_si(value, model.dim(name), f"input '{name}' of '{model.name}'")
        except ParameterError as exc:
            raise InputError(str(exc)) from exc
        if not np.all(np.isfinite(values)):
            bad = np.argwhere(~np.isfinite(values))[0].tolist()
            raise InputError(
                f"input '{name}' contains NaN or infinite values (first at index {bad}). "
                "Replace them with finite values (e.g. np.nan_to_num) before simulating."
            )
        if values.ndim == 0:
            constant[name] = values
            continue
        shared = name in model.shared_parameters
        expected = "(n_steps,)" if shared else "(n_steps,) or (n_steps, n)"
        if values.shape[0] != n_steps or values.ndim > 2:
            raise InputError(
                f"input '{name}' has shape {values.shape}, but a run of {n_steps} steps of {n} "
                f"neuron(s) needs {expected} = {(n_steps,)}"
                + ("" if shared else f" or {(n_steps, n)}")
                + ". Give one value per time step (resample the waveform at dt), or a scalar "
                "for a constant input; per-neuron constants are parameters."
            )
        if values.ndim == 2 and (shared or values.shape[1] != n):
            raise InputError(
                f"input '{name}' has shape {values.shape}; the second axis must be the {n} "
                f"neuron(s) of the run"
                + (" and a shared parameter takes one waveform" if shared else "")
                + f". Use shape {(n_steps,)}"
                + ("" if shared else f" or {(n_steps, n)}")
                + "."
            )
        waveforms[name] = values
    return PreparedInputs(constant=constant, waveforms=waveforms)
