"""A NIR graph as a network description, run by both engines.

:func:`import_nir` turns a NIR graph into a :class:`~spikebridge.network.Network`:

* every neuron node becomes a population of its model file (:mod:`.nodes`), its parameters
  per neuron (uniform ones as one value), integrated with the given ``method``;
* every ``Input`` node becomes a relay population (``spikebridge/nir/models/nir_relay.py``)
  whose input ``I`` the data drive step by step (spikes as 0/1);
* every chain of operator nodes from a spiking or valued node (or an input) to a neuron
  node becomes one projection: its linear part as the connectivity and weights (a dense
  matrix for ``Affine``/``Linear`` with ``Scale``/``Flatten`` around it, ``Conv2d``,
  ``Conv1d`` as a one-row ``Conv2d``, a pool then a convolution as a ``Chain``; any other
  chain as the exact matrix it makes, dense or sparse), its ``Delay`` nodes as the
  projection's delays in whole steps; spikes add ``w`` to the target's input
  (``I_post += w``), valued nodes add ``w * value_pre`` at every step;
* the constants of all chains onto a neuron node (the ``Affine`` and convolution biases,
  as the operators give them at zero input) become one summed projection from a constant
  source, which also sets the node's input afresh at every step;
* the ``layered`` schedule (the deep-learning order of snnTorch and Norse): a node sees
  its forward inputs of the same step, recurrent edges the previous step's.

NIR carries neither a time step nor an integration method, so ``dt`` and ``method`` are
arguments. Values are dimensionless and NIR's times are seconds. An input held over a step
is the convention of snnTorch and Norse (a spike counts 1 in the step it occurs);
``method="euler"`` with ``cuba="split"`` is their discretisation. ``Output`` nodes are read
after the run (:meth:`ImportedGraph.run`): a population's spikes or value, or what the
operators in front of the output make of them.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from brian2 import Quantity, second
from brian2.units.fundamentalunits import get_dimensions

from ..errors import InputError
from ..network import (
    Chain,
    ConstantSource,
    Conv2d,
    Dense,
    Network,
    NetworkResult,
    OneToOne,
    Pool2d,
    Population,
    Projection,
    Sparse,
    Synapse,
    simulate_network,
)
from ..network.description import RESERVED
from . import ops
from .graph import FlatGraph, flatten_graph
from .models import model_path
from .nodes import MEMBRANE_STAGE, NEURON_NODES, SYNAPSE_STAGE, NeuronNode

RELAY_MODEL = model_path("nir_relay")
METHODS = ("exact", "euler")
CUBA = ("joint", "split")
#: the largest matrix (n_pre x n_post) an unstructured chain of operators is made into
MAX_MATRIX = 25_000_000


@dataclass(frozen=True)
class Emitter:
    """What a node sends on: a population's event, and the variable it carries (None for
    spikes)."""

    population: str
    event: str
    value: str | None


@dataclass(frozen=True, eq=False)
class ImportedGraph:
    """A NIR graph as a network description, with the map between the two."""

    network: Network
    graph: FlatGraph
    #: NIR node -> the population that emits its output
    populations: Mapping[str, str]
    emitters: Mapping[str, Emitter]
    #: NIR Input node -> its relay population
    inputs: Mapping[str, str]
    #: NIR Output node names
    outputs: tuple[str, ...]
    method: str
    cuba: str

    def run(
        self,
        inputs: Mapping[str, Any],
        *,
        engine: str = "torch",
        device: str | None = None,
        dtype: str = "float64",
        **options: Any,
    ) -> ImportedRun:
        """Run the graph on ``inputs`` (per Input node: ``[T, *shape]`` or ``[T, batch,
        *shape]``, spikes as 0/1) on ``engine`` (``brian2`` or ``torch``; ``options`` go to
        :func:`~spikebridge.network.simulate_network`)."""
        missing = set(self.inputs) - set(inputs)
        unknown = set(inputs) - set(self.inputs)
        if missing or unknown:
            raise InputError(
                f"The graph's inputs are {sorted(self.inputs)}; missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}."
            )
        drives, batch, steps = {}, None, None
        for name, value in inputs.items():
            shape = self.graph.shapes[name]
            data = np.asarray(value, dtype=np.float64)
            if data.shape[1:] == shape:
                data = data[:, None]
            if data.ndim != len(shape) + 2 or data.shape[2:] != shape:
                raise InputError(
                    f"Input '{name}' needs [T, *{shape}] or [T, batch, *{shape}] values, got "
                    f"shape {np.shape(value)}."
                )
            if (batch, steps) not in ((None, None), (data.shape[1], data.shape[0])):
                raise InputError("All inputs need the same number of steps and trials.")
            steps, batch = data.shape[0], data.shape[1]
            flat = data.reshape(steps, batch, -1)
            drives[f"{self.inputs[name]}.I"] = np.ascontiguousarray(np.moveaxis(flat, 1, 0))
        assert steps is not None and batch is not None
        record = sorted(
            {f"{e.population}.{e.value}" for e in self.emitters.values() if e.value}
            - {f"{p}.I" for p in self.inputs.values()}
        )
        result = simulate_network(
            self.network,
            engine=engine,
            device=device,
            dtype=dtype,
            n_steps=steps,
            trials=batch,
            inputs=drives,
            record=record,
            **options,
        )
        values = {name: self._emitted(name, result, drives) for name in self.emitters}
        outputs = {name: self._evaluate(name, values, {}) for name in self.outputs}
        return ImportedRun(result, values, outputs)

    # -- reading a run -----------------------------------------------------------------------
    def _emitted(
        self, node: str, result: NetworkResult, drives: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """What NIR node ``node`` emitted at every step, ``[T, batch, *shape]``."""
        emitter = self.emitters[node]
        shape = self.graph.shapes[node]
        n_steps, trials = result.n_steps, result.trials
        if node in self.inputs:
            data = drives[f"{emitter.population}.I"]
        elif emitter.value is None:
            rows = result.events(emitter.population, emitter.event)
            data = np.zeros((trials, n_steps, int(np.prod(shape))))
            data[rows[:, 0], rows[:, 1], rows[:, 2]] = 1.0
        else:
            data = result.traces[f"{emitter.population}.{emitter.value}"]
        return np.moveaxis(data, 0, 1).reshape(n_steps, trials, *shape)

    def _evaluate(
        self, node: str, values: Mapping[str, np.ndarray], memo: dict[str, np.ndarray]
    ) -> np.ndarray:
        """The value of a node's output at every step (operators applied to what arrives)."""
        if node in memo:
            return memo[node]
        if node in values and self.graph.kinds[node] != "output":
            return values[node]
        arriving = [self._evaluate(p, values, memo) for p in self.graph.predecessors(node)]
        total = arriving[0] if len(arriving) == 1 else np.sum(arriving, axis=0)
        kind = self.graph.kinds[node]
        if kind == "operator":
            graph_node = self.graph.nodes[node]
            if type(graph_node).__name__ == "Delay":
                total = _shift(total, _delay_steps(graph_node, self.network.dt, node, uniform=True))
            else:
                steps, trials = total.shape[:2]
                x = torch.as_tensor(total.reshape(steps * trials, *total.shape[2:]))
                with torch.no_grad():
                    y = ops.apply(graph_node, x).numpy()
                total = y.reshape(steps, trials, *y.shape[1:])
        memo[node] = total
        return total


