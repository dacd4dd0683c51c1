"""A network description as a NIR graph, in the node forms the peers' importers accept.

:func:`export_nir` writes every part of a ``layered`` network that NIR can express:

* populations of the NIR model files (``nir_lif``, ``nir_cubalif``, ``nir_if``, ``nir_li``,
  ``nir_i``, the threshold unit; a ``nir_synapse`` feeding a ``nir_lif``/``nir_li`` one to one
  as one ``CubaLIF``/``CubaLI``), and the paper's deep-learning LIF (``lif_dl``: the ``LIF``
  whose forward-Euler step at ``dt`` is its map, tau = dt / (1 - decay), r = tau / dt,
  reset to 0: the lazy reset gives the same spikes);
* relay populations, value and spike sources as ``Input`` nodes;
* projections as an ``Affine`` (dense; sparse connectivities and one-to-one written dense),
  a ``Conv2d``, or a pool (``AvgPool2d``/``SumPool2d``) before either, followed by a
  ``Delay`` when the projection has delays (one per target neuron at most); constant
  sources (biases) folded into the ``Affine``/``Conv2d`` bias of a projection onto the
  same population;
* an ``Output`` after every population that projects nowhere (or the ``outputs`` named).

NIR nodes are continuous-time; readers integrate them at a step of their own (snnTorch at
0.1 ms, fixed; Norse at a ``dt`` argument). ``reader_dt`` rescales every time constant (and
the integrators' rates) by ``reader_dt / dt``, so that a reader stepping forward Euler at
``reader_dt`` runs the same discrete map as this network at ``dt``. The graph's metadata
record the network, ``dt``, the methods and the rescaling. Models NIR has no node for (HH,
s-LIF2HH, conductance-based LIF, models in physical units) and synapses that are not a
weighted sum onto the node's input are refused with the reason.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, second
from brian2.units.fundamentalunits import get_dimensions

from ..discretize import tau_from_decay
from ..errors import InputError
from ..io import write_atomic
from ..network import (
    Chain,
    ConstantSource,
    Conv2d,
    Dense,
    Network,
    NetworkPlan,
    OneToOne,
    Pool2d,
    plan_network,
)
from .importer import RELAY_MODEL, nir_module
from .nodes import MEMBRANE_STAGE, NEURON_NODES, SYNAPSE_STAGE

#: models with a NIR node: model name -> NIR node type
NIR_TYPES = {Path(spec.model).stem: spec.nir_type for spec in NEURON_NODES.values()}
REFUSED = {
    "hh": "NIR has no Hodgkin-Huxley neuron",
    "hh_dl": "NIR has no Hodgkin-Huxley neuron",
    "hh_rest0": "NIR has no Hodgkin-Huxley neuron",
    "hh_coba": "NIR has no Hodgkin-Huxley neuron",
    "s_lif2hh": "s-LIF2HH's fourth sub-neuron reads the other sub-neurons' membranes, which "
    "no NIR node does",
    "s_lif2hh_dl": "s-LIF2HH's fourth sub-neuron reads the other sub-neurons' membranes, "
    "which no NIR node does",
    "tv_lif": "NIR's neurons have constant time constants",
    "tv_lif2hh": "NIR's neurons have constant time constants",
    "lif_coba": "NIR has no conductance-based synapse (CubaLIF is current-based)",
}
_SPIKE = re.compile(r"^\s*(\w+)_post\s*\+=\s*w\s*$")
_VALUE = re.compile(r"^\s*(\w+)_post\s*\+=\s*w\s*\*\s*(\w+)_pre\s*$")
_SUMMED = re.compile(r"^\s*(\w+)_post\s*=\s*w\s*\*\s*(\w+)_pre\s*:\s*1\s*\(summed\)\s*$")


def _input_var(plan: NetworkPlan, population: str) -> str:
    return plan.populations[population].model.inputs[0]


def _delivery(plan: NetworkPlan, name: str) -> str:
    """The variable a projection adds its weighted input to (refused if not a plain sum)."""
    projection = plan.projections[name]
    synapse = projection.description.synapse
    lines = [line for line in synapse.model.strip().splitlines() if line.strip()]
    summed = [_SUMMED.match(line) for line in lines if "(summed)" in line]
    on_pre = synapse.on_pre
    statements: list[str] = (
        list(on_pre.values()) if isinstance(on_pre, Mapping) else [on_pre] if on_pre else []
    )
    others = [line for line in lines if "(summed)" not in line and line.replace(" ", "") != "w:1"]
    matches: list[re.Match[str] | None] = [*summed]
    matches += [_SPIKE.match(s) or _VALUE.match(s) for s in statements]
    if (
        others
        or synapse.on_post
        or not matches
        or not all(matches)
        or len({m.group(1) for m in matches if m}) != 1
    ):
        raise InputError(
            f"Projection '{name}' is not expressible in NIR: NIR's edges carry a weighted sum "
            "onto a node's input ('X_post += w', 'X_post += w * v_pre' or 'X_post = w * "
            "x_pre (summed)' with a dimensionless weight 'w : 1'); this synapse has "
            f"model {synapse.model!r}, on_pre {synapse.on_pre!r}, on_post {synapse.on_post!r}."
        )
    variable = next(m.group(1) for m in matches if m)
    wanted = _input_var(plan, projection.target)
    if variable != wanted:
        raise InputError(
            f"Projection '{name}' writes '{variable}' of '{projection.target}'; NIR delivers "
            f"only onto the node's input '{wanted}'."
        )
    return variable


class _Exporter:
    def __init__(self, plan: NetworkPlan, scale: float) -> None:
        self.plan, self.scale, self.nir = plan, scale, nir_module()
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.merged: dict[str, str] = {}  # split synapse stage -> its membrane population
        self.bias_slots: dict[str, list[tuple[str, str]]] = {}  # target -> (node, kind)
        self.pending_biases: list[tuple[str, str]] = []  # constant-source projections

    def values(self, population: str, name: str) -> np.ndarray:
        pop = self.plan.populations[population]
        return np.array(np.broadcast_to(pop.parameters[name], pop.n), dtype=np.float64).reshape(
            pop.shape
        )

    # -- populations -------------------------------------------------------------------------
    def population(self, name: str) -> None:
        pop, nir = self.plan.populations[name], self.nir
        model = pop.model
        if model.name == RELAY_MODEL.stem:  # an imported graph's Input
            self.nodes[name] = nir.Input(input_type={"input": np.array(pop.shape)})
            return
        if model.name == "lif_dl":
            dt = self.plan.dt
            decay, theta = self.values(name, "decay"), self.values(name, "theta")
            tau = np.asarray(tau_from_decay(decay, dt, "euler"), dtype=np.float64)
            self.nodes[name] = nir.LIF(
                tau=tau * self.scale,
                r=tau / dt,
                v_leak=np.zeros(pop.shape),
                v_threshold=theta,
                v_reset=np.zeros(pop.shape),
            )
            return
        if model.name == Path(SYNAPSE_STAGE.model).stem:
            return  # exported with its membrane (see split)
        nir_type = NIR_TYPES.get(model.name)
        if nir_type is None:
            reason = REFUSED.get(model.name, "NIR has no node for it")
            raise InputError(
                f"Population '{name}' (model '{model.name}') has no NIR equivalent: {reason}. "
                "NIR's neurons are LIF, CubaLIF, IF, LI, I and Threshold (models nir_lif, "
                "nir_cubalif, nir_if, nir_li, nir_i, the threshold unit; lif_dl as LIF); save "
                "the spikebridge network file instead."
            )
        spec = NEURON_NODES[nir_type]
        stage = self._synapse_stage(name)
        if stage is not None:
            spec = NEURON_NODES["CubaLIF" if spec.nir_type == "LIF" else "CubaLI"]
            membrane = MEMBRANE_STAGE[spec.nir_type]
            kwargs = {a: self._value(name, p, t) for a, (p, t) in membrane.parameters.items()}
            kwargs |= {
                a: self._value(stage, p, t) for a, (p, t) in SYNAPSE_STAGE.parameters.items()
            }
        else:
            kwargs = {a: self._value(name, p, t) for a, (p, t) in spec.parameters.items()}
        self.nodes[name] = getattr(nir, spec.nir_type)(**kwargs)

    def _value(self, population: str, parameter: str, is_time: bool) -> np.ndarray:
        value = self.values(population, parameter)
        if is_time:
            return value * self.scale
        if parameter == "r" and self.plan.populations[population].model.name in ("nir_if", "nir_i"):
            return value / self.scale  # a rate per second
        return value

    def _synapse_stage(self, membrane: str) -> str | None:
        """The nir_synapse population feeding ``membrane`` one to one (a split CubaLIF)."""
        for projection in self.plan.projections.values():
            source = projection.source
            if (
                projection.target == membrane
                and source in self.plan.populations
                and self.plan.populations[source].model.name == Path(SYNAPSE_STAGE.model).stem
            ):
                weights = projection.weight_parameter
                if not isinstance(projection.description.connectivity, OneToOne) or not (
                    weights is not None and np.all(weights == 1)
                ):
                    raise InputError(
                        f"'{source}' (nir_synapse) feeds '{membrane}' other than one to one "
                        "with weight 1, which is no CubaLIF node."
                    )
                self.merged[source] = membrane
                return source
        return None

    # -- projections -------------------------------------------------------------------------
    def group(self, name: str) -> str:
        """The NIR node of a population or source (a split synapse: its CubaLIF)."""
        if name in self.merged:
            return self.merged[name]
        if name in self.plan.populations:
            return name
        if name not in self.nodes:
            source = self.plan.sources[name]
            self.nodes[name] = self.nir.Input(input_type={"input": np.array(source.shape)})
        return name

    def projection(self, name: str) -> None:
        plan = self.plan.projections[name]
        if plan.source in self.merged and self.merged[plan.source] == plan.target:
            return  # the current inside a CubaLIF node
        _delivery(self.plan, name)
        target = self.group(plan.target)
        if isinstance(self.plan.sources.get(plan.source), ConstantSource):
            self.pending_biases.append((name, target))
            return
        source = self.group(plan.source)
        connectivity = plan.description.connectivity
        nir, chain = self.nir, []
        if (
            isinstance(connectivity, Chain)
            and len(connectivity.maps) == 2
            and isinstance(connectivity.maps[0], Pool2d)
        ):
            chain.append(self._pool(f"{name}_pool", connectivity.maps[0]))
            connectivity = connectivity.maps[1]
        if isinstance(connectivity, Pool2d):
            chain.append(self._pool(f"{name}_pool", connectivity))
        elif isinstance(connectivity, Conv2d):
            weight = np.asarray(plan.weight_parameter, dtype=np.float64)
            bias = np.zeros(weight.shape[0])
            if plan.bias_parameter is not None:
                bias = np.asarray(plan.bias_parameter, dtype=np.float64).copy()
            if len(self._shape(plan.source)) == 2:  # a one-row Conv2d: NIR's Conv1d
                self.nodes[name] = nir.Conv1d(
                    input_shape=int(connectivity.in_shape[2]),
                    weight=weight[:, :, 0, :],
                    stride=int(connectivity.stride[1]),
                    padding=int(connectivity.padding[1]),
                    dilation=1,
                    groups=1,
                    bias=bias,
                )
            else:
                self.nodes[name] = nir.Conv2d(
                    input_shape=tuple(connectivity.in_shape[1:]),
                    weight=weight,
                    stride=tuple(connectivity.stride),
                    padding=tuple(connectivity.padding),
                    dilation=(1, 1),
                    groups=1,
                    bias=bias,
                )
            self.bias_slots.setdefault(target, []).append((name, "conv"))
            chain.append(name)
        else:
            shape = self._shape(plan.source)
            if len(shape) > 1:  # an Affine acts on vectors: flatten (C order) first
                self.nodes[f"{name}_flatten"] = nir.Flatten(
                    input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1
                )
                chain.append(f"{name}_flatten")
            matrix = self._matrix(plan)
            bias = np.zeros(plan.n_post)
            if plan.bias_parameter is not None:
                assert plan.bias_index is not None
                bias = np.asarray(plan.bias_parameter, dtype=np.float64)[plan.bias_index]
            self.nodes[name] = nir.Affine(weight=matrix.T.copy(), bias=bias)
            self.bias_slots.setdefault(target, []).append((name, "affine"))
            chain.append(name)
        delay = self._delay(name)
        if delay is not None:
            self.nodes[f"{name}_delay"] = delay
            chain.append(f"{name}_delay")
        nodes = [source, *chain, target]
        self.edges += list(itertools.pairwise(nodes))

    def _shape(self, group: str) -> tuple[int, ...]:
        if group in self.plan.populations:
            return self.plan.populations[group].shape
        return tuple(self.plan.sources[group].shape)  # type: ignore[arg-type]

    def _pool(self, name: str, pool: Pool2d) -> str:
        kind = self.nir.AvgPool2d if pool.mode == "avg" else self.nir.SumPool2d
        stride = pool.stride or pool.kernel_size
        self.nodes[name] = kind(
            kernel_size=np.array(pool.kernel_size),
            stride=np.array(stride),
            padding=np.array([0, 0]),
        )
        return name

    def _matrix(self, plan: Any) -> np.ndarray:
        """Any other connectivity as its dense ``[n_pre, n_post]`` matrix (sparse as dense)."""
        if isinstance(plan.description.connectivity, Dense):
            return np.asarray(plan.weight_parameter, dtype=np.float64).reshape(
                plan.n_pre, plan.n_post
            )
        arrays = plan.synapses
        matrix = np.zeros((plan.n_pre, plan.n_post))
        np.add.at(matrix, (arrays.pre, arrays.post), arrays.weights(plan.weight_parameter))
        return matrix

    def _delay(self, name: str) -> Any:
        plan = self.plan.projections[name]
        steps = plan.delay_steps
        if isinstance(steps, np.ndarray):
            post = plan.synapses.post
            per_post = np.zeros(plan.n_post)
            per_post[post] = steps[: len(post)]
            if not np.array_equal(per_post[post], steps[: len(post)]):
                raise InputError(
                    f"Projection '{name}' has per-synapse delays that differ for one target "
                    "neuron; NIR's Delay node has one delay per element."
                )
        elif steps == 0:
            return None
        else:
            per_post = np.full(plan.n_post, float(steps))
        shape = (
            self.plan.populations[plan.target].shape
            if plan.target in self.plan.populations
            else (plan.n_post,)
        )
        return self.nir.Delay(delay=(per_post * self.plan.dt * self.scale).reshape(shape))

    def fold_biases(self) -> None:
        """Constant-source projections as the bias of a weighted node onto the same target."""
        for name, target in self.pending_biases:
            plan = self.plan.projections[name]
            source = self.plan.sources[plan.source]
            assert isinstance(source, ConstantSource)
            values = plan.synapses.weights(plan.weight_parameter) * float(source.value)
            bias = np.zeros(plan.n_post)
            np.add.at(bias, plan.synapses.post, values)
            if not np.any(bias):
                continue
            slots = self.bias_slots.get(target, [])
            if not slots:
                raise InputError(
                    f"The bias '{name}' onto '{target}' has no weighted projection onto the "
                    "same population to carry it (NIR biases belong to Affine and Conv2d)."
                )
            node_name, kind = slots[0]
            node = self.nodes[node_name]
            if kind == "affine":
                node.bias = node.bias + bias
                continue
            shape = self.plan.populations[target].shape
            per_channel = bias.reshape(shape)
            if not np.all(per_channel == per_channel[:, :1, :1]):
                raise InputError(
                    f"The bias '{name}' onto '{target}' is not one value per channel, which a "
                    "Conv2d bias cannot carry."
                )
            node.bias = node.bias + per_channel[:, 0, 0]

    # -- reader forms ------------------------------------------------------------------------
    def unit_resistance(self) -> None:
        """r = 1 on every LIF/LI node, its r folded into the weights and biases of the
        edges onto it (the same node input r I); Norse's LIF reads no r."""
        for name, node in self.nodes.items():
            kind = type(node).__name__
            if kind not in ("LIF", "LI") or np.all(node.r == 1):
                continue
            for pred in [a for a, b in self.edges if b == name]:
                weighted = pred
                while type(self.nodes[weighted]).__name__ == "Delay":
                    weighted = next(a for a, b in self.edges if b == weighted)
                carrier = self.nodes[weighted]
                r = np.asarray(node.r, dtype=np.float64)
                if type(carrier).__name__ == "Affine":
                    carrier.weight = carrier.weight * r.reshape(-1)[:, None]
                    carrier.bias = carrier.bias * r.reshape(-1)
                elif type(carrier).__name__ == "Conv2d" and np.all(
                    r == r.reshape(r.shape[0], -1)[:, :1].reshape(-1, 1, 1)
                ):
                    per_channel = r.reshape(r.shape[0], -1)[:, 0]
                    carrier.weight = carrier.weight * per_channel[:, None, None, None]
                    carrier.bias = carrier.bias * per_channel
                else:
                    raise InputError(
                        f"NIR node '{name}' has r != 1 and an input ('{pred}') whose weights "
                        "cannot carry it; this reader needs r = 1."
                    )
            node.r = np.ones_like(node.r)

    def sum_pools(self) -> None:
        """Average pools as sum pools, the following convolution's weights divided by the
        pool's area (the same map; Norse reads no AvgPool2d)."""
        for name, node in list(self.nodes.items()):
            if type(node).__name__ != "AvgPool2d":
                continue
            after = [b for a, b in self.edges if a == name]
            if len(after) != 1 or type(self.nodes[after[0]]).__name__ != "Conv2d":
                raise InputError(
                    f"The average pool '{name}' feeds no single Conv2d that could take its "
                    "1/area; this reader has no AvgPool2d."
                )
            conv = self.nodes[after[0]]
            conv.weight = conv.weight / float(np.prod(node.kernel_size))
            self.nodes[name] = self.nir.SumPool2d(
                kernel_size=node.kernel_size, stride=node.stride, padding=node.padding
            )


