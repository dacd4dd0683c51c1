"""A NIR graph as a flat directed graph: nested graphs inlined, nodes classified, ordered.

Nested ``NIRGraph`` nodes are inlined under dotted names (``outer.inner``); their ``Input``
and ``Output`` nodes become pass-through points, so an edge onto a subgraph (``sub`` or
``sub.input_name``) reaches the nodes behind its input. Node kinds: ``input`` and
``output`` (the top level's), ``neuron`` (:data:`~.nodes.NEURON_NODES`), ``operator``
(:data:`~.ops.OPERATORS`) and ``pass``. Nodes are ordered depth first from the inputs; an
edge onto a node earlier in that order (or onto itself) is a recurrent edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from . import ops
from .nodes import NEURON_NODES


@dataclass(frozen=True)
class FlatGraph:
    """Nodes by (dotted) name, their kinds, the edges and a depth-first order."""

    nodes: Mapping[str, Any]
    kinds: Mapping[str, str]
    edges: tuple[tuple[str, str], ...]
    order: tuple[str, ...]
    shapes: Mapping[str, tuple[int, ...]]

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    def of_kind(self, kind: str) -> list[str]:
        return [n for n in self.order if self.kinds[n] == kind]


def _kind(node: Any, top: bool) -> str:
    name = type(node).__name__
    if name in ("Input", "Output"):
        return name.lower() if top else "pass"
    if name in NEURON_NODES:
        return "neuron"
    if name in ops.OPERATORS:
        return "operator"
    raise InputError(
        f"NIR node type '{name}' is not supported. Supported: Input, Output, "
        f"{', '.join(ops.OPERATORS)}, {', '.join(NEURON_NODES)} and nested NIRGraphs."
    )


def _inline(
    graph: Any, prefix: str, top: bool
) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str]]]:
    nodes: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    ports: dict[str, tuple[list[str], list[str]]] = {}  # subgraph -> (inputs, outputs)
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if type(node).__name__ == "NIRGraph":
            sub_nodes, sub_kinds, sub_edges = _inline(node, f"{full}.", top=False)
            nodes.update(sub_nodes)
            kinds.update(sub_kinds)
            edges += sub_edges
            inputs = [f"{full}.{n}" for n, v in node.nodes.items() if type(v).__name__ == "Input"]
            outputs = [f"{full}.{n}" for n, v in node.nodes.items() if type(v).__name__ == "Output"]
            ports[full] = (inputs, outputs)
        else:
            nodes[full] = node
            kinds[full] = _kind(node, top)

    def port(name: str, side: int) -> str:
        full = f"{prefix}{name}"
        if full in ports:
            candidates = ports[full][side]
            if len(candidates) != 1:
                raise InputError(
                    f"An edge names subgraph '{full}', which has {len(candidates)} "
                    f"{'inputs' if side == 0 else 'outputs'}: name one as '{full}.<node>'."
                )
            return candidates[0]
        if full not in nodes:
            raise InputError(f"A NIR edge names '{full}', which is not a node of the graph.")
        return full

    for a, b in graph.edges:
        edges.append((port(a, 1), port(b, 0)))
    return nodes, kinds, edges


def flatten_graph(graph: Any) -> FlatGraph:
    """Inline, classify, order and shape a NIR graph (see the module docstring)."""
    nodes, kinds, edges = _inline(graph, "", top=True)
    edges = list(dict.fromkeys(edges))
    inputs = [n for n in nodes if kinds[n] == "input"]
    if not inputs:
        raise InputError("The NIR graph has no Input node: nothing drives it.")
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:  # reverse post-order: a topological order without cycles
        seen.add(name)
        for nxt in succ[name]:
            if nxt not in seen:
                visit(nxt)
        order.append(name)

    for name in inputs:
        if name not in seen:
            visit(name)
    unreached = [n for n in nodes if n not in seen]
    if unreached:
        raise InputError(
            f"NIR nodes {unreached} are not reached from any Input node; remove them or "
            "connect them."
        )
    order.reverse()
    shapes = _shapes(nodes, kinds, edges, order)
    return FlatGraph(nodes, kinds, tuple(edges), tuple(order), shapes)


def _shapes(
    nodes: Mapping[str, Any],
    kinds: Mapping[str, str],
    edges: list[tuple[str, str]],
    order: list[str],
) -> dict[str, tuple[int, ...]]:
    """The output shape of every node, from the inputs forward (recurrent edges aside)."""
    position = {n: k for k, n in enumerate(order)}
    shapes: dict[str, tuple[int, ...]] = {}
    for name in order:
        node = nodes[name]
        if kinds[name] == "input":
            shape = np.asarray(next(iter(node.input_type.values()))).astype(int).tolist()
            shapes[name] = tuple(int(s) for s in shape)
            continue
        incoming = [
            shapes[a] for a, b in edges if b == name and position[a] < position[name]
        ]  # forward edges only
        if not incoming:
            raise InputError(f"NIR node '{name}' has no forward input.")
        if len(set(incoming)) != 1:
            raise InputError(
                f"NIR node '{name}' sums inputs of different shapes {sorted(set(incoming))}."
            )
        shape = incoming[0]
        try:
            shapes[name] = ops.output_shape(node, shape) if kinds[name] == "operator" else shape
        except (RuntimeError, ValueError) as exc:
            raise InputError(
                f"NIR node '{name}' ({type(node).__name__}) cannot take an input of shape "
                f"{shape}: {exc}"
            ) from exc
    return shapes
