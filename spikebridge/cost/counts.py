"""Operation counts of the networks: the spiking nets' from their network descriptions, the
binary nets' and the heads' by hooks on the layers (see the package)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..checks import count
from ..errors import InputError
from ..nets import NETS, STEPS, BinaryCNN, BinaryFC, SpikingConv, SpikingFC, TaskHeads, build_net
from ..nets import count_parameters as _count_parameters
from ..nets.base import MultiTaskNet
from ..nets.specs import IMAGE_SIZE
from ..network.connectivity import Chain, ChannelBias, Connectivity, Conv2d, Dense, Pool2d
from ..network.plan import ProjectionPlan

#: (MUL, ADD) per neuron (s-LIF2HH: per unit of four sub-neurons) and time step.
NEURON_OPS: dict[str, tuple[int, int]] = {
    "lif_dl": (3, 3),
    "hh_dl": (23, 16),
    "s_lif2hh_dl": (15, 14),
}
#: The paper's counter output, M operations (ADD, MUL): ``calculate_flops/cal_flops.ipynb``
#: of helx-20/complexity (the digest's table rounds these to 3 decimals).
PAPER_FIGURES: dict[str, tuple[float, float]] = {
    "lif-fc": (9.99419, 10.00192),
    "hh-fc": (10.09403, 10.15552),
    "s-lif2hh-fc": (30.04667, 30.07744),
    "4lif-fc": (39.97691, 40.00768),
    "lif-conv": (6.65005, 6.8931),
    "hh-conv": (9.80905, 11.7531),
    "s-lif2hh-conv": (21.20575, 22.032),
    "4lif-conv": (79.08835, 80.0604),
}
POOL_OPS = (1, 3)  # (MUL, ADD) per output of a 2x2 average pool; not counted


@dataclass(frozen=True)
class Part:
    """One counted (or listed but uncounted) piece of a network's computation."""

    name: str  # module path in the network, or a description
    kind: str  # synapse, neurons, readout, head, pool, merge, rate
    mul: int  # per application
    add: int  # per application
    times: int  # applications per image: T for per-step parts, else 1
    counted: bool  # part of the paper's convention


@dataclass
class _Probe:
    """Output shapes of the binary nets' and the heads' layers on a batch of one image."""

    outputs: dict[nn.Module, torch.Size]


