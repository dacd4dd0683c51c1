"""A trained conv network rebuilt in Brian2: convolutions as sparse synapses.

::

    pixels  --conv1_j (summed)-->  layer1 [C, 36, 36]   I1_j = conv1_j(x)
    layer1  --pool+conv2_j (on each event, += w)-->  layer2 [C, 18, 18]
    pixels' constant unit --(summed)--> layer2          I2_j = n_events * bias2_j, every step

Neuron ``(c, y, x)`` of a layer has index ``c*H*W + y*W + x``. A spike of layer-1 neuron
``(c, y, x)`` adds ``W2_j[c', c, dy, dx] / 4`` to ``I2_j`` of neuron ``(c', y', x')`` with
``(y // 2, x // 2) = (y' + dy - 1, x' + dx - 1)``: the 2x2 average pool followed by the
3x3 convolution (padding 1), one synapse per term. All of a model's events (the four
sub-neurons of s-LIF2HH) use the same synapses through one pathway each.

Schedule within a step: the projection onto layer 1 and the bias of layer 2 are summed
in the ``groups`` slot; layer 1 updates, thresholds; its spikes reach layer 2 in the
``synapses`` slot; layer 2 then updates, thresholds and resets (``after_synapses``). This
is the torch order (layer 2 sees layer 1's spikes of the same step).
"""

from __future__ import annotations

import math

import numpy as np
from brian2 import Network, Synapses, second

from ..brian.devices import brian2_session
from ..model import load_model
from .brian_parts import event_monitors, event_raster, layer_parameters, neuron_layer, pixel_group
from .network_file import NetworkFile

KERNEL = 3


def conv_from_pixels(weight: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses ``(pre, post, w)`` of a 3x3 convolution (padding 1) of a one-channel image."""
    channels = weight.shape[0]
    c, y, x, dy, dx = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(channels),
            np.arange(size),
            np.arange(size),
            np.arange(KERNEL),
            np.arange(KERNEL),
            indexing="ij",
        )
    )
    py, px = y + dy - 1, x + dx - 1
    ok = (py >= 0) & (py < size) & (px >= 0) & (px < size)
    pre = py[ok] * size + px[ok]
    post = (c[ok] * size + y[ok]) * size + x[ok]
    return pre, post, weight[c[ok], 0, dy[ok], dx[ok]]


def pool_conv_from_layer(
    weights: list[np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Synapses ``(pre, post, [w_j])`` of avgpool2 then a 3x3 convolution, from a ``size`` map."""
    channels = weights[0].shape[0]
    half = size // 2
    pres, posts = [], []
    values: list[list[np.ndarray]] = [[] for _ in weights]
    c, y, x, c2 = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(channels),
            np.arange(size),
            np.arange(size),
            np.arange(channels),
            indexing="ij",
        )
    )
    for dy in range(KERNEL):
        for dx in range(KERNEL):
            y2, x2 = y // 2 - dy + 1, x // 2 - dx + 1
            ok = (y2 >= 0) & (y2 < half) & (x2 >= 0) & (x2 < half)
            pres.append((c[ok] * size + y[ok]) * size + x[ok])
            posts.append((c2[ok] * half + y2[ok]) * half + x2[ok])
            for j, weight in enumerate(weights):
                values[j].append(weight[c2[ok], c[ok], dy, dx] / 4.0)
    return np.concatenate(pres), np.concatenate(posts), [np.concatenate(v) for v in values]


def run_conv(
    network: NetworkFile,
    images: np.ndarray,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    threads: int = 0,
) -> list[np.ndarray]:
    """Spike rasters ``[samples, T, n_events * C * H * W]`` of both layers for ``images``."""
    meta = network.meta
    model = load_model(meta["neuron"])
    steps, dt, channels = int(meta["steps"]), float(meta["dt"]), int(meta["width"])
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    samples, n_pixels = flat.shape
    size = math.isqrt(n_pixels)
    half = size // 2
    window = steps * dt
    events = model.event_names
    inputs = model.inputs
    with brian2_session(device, float_dtype=dtype, threads=threads):
        pixels = pixel_group(flat, dt, window)
        layers, namespace = [], {}
        for k, side in ((1, size), (2, half)):
            group, names = neuron_layer(
                model,
                meta["method"],
                dt,
                window,
                layer_parameters(network.arrays, f"neurons{k}."),
                (channels, side, side),
                f"layer{k}",
            )
            layers.append(group)
            namespace.update(names)
        layer1, layer2 = layers
        layer2.state_updater.when = "after_synapses"
        layer2.state_updater.order = 0
        for event in events:
            layer2.set_event_schedule(event, "after_synapses", order=1)
            if event in layer2.resetter:
                layer2.resetter[event].when = "after_synapses"
                layer2.resetter[event].order = 2

        objects: list[object] = []
        for j, name in enumerate(inputs):
            weight = network[f"conv1.{j}.weight"].astype(np.float64)
            bias = network[f"conv1.{j}.bias"].astype(np.float64)
            pre, post, w = conv_from_pixels(weight, size)
            every = np.arange(channels * size * size)
            pre = np.concatenate([pre, np.full(every.size, n_pixels)])
            post = np.concatenate([post, every])
            w = np.concatenate([w, bias[every // (size * size)]])
            syn = Synapses(
                pixels, layer1, f"w : 1\n{name}_post = w * x_pre : 1 (summed)", name=f"conv1_{j}"
            )
            syn.connect(i=pre, j=post)
            syn.w = w
            objects.append(syn)

            every2 = np.arange(channels * half * half)
            bias2 = network[f"conv2.{j}.bias"].astype(np.float64) * len(events)
            syn = Synapses(
                pixels, layer2, f"w : 1\n{name}_post = w * x_pre : 1 (summed)", name=f"bias2_{j}"
            )
            syn.connect(i=np.full(every2.size, n_pixels), j=every2)
            syn.w = bias2[every2 // (half * half)]
            objects.append(syn)

        weights = [network[f"conv2.{j}.weight"].astype(np.float64) for j in range(len(inputs))]
        pre, post, values = pool_conv_from_layer(weights, size)
        update = "\n".join(f"{name}_post += w_{j}" for j, name in enumerate(inputs))
        pool_conv = Synapses(
            layer1,
            layer2,
            "\n".join(f"w_{j} : 1" for j in range(len(inputs))),
            on_pre={f"pre_{e}": update for e in range(len(events))},
            on_event={f"pre_{e}": event for e, event in enumerate(events)},
            name="pool_conv2",
        )
        pool_conv.connect(i=pre, j=post)
        for j, value in enumerate(values):
            setattr(pool_conv, f"w_{j}", value)
        objects.append(pool_conv)

        monitors = [event_monitors(group, model, f"layer{k + 1}") for k, group in enumerate(layers)]
        net = Network(pixels, *layers, *objects, *monitors[0], *monitors[1])
        with np.errstate(over="ignore"):
            net.run(samples * window * second, namespace=namespace)
        return [
            event_raster(monitors[0], samples, steps, channels * size * size, dt),
            event_raster(monitors[1], samples, steps, channels * half * half, dt),
        ]