@dataclass(frozen=True, eq=False)
class ImportedRun:
    """A run of an imported graph: the engine's result, each emitting node's output and
    each Output node's value, ``[T, batch, *shape]``."""

    result: NetworkResult
    emitted: Mapping[str, np.ndarray]
    outputs: Mapping[str, np.ndarray]


def _shift(values: np.ndarray, steps: int) -> np.ndarray:
    if steps == 0:
        return values
    shifted = np.zeros_like(values)
    shifted[steps:] = values[:-steps]
    return shifted


def _delay_steps(node: Any, dt: Quantity, name: str, *, uniform: bool) -> Any:
    """A Delay node's delays in whole steps of ``dt`` (one int if ``uniform``)."""
    delay = np.asarray(node.delay, dtype=np.float64)
    steps = delay / float(dt / second)
    whole = np.round(steps)
    if not np.allclose(steps, whole, rtol=0, atol=1e-6) or (whole < 0).any():
        raise InputError(
            f"Delay node '{name}': delays {delay.ravel()[:4]} s are not whole steps of dt = "
            f"{dt}; import with a dt that divides them."
        )
    if uniform:
        if np.unique(whole).size != 1:
            raise InputError(
                f"Delay node '{name}' has different delays per element where they cannot be "
                "given per synapse (between two weighted operators, or in front of an output)."
            )
        return int(whole.ravel()[0])
    return whole.astype(np.int64)


