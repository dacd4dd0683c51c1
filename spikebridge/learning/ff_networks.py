"""The default networks of spiking Forward-Forward: chains of populations of one model.

:func:`ff_network` builds ``widths`` populations of a model in a chain: the image (a value
source with a constant unit) onto the first through a dense summed projection with a
bias, each population onto the next through a dense ``on_pre`` pathway (``I_post += w``)
plus a bias from a constant source; weights drawn as ``torch.nn.Linear``'s.
:data:`FF_SETTINGS` holds per model the settings the benchmarks use (LIF: snnTorch
``Leaky``'s beta 0.9 and threshold 1; the paper's deep HH at dt 0.1 as its conv net, with
threshold 3 and the weights drawn x5, so that about half its neurons fire at the start,
as LIF's do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brian2 import ms
from torch import nn

from ..checks import count, positive
from ..errors import InputError
from ..model import load_model
from ..network import ConstantSource, Dense, Network, Population, Projection, Synapse, ValueSource

IMAGE = "image"

#: per model: population parameters, dt (ms; None: the model's) and the weights' scale
FF_SETTINGS: dict[str, dict[str, Any]] = {
    "lif_dl": {"parameters": {"decay": 0.9, "theta": 1.0}, "dt_ms": None, "weight_scale": 1.0},
    "hh_dl": {"parameters": {"theta": 3.0}, "dt_ms": 0.1, "weight_scale": 5.0},
}


def _summed(variable: str) -> Synapse:
    return Synapse(f"w : 1\n{variable}_post = w * x_pre : 1 (summed)")


def ff_network(
    model: str,
    widths: tuple[int, ...],
    *,
    steps: int = 10,
    parameters: Mapping[str, Any] | None = None,
    dt_ms: float | None = None,
    weight_scale: float = 1.0,
    pixels: int = 784,
    seed: int = 0,
) -> Network:
    """``widths`` populations of ``model`` in a chain (module docstring); the weights from
    torch's global generator (nn.Linear's draw), times ``weight_scale`` (biases too);
    ``seed`` seeds the model's random parameters."""
    if not widths:
        raise InputError("A Forward-Forward network needs at least one layer (widths).")
    neuron = load_model(model)
    dt = neuron.dt if dt_ms is None else positive(dt_ms, "dt_ms") * ms
    populations, projections = [], []
    previous, n_in = IMAGE, int(pixels)
    for k, width in enumerate(widths):
        name = f"layer{k + 1}"
        width = count(width, "widths")
        populations.append(
            Population(name, neuron, width, parameters=dict(parameters or {}), seed=seed + k)
        )
        for j, variable in enumerate(neuron.inputs):
            linear = nn.Linear(n_in, width)
            weight = linear.weight.detach().double().numpy().T.copy() * weight_scale
            bias = linear.bias.detach().double().numpy() * weight_scale
            if k == 0:
                projections.append(
                    Projection(
                        f"input_{j}",
                        IMAGE,
                        name,
                        _summed(variable),
                        Dense(),
                        weights=weight,
                        bias=bias,
                        trainable=True,
                    )
                )
                continue
            projections.append(
                Projection(
                    f"{previous}_{name}_{j}",
                    previous,
                    name,
                    Synapse("w : 1", on_pre=f"{variable}_post += w"),
                    Dense(),
                    weights=weight,
                    trainable=True,
                )
            )
            projections.append(
                Projection(
                    f"bias_{name}_{j}",
                    "unit",
                    name,
                    _summed(variable),
                    Dense(),
                    weights=bias[None, :],
                    trainable=True,
                )
            )
        previous, n_in = name, width
    sources: list[Any] = [ValueSource(IMAGE, pixels, constant_unit=True)]
    if len(widths) > 1:
        sources.append(ConstantSource("unit", 1, 1.0))
    return Network(
        f"ff_{model}",
        dt,
        tuple(populations),
        tuple(sources),
        tuple(projections),
        schedule="layered",
        duration=steps * dt,
        doc=f"Forward-Forward {model} network {'x'.join(map(str, widths))} "
        "(spikebridge.learning.forward_forward_spiking.ff_network).",
    )


def preset_network(model: str, widths: tuple[int, ...], steps: int, seed: int = 0) -> Network:
    """:func:`ff_network` with the model's :data:`FF_SETTINGS` (any other model: its own)."""
    settings = FF_SETTINGS.get(model, {})
    return ff_network(
        model,
        widths,
        steps=steps,
        parameters=settings.get("parameters"),
        dt_ms=settings.get("dt_ms"),
        weight_scale=settings.get("weight_scale", 1.0),
        seed=seed,
    )
