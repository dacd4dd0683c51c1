"""Brian2 building blocks shared by the bridged networks.

* :func:`pixel_group`: one unit per pixel plus a constant unit (the biases), which loads
  sample ``k``'s image at the first step of window ``k`` (``start`` slot);
* :func:`neuron_layer`: a ``NeuronGroup`` of a model file with the trained network's
  neuron parameters, returned to its initial state at the start of every window;
* :func:`event_raster`: the recorded events as a boolean ``[samples, T, n_events * n]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from brian2 import EventMonitor, NeuronGroup, TimedArray, second

from ..brian.group import make_neuron_group
from ..errors import InputError
from ..model import NeuronModel
from ..units import as_quantity


def pixel_group(
    images: np.ndarray, dt: float, window: float, input_noise: np.ndarray | None = None
) -> NeuronGroup:
    """Pixels of ``images`` ``[samples, n_pixels]`` and a last unit fixed at 1.

    ``input_noise`` (one standard deviation per window, in pixel units) adds fresh Gaussian
    noise to every pixel (not the constant unit) at every step of that window.
    """
    samples, n_pixels = images.shape
    stimulus = np.concatenate([images.astype(np.float64), np.ones((samples, 1))], axis=1)
    pixels = NeuronGroup(stimulus.shape[1], "x : 1", name="pixels", dt=dt * second)
    pixels.namespace["stimulus"] = TimedArray(stimulus, dt=window * second)
    if input_noise is None:
        pixels.run_regularly("x = stimulus(t, i)", dt=window * second, when="start", order=0)
        return pixels
    pixels.namespace["input_noise"] = TimedArray(np.asarray(input_noise), dt=window * second)
    pixels.namespace["n_pixels"] = n_pixels
    pixels.run_regularly(
        "x = stimulus(t, i) + input_noise(t) * randn() * int(i < n_pixels)",
        when="start",
        order=0,
    )
    return pixels


def membrane_noise_equations(model: NeuronModel) -> str:
    """``model``'s equations with additive noise on each membrane variable.

    ``dv/dt = f`` becomes ``dv/dt = f + membrane_noise(t) * noise_scale_v * xi_v /
    sqrt(noise_dt)``: with Euler-Maruyama at ``dt = noise_dt`` this adds
    ``membrane_noise * noise_scale_v * N(0, 1)`` to ``v`` at every step.
    """
    lines = []
    for line in model.equations.splitlines():
        head = line.strip()
        for var in model.membrane:
            prefix = f"d{var}/dt ="
            if head.startswith(prefix):
                rhs, _, unit = head[len(prefix) :].rpartition(":")
                term = f"membrane_noise(t) * noise_scale_{var} * xi_{var} / sqrt(noise_dt)"
                line = f"{prefix} ({rhs.strip()}) + {term} : {unit.strip()}"
        lines.append(line)
    return "\n".join(lines)


def neuron_layer(
    model: NeuronModel,
    method: str,
    dt: float,
    window: float,
    parameters: Mapping[str, np.ndarray],
    shape: Sequence[int],
    name: str,
    membrane_noise: tuple[np.ndarray, Mapping[str, float]] | None = None,
) -> tuple[NeuronGroup, dict[str, Any]]:
    """A layer of ``prod(shape)`` neurons (C-order index) and the namespace its restart needs.

    ``parameters`` are the torch layer's values; each is broadcast over ``shape`` (so a
    per-column array of length ``shape[-1]`` becomes one value per neuron of that column).
    ``membrane_noise`` (a strength per window and a scale per membrane variable) adds the
    noise of :func:`membrane_noise_equations`.
    """
    n = int(np.prod(shape))
    if membrane_noise is None:
        group = make_neuron_group(model, n, method, dt, name=name)
    else:
        noisy = replace(model, equations=membrane_noise_equations(model))
        group = make_neuron_group(noisy, n, method, dt, name=name)
        strengths, scales = membrane_noise
        missing = set(model.membrane) - set(scales)
        if missing:
            raise InputError(
                f"Membrane noise needs a scale for each membrane variable; missing "
                f"{sorted(missing)}."
            )
        group.namespace["membrane_noise"] = TimedArray(np.asarray(strengths), dt=window * second)
        group.namespace["noise_dt"] = dt * second
        for var in model.membrane:
            group.namespace[f"noise_scale_{var}"] = float(scales[var])
    for param, value in parameters.items():
        if param in model.inputs:
            continue
        array = np.asarray(value, dtype=np.float64)
        if param not in model.shared_parameters:
            array = np.broadcast_to(array, tuple(shape)).ravel()
        setattr(group, param, as_quantity(array, model.dim(param)))
    initial = model.initial_values(n)
    namespace = {
        f"_initial_{name}_{var}": as_quantity(value, model.dim(var))
        for var, value in initial.items()
    }
    for var, value in initial.items():
        setattr(group, var, as_quantity(value, model.dim(var)))
    restart = "\n".join(f"{var} = _initial_{name}_{var}" for var in model.state_variables)
    group.run_regularly(restart, dt=window * second, when="start", order=1)
    return group, namespace


def layer_parameters(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The neuron parameters stored under ``prefix`` (e.g. ``neurons1.``) in a network file."""
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def event_monitors(group: NeuronGroup, model: NeuronModel, name: str) -> list[EventMonitor]:
    """One monitor per event of ``model``, reading the events at the end of each step."""
    return [
        EventMonitor(group, event, when="end", name=f"{name}_{event}")
        for event in model.event_names
    ]


def event_raster(
    monitors: Sequence[EventMonitor], samples: int, steps: int, n: int, dt: float
) -> np.ndarray:
    """Boolean ``[samples, steps, len(monitors) * n]``: event ``e`` of neuron ``i`` at ``e*n+i``."""
    raster = np.zeros((samples, steps, len(monitors) * n), dtype=bool)
    for e, monitor in enumerate(monitors):
        step = np.rint(np.asarray(monitor.t_) / dt).astype(np.int64)
        raster[step // steps, step % steps, e * n + np.asarray(monitor.i)] = True
    return raster