# -- building the description ---------------------------------------------------------------
def _identifier(name: str, taken: set[str]) -> str:
    """A population or projection name for a (dotted) NIR node name, unique in ``taken``."""
    base = re.sub(r"_+", "_", re.sub(r"\W", "_", name)).strip("_") or "node"
    if base[0].isdigit() or keyword.iskeyword(base) or base in RESERVED:
        base = f"n_{base}"
    candidate, k = base, 1
    while candidate in taken:
        k += 1
        candidate = f"{base}_{k}"
    taken.add(candidate)
    return candidate


def _parameters(node: Any, spec: NeuronNode, shape: tuple[int, ...], name: str) -> dict[str, Any]:
    """A population's parameters from a NIR neuron node (uniform arrays as one value)."""
    values: dict[str, Any] = {}
    for attribute, (parameter, is_time) in spec.parameters.items():
        raw = getattr(node, attribute, None)
        if raw is None:
            raise InputError(f"NIR node '{name}' ({spec.nir_type}) has no '{attribute}'.")
        array = np.asarray(raw, dtype=np.float64)
        try:
            array = np.broadcast_to(array, shape)
        except ValueError as exc:
            raise InputError(
                f"NIR node '{name}': '{attribute}' of shape {array.shape} does not fit the "
                f"node's input shape {shape}."
            ) from exc
        if not np.isfinite(array).all():
            raise InputError(f"NIR node '{name}': '{attribute}' has non-finite values.")
        if is_time and (array <= 0).any():
            raise InputError(
                f"NIR node '{name}': the time constant '{attribute}' must be > 0 s; a "
                "non-positive one has no continuous-time meaning."
            )
        value: Any = float(array.ravel()[0]) if np.unique(array).size == 1 else array.ravel()
        values[parameter] = value * second if is_time else value
    return values