def _probe(net: MultiTaskNet) -> _Probe:
    probe = _Probe({})

    def layer_hook(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
        probe.outputs[module] = output.shape

    handles = [
        module.register_forward_hook(layer_hook)
        for module in net.modules()
        if isinstance(module, nn.Linear | nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE))
    finally:
        for handle in handles:
            handle.remove()
    return probe


def _fan_in(module: nn.Module) -> int:
    assert isinstance(module, nn.Linear | nn.Conv2d)
    return int(module.weight[0].numel())


def _projection_fan_in(connectivity: Connectivity, n_pre: int) -> int:
    """Inputs summed per output of a projection's linear map (the paper's convention)."""
    if isinstance(connectivity, Chain):
        weighted = [m for m in connectivity.maps if not isinstance(m, Pool2d)]
        return _projection_fan_in(weighted[0], n_pre)
    if isinstance(connectivity, Conv2d):
        kh, kw = connectivity.kernel_size
        return connectivity.in_shape[0] * kh * kw
    if isinstance(connectivity, Dense):
        return n_pre
    raise TypeError(f"No operation count for {type(connectivity).__name__} projections.")


def _spiking_stages(net: SpikingFC | SpikingConv) -> list[tuple[str, list[ProjectionPlan], Any]]:
    """Each spiking layer of a paper net's description: its input projections (one per model
    input; the conv biases, drives from a constant source, are not synaptic operations)."""
    plan = net.network.plan
    stages = []
    for population in plan.populations.values():
        inputs = [
            p
            for p in plan.projections.values()
            if p.target == population.name
            and p.weight_parameter is not None
            and not isinstance(p.description.connectivity, ChannelBias)
        ]
        stages.append((population.name, inputs, population))
    return stages


def _binary_stages(net: BinaryFC | BinaryCNN) -> list[nn.Module]:
    return [net.hidden] if isinstance(net, BinaryFC) else [net.conv1, net.conv2]


def network_parts(net: MultiTaskNet, *, paper_quirks: bool = False) -> list[Part]:
    """The parts of ``net``'s computation per image: the spiking nets' synapses and neurons
    sized from their network description, the binary nets' and the heads' layers by hooks
    on a forward pass."""
    probe = _probe(net)
    names = {module: name for name, module in net.named_modules()}
    spec = net.spec
    steps = net.steps if spec.spiking else 1
    quirk = paper_quirks and spec.neuron == "s_lif2hh_dl" and spec.body == "conv"
    parts: list[Part] = []
    pooled, events = 0, 1  # the previous conv stage's pooled output and its event maps
    if isinstance(net, SpikingFC | SpikingConv):
        for index, (name, projections, population) in enumerate(_spiking_stages(net)):
            if pooled and events > 1:  # s-LIF2HH-conv sums the pooled event maps for layer 2
                added = (events - 1) * pooled // events
                parts.append(Part(f"sum of {events} event maps", "merge", 0, added, steps, False))
            for projection in projections:
                fan_in = _projection_fan_in(
                    projection.description.connectivity, projection.synapses.n_pre
                )
                n_out = population.n
                mul, add = n_out * fan_in, n_out * (fan_in - 1)
                if net.synapse == "adder" and projection.source == "pixels":
                    # K subtractions, K - 1 additions and the centre's addition; one gain
                    mul, add = n_out, n_out * 2 * fan_in
                if quirk and index == 1:  # the paper counts layer 2's ADD as its MUL
                    mul = add
                parts.append(Part(projection.name, "synapse", mul, add, steps, True))
            mul_n, add_n = NEURON_OPS[population.model.name]
            parts.append(
                Part(name, "neurons", population.n * mul_n, population.n * add_n, steps, True)
            )
            events = len(population.model.event_names)
            if spec.body == "conv":
                pooled = population.n * events // 4
                mul_p, add_p = pooled * POOL_OPS[0], pooled * POOL_OPS[1]
                parts.append(Part(f"avgpool {index + 1}", "pool", mul_p, add_p, steps, False))
    else:
        assert isinstance(net, BinaryFC | BinaryCNN)
        for index, synapse in enumerate(_binary_stages(net)):
            fan_in = _fan_in(synapse)
            n_out = int(probe.outputs[synapse][1:].numel())
            parts.append(
                Part(names[synapse], "synapse", n_out * fan_in, n_out * (fan_in - 1), 1, True)
            )
            if spec.body == "conv":
                pooled = n_out // 4
                mul_p, add_p = pooled * POOL_OPS[0], pooled * POOL_OPS[1]
                parts.append(Part(f"avgpool {index + 1}", "pool", mul_p, add_p, 1, False))
    readout = net.get_submodule("readout")
    assert isinstance(readout, TaskHeads)
    feature = readout.feature
    if spec.spiking:
        rates = feature.in_features
        parts.append(Part("time-mean", "rate", rates, rates * (steps - 1), 1, False))
    for module, kind, counted in [(feature, "readout", True)] + [
        (head, "head", False) for head in readout.heads
    ]:
        fan_in = _fan_in(module)
        n_out = int(probe.outputs[module][1:].numel())
        parts.append(Part(names[module], kind, n_out * fan_in, n_out * (fan_in - 1), 1, counted))
    return parts


def _totals(parts: Sequence[Part]) -> tuple[int, int]:
    """(ADD, MUL) of the counted parts, each times its applications."""
    add = sum(p.add * p.times for p in parts if p.counted)
    mul = sum(p.mul * p.times for p in parts if p.counted)
    return add, mul


def frozen_constants(net: nn.Module) -> int:
    """Non-trainable random per-neuron constants of the spiking layers (e.g. the HH gate rates),
    counted as distinct values: the conv nets draw them per image column, as the paper does."""
    if not isinstance(net, SpikingFC | SpikingConv):
        return 0
    total = 0
    for population in net.network.plan.populations.values():
        for name in population.model.random_parameters:
            value = np.asarray(population.parameters[name])
            if name not in population.trainable and value.ndim >= 1:
                total += len(np.unique(value))
    return total


def count_costs(
    name: str, *, steps: int = STEPS, paper_quirks: bool = False, synapse: str = "multiply"
) -> dict[str, Any]:
    """Parameters and operations of network ``name`` per image, in M operations; ``synapse``:
    its input layer's (an adder layer: no multiplication per synapse, two additions).

    ``add_m``/``mul_m``/``ops_m`` follow ``paper_quirks`` (default: corrected);
    ``paper_add_m``/``paper_mul_m``/``paper_ops_m`` are always the paper's counter,
    quirks included. ``parts`` lists every piece, counted or not (module docstring).
    """
    if steps < 1:
        raise InputError(f"Need steps >= 1; got {steps}.")
    with torch.random.fork_rng():  # the weights do not matter; keep the caller's RNG
        torch.manual_seed(0)
        net = build_net(name, steps=steps, synapse=synapse)
    parts = network_parts(net, paper_quirks=paper_quirks)
    add, mul = _totals(parts)
    paper_add, paper_mul = _totals(network_parts(net, paper_quirks=True))
    return {
        "name": name,
        "synapse": synapse,
        "steps": steps if net.spec.spiking else 1,
        "params": _count_parameters(net),
        "frozen": frozen_constants(net),
        "paper_quirks": paper_quirks,
        "add_m": add / 1e6,
        "mul_m": mul / 1e6,
        "ops_m": (add + mul) / 1e6,
        "paper_add_m": paper_add / 1e6,
        "paper_mul_m": paper_mul / 1e6,
        "paper_ops_m": (paper_add + paper_mul) / 1e6,
        "parts": [asdict(part) for part in parts],
    }


def _ratio(table: dict[str, dict[str, Any]], key: str, a: str, b: str) -> float | None:
    if a not in table or b not in table:
        return None
    value_a, value_b = table[a][key], table[b][key]
    return float(value_a / value_b) if value_b else None


def cost_table(steps: int = STEPS, synapse: str = "multiply") -> dict[str, Any]:
    """:func:`count_costs` of all ten networks (with adder input synapses: the eight spiking
    ones), plus HH/s-LIF2HH and HH/4LIF ratios."""
    steps = count(steps, "steps")
    names = [n for n in NETS if synapse == "multiply" or NETS[n].spiking]
    models = {name: count_costs(name, steps=steps, synapse=synapse) for name in names}
    ratios = {
        body: {
            f"{key}_hh_over_{other.replace('-', '')}": _ratio(
                models, key, f"hh-{body}", f"{other}-{body}"
            )
            for other in ("s-lif2hh", "4lif")
            for key in ("ops_m", "paper_ops_m", "params")
        }
        for body in ("fc", "conv")
    }
    return {
        "steps": steps,
        "synapse": synapse,
        "unit": "M operations per image",
        "models": models,
        "ratios": ratios,
    }