#: reader presets: the reader's fixed step (snnTorch), the node forms it reads (Norse)
READERS = ("nir", "snntorch", "norse")
SNNTORCH_DT = 1e-4


def export_nir(
    network: Network | NetworkPlan,
    *,
    reader: str = "nir",
    reader_dt: Quantity | None = None,
    outputs: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """The ``nir.NIRGraph`` of ``network`` (module docstring). ``reader``: ``"nir"`` (the
    nodes as they are), ``"snntorch"`` (``reader_dt`` 0.1 ms unless given: snnTorch's
    importer steps at 0.1 ms) or ``"norse"`` (r folded into the weights, average pools as
    sum pools; give Norse's ``from_nir`` the ``reader_dt``)."""
    if reader not in READERS:
        raise InputError(f"reader must be one of {', '.join(READERS)}, got {reader!r}.")
    if reader == "snntorch" and reader_dt is None:
        reader_dt = SNNTORCH_DT * second
    plan = network if isinstance(network, NetworkPlan) else plan_network(network)
    if plan.network.schedule != "layered":
        raise InputError(
            f"Network '{plan.name}' runs Brian2's schedule (a spike acts from the next step); "
            "NIR's readers deliver feed-forward spikes within the step, as the 'layered' "
            "schedule does. Export a network with schedule='layered'."
        )
    if reader_dt is not None and (
        get_dimensions(reader_dt) is not second.dim
        or not np.isfinite(float(reader_dt))
        or float(reader_dt) <= 0
    ):
        raise InputError(f"reader_dt must be a positive time (e.g. 1 * ms), got {reader_dt!r}.")
    scale = 1.0 if reader_dt is None else float(reader_dt / second) / plan.dt
    exporter = _Exporter(plan, scale)
    for name in plan.populations:
        exporter.population(name)
    for name in plan.projections:
        exporter.projection(name)
    exporter.fold_biases()
    if reader == "norse":
        exporter.unit_resistance()
        exporter.sum_pools()
    nir = exporter.nir
    sources = {p.source for p in plan.projections.values()}
    names = (
        list(outputs)
        if outputs is not None
        else [p for p in plan.populations if p not in sources and p not in exporter.merged]
    )
    for name in names:
        if name not in plan.populations:
            raise InputError(f"outputs name '{name}', which is not a population.")
        shape = plan.populations[name].shape
        exporter.nodes[f"{name}_output"] = nir.Output(output_type={"output": np.array(shape)})
        exporter.edges.append((name, f"{name}_output"))
    info = {
        "source": "spikebridge",
        "network": plan.name,
        "dt": plan.dt,
        "reader_dt": plan.dt * scale,
        "time_scale": scale,
        "methods": ",".join(sorted({p.method for p in plan.populations.values()})),
        "schedule": "layered",
        "reader": reader,
        **(metadata or {}),
    }
    return nir.NIRGraph(nodes=exporter.nodes, edges=exporter.edges, metadata=info, type_check=False)


def save_nir(path: str | Path, graph: Any) -> Path:
    """Write a NIR graph (HDF5, ``nir.write``) atomically."""
    nir = nir_module()
    return write_atomic(path, lambda tmp: nir.write(tmp, graph))