@dataclass
class _Builder:
    graph: FlatGraph
    dt: Quantity
    method: str
    cuba: str
    names: set[str] = field(default_factory=lambda: {"one"})
    populations: list[Population] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    #: NIR node -> (population, input variable) that receives its input
    receivers: dict[str, tuple[str, str]] = field(default_factory=dict)
    emitters: dict[str, Emitter] = field(default_factory=dict)
    relays: dict[str, str] = field(default_factory=dict)

    def size(self, node: str) -> int:
        return int(np.prod(self.graph.shapes[node]))

    def population(self, node: str) -> None:
        graph, shape = self.graph, self.graph.shapes[node]
        kind = graph.kinds[node]
        name = _identifier(node, self.names)
        if kind == "input":
            self.populations.append(Population(name, RELAY_MODEL, shape, method="euler"))
            self.relays[node] = name
            self.emitters[node] = Emitter(name, "output", "I")
            return
        nir_node = graph.nodes[node]
        spec = NEURON_NODES[type(nir_node).__name__]
        method = spec.exact_method if self.method == "exact" else self.method

        def add(population: str, stage: NeuronNode) -> None:
            parameters = _parameters(nir_node, stage, shape, node)
            self.populations.append(
                Population(population, stage.model, shape, parameters=parameters, method=method)
            )

        if self.cuba == "split" and spec.nir_type in MEMBRANE_STAGE:
            synapse = _identifier(f"{node}_synapse", self.names)
            add(synapse, SYNAPSE_STAGE)
            spec = MEMBRANE_STAGE[spec.nir_type]
            add(name, spec)
            self.projections.append(
                Projection(
                    _identifier(f"{node}_current", self.names),
                    synapse,
                    name,
                    Synapse("w : 1\nI_post = w * I_pre : 1 (summed)"),
                    OneToOne(),
                    weights=1.0,  # the node's current, as it is (fixed)
                )
            )
            self.receivers[node] = (synapse, SYNAPSE_STAGE.input)
        else:
            add(name, spec)
            self.receivers[node] = (name, spec.input)
        self.emitters[node] = (
            Emitter(name, "spike", None)
            if spec.value is None
            else Emitter(name, "output", spec.value)
        )

    # -- projections -------------------------------------------------------------------------
    def paths(self, start: str) -> list[tuple[str, list[str]]]:
        """(neuron or output node, operator nodes on the way) for every path from ``start``."""
        found: list[tuple[str, list[str]]] = []

        def walk(node: str, chain: list[str]) -> None:
            kind = self.graph.kinds[node]
            if kind in ("neuron", "output"):
                found.append((node, chain))
                return
            if node in chain:
                raise InputError(f"NIR operators form a loop without a neuron at '{node}'.")
            for nxt in self.graph.successors(node):
                walk(nxt, [*chain, node])

        for nxt in self.graph.successors(start):
            walk(nxt, [])
        return found

    def project(self, source: str, target: str, chain: list[str]) -> None:
        emitter = self.emitters[source]
        post, variable = self.receivers[target]
        n_pre, n_post = self.size(source), self.size(target)
        connectivity, weights = self._linear(source, chain)
        delays = self._delays(source, chain, connectivity, n_pre, n_post)
        if delays is not None and emitter.value is not None:
            raise InputError(
                f"A Delay between '{source}' and '{target}': '{source}' sends a value at every "
                "step, and a delayed Brian2 pathway reads it when the event arrives, not when "
                "it left. Delays are supported after spiking nodes; move the Delay behind one."
            )
        if emitter.value is None:
            synapse = Synapse("w : 1", on_pre=f"{variable}_post += w")
        else:
            synapse = Synapse(
                "w : 1",
                on_pre=f"{variable}_post += w * {emitter.value}_pre",
                on_event=emitter.event,
            )
        self.projections.append(
            Projection(
                _identifier(f"{source}_to_{target}", self.names),
                emitter.population,
                post,
                synapse,
                connectivity,
                weights=weights,
                delay=delays,
                trainable=True,
            )
        )

    def _linear(self, source: str, chain: list[str]) -> tuple[Any, np.ndarray]:
        """The connectivity and weights of a chain's linear part (module docstring)."""
        nodes = [self.graph.nodes[n] for n in chain if self.graph.kinds[n] == "operator"]
        linear = [n for n in nodes if type(n).__name__ != "Delay"]
        kinds = [type(n).__name__ for n in linear]
        weighted = [k for k in kinds if k in ops.WEIGHTED]
        shape = self.graph.shapes[source]
        if not weighted and set(kinds) <= {"Flatten", "Scale"}:
            ones = torch.ones((1, *shape), dtype=torch.float64)
            return OneToOne(), _apply_all(linear, ones).reshape(-1).numpy()
        if weighted == kinds[-1:] or (len(weighted) == 1 and kinds[-1] == "Flatten"):
            last = linear[kinds.index(weighted[0])] if weighted else None
            before = kinds[: kinds.index(weighted[0])] if weighted else kinds
            after = kinds[kinds.index(weighted[0]) + 1 :] if weighted else []
            if weighted[0] in ("Affine", "Linear") and set(before) | set(after) <= {
                "Flatten",
                "Scale",
            }:
                return Dense(), self._matrix(linear, shape)
            structured = self._convolution(last, linear, kinds, shape)
            if structured is not None and not after:
                return structured
        matrix = self._matrix(linear, shape)
        if np.count_nonzero(matrix) > 0.3 * matrix.size:
            return Dense(), matrix
        i, j = np.nonzero(matrix)
        return Sparse(i=i, j=j), matrix[i, j]

    def _matrix(self, linear: list[Any], shape: tuple[int, ...]) -> np.ndarray:
        """The chain's linear part as a ``[n_pre, n_post]`` matrix (applied to the basis)."""
        n = int(np.prod(shape))
        out = int(np.prod(_apply_all(linear, torch.zeros((1, *shape), dtype=torch.float64)).shape))
        if n * out > MAX_MATRIX:
            raise InputError(
                f"A chain of NIR operators ({', '.join(type(x).__name__ for x in linear)}) from "
                f"{n} to {out} values is no single structured projection, and its matrix "
                f"({n} x {out}) is too large to build."
            )
        basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
        return np.ascontiguousarray(_apply_all(linear, basis).reshape(n, -1).numpy())

    def _convolution(
        self, conv: Any, linear: list[Any], kinds: list[str], shape: tuple[int, ...]
    ) -> tuple[Any, np.ndarray] | None:
        """A convolution, alone or after one pool, as the structured Conv2d connectivity."""
        kind = type(conv).__name__
        if kind not in ("Conv1d", "Conv2d"):
            return None
        position = linear.index(conv)
        pools = kinds[:position]
        if pools not in ([], ["SumPool2d"], ["AvgPool2d"]):
            return None
        n = 1 if kind == "Conv1d" else 2
        padding = ops.padding_of(conv.padding, n)
        if isinstance(padding, str) or ops.ints(conv.dilation, n) != (1,) * n:
            return None
        if int(conv.groups) != 1:
            return None
        stride = ops.ints(conv.stride, n)
        weight = np.asarray(conv.weight, dtype=np.float64)
        maps: list[Any] = []
        in_shape = shape
        if pools:
            pool = linear[0]
            if any(ops.ints(pool.padding, 2)):
                return None
            kernel = ops.ints(pool.kernel_size, 2)
            maps.append(
                Pool2d(
                    (shape[0], shape[1], shape[2]),
                    (kernel[0], kernel[1]),
                    ops.ints(pool.stride, 2),  # type: ignore[arg-type]
                    mode="sum" if pools[0] == "SumPool2d" else "avg",
                )
            )
            in_shape = ops.output_shape(pool, shape)
        if n == 1:
            in_shape = (in_shape[0], 1, in_shape[1])
            weight = weight[:, :, None, :]
            padding, stride = (0, padding[0]), (1, stride[0])
        maps.append(
            Conv2d(
                tuple(in_shape),  # type: ignore[arg-type]
                int(weight.shape[0]),
                tuple(weight.shape[2:]),
                stride=tuple(stride),  # type: ignore[arg-type]
                padding=tuple(padding),  # type: ignore[arg-type]
            )
        )
        return (maps[0] if len(maps) == 1 else Chain(tuple(maps))), weight

    def _delays(
        self, source: str, chain: list[str], connectivity: Any, n_pre: int, n_post: int
    ) -> Any:
        """The chain's Delay nodes as one delay or one per synapse (None: no delay)."""
        delays = [n for n in chain if type(self.graph.nodes[n]).__name__ == "Delay"]
        if not delays:
            return None
        operators = [n for n in chain if self.graph.kinds[n] == "operator"]
        total: Any = 0
        per_synapse = False
        for name in delays:
            steps = _delay_steps(self.graph.nodes[name], self.dt, name, uniform=False)
            if np.unique(steps).size == 1:
                total = total + int(steps.ravel()[0])
                continue
            arrays = connectivity.synapses(n_pre, n_post)
            if name == operators[0]:
                total = total + steps.ravel()[arrays.pre]
            elif name == operators[-1]:
                total = total + steps.ravel()[arrays.post]
            else:
                raise InputError(
                    f"Delay node '{name}' has different delays per element between two "
                    "operators that mix elements; one delay per synapse cannot express it."
                )
            per_synapse = True
        if not per_synapse and total == 0:
            return None
        return np.asarray(total, dtype=np.float64) * float(self.dt / second) * second

    def biases(self, targets: list[str]) -> None:
        """One summed projection per neuron node: the chains' constants (zero input)."""
        memo: dict[str, torch.Tensor] = {}
        for target in targets:
            post, variable = self.receivers[target]
            total = torch.zeros((1, *self.graph.shapes[target]), dtype=torch.float64)
            for pred in self.graph.predecessors(target):
                total = total + self._at_zero(pred, memo)
            self.projections.append(
                Projection(
                    _identifier(f"{target}_bias", self.names),
                    "one",
                    post,
                    Synapse(f"w : 1\n{variable}_post = w * x_pre : 1 (summed)"),
                    Dense(),
                    weights=total.reshape(1, -1).numpy(),
                    trainable=True,
                )
            )

    def _at_zero(self, node: str, memo: dict[str, torch.Tensor]) -> torch.Tensor:
        if node in memo:
            return memo[node]
        shape = self.graph.shapes[node]
        if self.graph.kinds[node] not in ("operator", "pass"):
            return torch.zeros((1, *shape), dtype=torch.float64)
        preds = self.graph.predecessors(node)
        arriving = sum(
            (self._at_zero(p, memo) for p in preds[1:]), start=self._at_zero(preds[0], memo)
        )
        with torch.no_grad():
            value = (
                ops.apply(self.graph.nodes[node], arriving)
                if self.graph.kinds[node] == "operator"
                else arriving
            )
        memo[node] = value
        return value


