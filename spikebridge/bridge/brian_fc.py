"""A trained fc network rebuilt in Brian2: pixel group, projection synapses, spiking layer.

::

    pixels:  NeuronGroup(1296 + 1, "x : 1")       x = image pixel (the last unit is 1: the bias)
    proj_j:  Synapses(pixels, hidden, "w : 1; I_j_post = w * x_pre : 1 (summed)")
    hidden:  NeuronGroup of the model file (the same one the torch layer uses)

Samples run back to back in one simulation of ``samples x T`` steps, each in a window
of ``T`` steps: at the window's first step (``start`` slot) the pixel group loads the
next image from a ``TimedArray`` and the hidden group returns to its initial state.
Within a step Brian2 then runs the summed projection (``groups`` slot, before the
group), the state update, the thresholders and the resets, which is the order of the
torch step, so float64 runs agree spike for spike. The readout (mean spike rates ->
feature -> task heads) is affine and is applied to the spike raster Brian2 records.
"""

from __future__ import annotations

import numpy as np
from brian2 import Network, Synapses, TimedArray, second
from brian2 import seed as brian2_seed

from ..brian.devices import brian2_session
from ..errors import InputError
from ..model import load_model
from .brian_parts import event_monitors, event_raster, layer_parameters, neuron_layer, pixel_group
from .network_file import NetworkFile
from .perturb import NoiseSchedule, weight_factors


def run_fc(
    network: NetworkFile,
    images: np.ndarray,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    threads: int = 0,
    schedule: NoiseSchedule | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Spikes ``[samples, T, n_events * width]`` (bool) of the hidden layer for ``images``.

    With a ``schedule`` (:mod:`.perturb`) every image runs once per level and the raster
    has ``schedule.windows`` rows, level-major; ``seed`` seeds Brian2's random numbers and
    the weight factors. Spike deletion is left to the caller (it acts on the raster).
    """
    meta = network.meta
    model = load_model(meta["neuron"])
    steps, dt, width = int(meta["steps"]), float(meta["dt"]), int(meta["width"])
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if schedule is not None:
        if schedule.samples != len(flat):
            raise InputError(
                f"The noise schedule is for {schedule.samples} samples, got {len(flat)} images."
            )
        flat = np.tile(flat, (len(schedule.levels), 1))
    samples, n_pixels = flat.shape
    window = steps * dt
    perturbed = schedule is not None
    with brian2_session(device, float_dtype=dtype, threads=threads):
        if perturbed:
            brian2_seed(seed)
        pixels = pixel_group(
            flat,
            dt,
            window,
            schedule.per_window("input") if schedule and schedule.uses("input") else None,
        )
        hidden, namespace = neuron_layer(
            model,
            meta["method"],
            dt,
            window,
            layer_parameters(network.arrays, "neurons."),
            (width,),
            "hidden",
            schedule.membrane_noise() if schedule is not None else None,
        )
        weight_noise = schedule is not None and schedule.uses("weight")
        projections = []
        rows = np.repeat(np.arange(n_pixels + 1), width)
        cols = np.tile(np.arange(width), n_pixels + 1)
        for k, name in enumerate(model.inputs):
            weight = network[f"projections.{k}.weight"].astype(np.float64)  # [width, n_pixels]
            bias = network[f"projections.{k}.bias"].astype(np.float64)
            matrix = np.concatenate([weight.T, bias[None, :]], axis=0)  # [n_pixels + 1, width]
            if weight_noise:
                summed = f"{name}_post = w * (1 + weight_noise(t) * eps) * x_pre : 1 (summed)"
                equations = f"w : 1\neps : 1\n{summed}"
            else:
                equations = f"w : 1\n{name}_post = w * x_pre : 1 (summed)"
            synapses = Synapses(pixels, hidden, equations, name=f"proj_{k}", dt=dt * second)
            synapses.connect(i=rows, j=cols)
            synapses.w = matrix.ravel()
            if weight_noise:
                assert schedule is not None
                eps = weight_factors(matrix.shape, seed, k)
                eps[-1] = 0.0  # the biases stay exact
                synapses.eps = eps.ravel()
                synapses.namespace["weight_noise"] = TimedArray(
                    schedule.per_window("weight"), dt=window * second
                )
            projections.append(synapses)
        monitors = event_monitors(hidden, model, "hidden")
        net = Network(pixels, hidden, *projections, *monitors)
        with np.errstate(over="ignore"):
            net.run(samples * window * second, namespace=namespace)
        return event_raster(monitors, samples, steps, width, dt)