def _apply_all(linear: list[Any], x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        for node in linear:
            x = ops.apply(node, x, bias=False)
    return x


def read_graph(graph: Any) -> Any:
    """A ``nir.NIRGraph`` from a graph or a file written by ``nir.write``."""
    nir = nir_module()
    if isinstance(graph, str | Path):
        path = Path(graph)
        if not path.is_file():
            raise InputError(f"NIR file '{path}' does not exist.")
        try:
            return nir.read(str(path))
        except Exception as exc:
            raise InputError(
                f"'{path}' is not a NIR graph file ({type(exc).__name__}: {exc})."
            ) from exc
    if type(graph).__name__ != "NIRGraph":
        raise InputError(f"Expected a nir.NIRGraph or a NIR file, got {type(graph).__name__}.")
    return graph


def nir_module() -> Any:
    try:
        import nir
    except ImportError as exc:
        raise InputError(
            "NIR needs the nir package: pip install 'spikebridge[nir]' (or pip install nir)."
        ) from exc
    return nir


def import_nir(
    graph: Any,
    *,
    dt: Quantity,
    method: str = "exact",
    cuba: str = "joint",
    name: str = "nir_graph",
) -> ImportedGraph:
    """A NIR graph (a ``nir.NIRGraph`` or a file) as a network description (module
    docstring). ``dt``: the time step (a Brian2 time); ``method``: ``"exact"`` or
    ``"euler"`` for every neuron node; ``cuba``: ``"joint"`` (a CubaLIF/CubaLI node
    integrates its two equations together) or ``"split"`` (the synapse first, then the
    membrane with the new current: snnTorch's and Norse's order)."""
    if (
        not isinstance(dt, Quantity)
        or get_dimensions(dt) is not second.dim
        or not np.isfinite(float(dt))
        or float(dt) <= 0
    ):
        raise InputError(f"dt must be a positive time (e.g. 1 * ms), got {dt!r}.")
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    if cuba not in CUBA:
        raise InputError(f"cuba must be one of {', '.join(CUBA)}, got {cuba!r}.")
    flat = flatten_graph(read_graph(graph))
    builder = _Builder(flat, dt, method, cuba)
    for node in flat.order:
        if flat.kinds[node] in ("input", "neuron"):
            builder.population(node)
    targets = flat.of_kind("neuron")
    for source in [*flat.of_kind("input"), *targets]:
        for target, chain in builder.paths(source):
            if flat.kinds[target] == "neuron":
                builder.project(source, target, chain)
    builder.biases(targets)
    network = Network(
        _identifier(name, set()),
        dt,
        tuple(builder.populations),
        (ConstantSource("one"),),
        tuple(builder.projections),
        schedule="layered",
        doc=f"Imported from NIR (method {method}, cuba {cuba}).",
    )
    return ImportedGraph(
        network=network,
        graph=flat,
        populations={n: e.population for n, e in builder.emitters.items()},
        emitters=dict(builder.emitters),
        inputs=dict(builder.relays),
        outputs=tuple(flat.of_kind("output")),
        method=method,
        cuba=cuba,
    )
