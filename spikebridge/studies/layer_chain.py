"""Two-layer chains: a second neuron of the same model driven, step by step, by the first.

A chain is data: for each input parameter of layer 2, an expression of layer 1's output in
the same step,

.. code-block:: toml

    [reference.layer2]   # the paper's HH chain: 100 uA/cm2 while V_HH1 > 70 mV
    drive = { I = "100 * uA/cm**2 * (v > 70 * mV)" }

    [candidates.layer2]  # the paper's s-LIF2HH chain, W a chain parameter
    drive = { I_syn_1 = "(W * cross_1 + cross_4) * uA/cm**2", ... }
    parameters = { W = "1e5" }   # or free.W = { ... } on the candidate

An expression may name layer 1's events (1 in a step in which the event occurred, else 0),
its state variables (their values recorded after the step), chain parameters (fixed here
or free parameters of the candidate), Brian2 units and numbers, combined with ``+ - * / **``
and one comparison (``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``, giving 0 or 1). Its units are
checked against the driven parameter's on loading. Layer 2 has layer 1's model, step,
method and parameters; the study's current drives layer 1 only, and inputs of layer 2 that
no drive names keep the model's defaults. A drive may not name a parameter its entry fixes
or fits (layer 2 would not have that value). The chain is feed-forward, so layer 2 is
simulated after layer 1
with layer 1's per-step output as its input: exactly the same-step coupling of a
simulator that updates layer 1 and then layer 2 in each step. The chain's output, which the
study compares, is layer 2's.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity
from brian2.core.namespace import DEFAULT_UNITS
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions

from ..errors import InputError
from ..model import NeuronModel
from ..results import SimulationResult
from ..units import unit_name

_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True)
class Drive:
    """One driven input of layer 2: its parameter and the expression (text and tree)."""

    target: str
    text: str
    tree: ast.Expression

    def names(self) -> set[str]:
        return {node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name)}


@dataclass(frozen=True)
class Chain:
    """A layer-2 neuron driven by layer 1 (module docstring); ``parameters``: the fixed
    chain parameters (SI) and ``dims`` the dimension of every chain parameter, free or
    fixed."""

    drives: tuple[Drive, ...]
    parameters: Mapping[str, float]
    dims: Mapping[str, Dimension]

    def recorded(self, model: NeuronModel) -> tuple[str, ...]:
        """Layer 1's state variables the drives read."""
        used = set().union(*(d.names() for d in self.drives))
        return tuple(v for v in model.state_variables if v in used)

    def inputs(
        self,
        events: Mapping[str, np.ndarray],
        traces: Mapping[str, np.ndarray],
        values: Mapping[str, Any],
        shape: tuple[int, int],
    ) -> dict[str, np.ndarray]:
        """Layer 2's inputs ``shape`` = ``(steps, n)`` in SI from layer 1's ``events`` (0/1)
        and ``traces`` (SI), both ``(steps, n)``, and the chain parameters' ``values`` (SI,
        scalars or ``(n,)``)."""
        names: dict[str, Any] = {**events, **traces}
        names.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
        out = {}
        for d in self.drives:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                value = np.asarray(_evaluate(d.tree.body, names, si=True), dtype=float)
            if not np.all(np.isfinite(value)):
                raise InputError(
                    f"layer2.drive.{d.target} = {d.text!r} is not finite in some step (a "
                    "division by an event or a variable that is 0 there?); write the drive so "
                    "that it stays finite."
                )
            out[d.target] = np.array(np.broadcast_to(value, shape))
        return out


def chain_parameter_names(spec: Any, model: NeuronModel, where: str) -> set[str]:
    """The names a chain's drives read that are none of layer 1's events, state variables
    or Brian2 units: its parameters (fixed or free)."""
    _check_tables(spec, where)
    known = set(model.event_names) | set(model.state_variables)
    found: set[str] = set()
    for target, text in dict(spec.get("drive", {})).items():
        tree = _parse(str(text), f"{where}.drive.{target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in known and node.id not in DEFAULT_UNITS:
                found.add(node.id)
    return found | set(dict(spec.get("parameters", {})))


def load_chain(
    spec: Any,
    model: NeuronModel,
    where: str,
    parse_value: Callable[[Any, str], Any],
    free_dims: Mapping[str, Dimension],
) -> Chain:
    """Check a ``layer2`` table (``drive``, optional ``parameters``) for ``model``;
    ``parse_value`` reads a quantity string, ``free_dims`` are the dimensions of the chain
    parameters that the candidate fits."""
    _check_tables(spec, where)
    drive_spec = spec["drive"]
    parameters: dict[str, float] = {}
    dims: dict[str, Dimension] = dict(free_dims)
    for name, value in dict(spec.get("parameters", {})).items():
        if name in {*model.parameter_names, *model.state_variables, *model.event_names}:
            raise InputError(
                f"{where}.parameters.{name}: '{name}' is a variable of '{model.name}'; a chain "
                "parameter needs a name of its own (layer 2 shares layer 1's parameters)."
            )
        if name in free_dims:
            raise InputError(f"{where}.parameters.{name} is also free; choose one.")
        quantity = parse_value(value, f"{where}.parameters.{name}")
        parameters[name] = float(quantity)
        dims[name] = get_dimensions(quantity)
    drives = []
    for target, text in drive_spec.items():
        what = f"{where}.drive.{target}"
        if target not in model.parameter_names:
            raise InputError(
                f"{what}: '{target}' is not a parameter of '{model.name}'; layer 2 can be "
                f"driven through {', '.join(model.parameter_names)}."
            )
        tree = _parse(str(text), what)
        symbols: dict[str, Any] = {e: 1.0 for e in model.event_names}
        symbols.update({v: Quantity(1.0, dim=model.dim(v)) for v in model.state_variables})
        symbols.update({k: Quantity(1.0, dim=d) for k, d in dims.items()})
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in symbols | DEFAULT_UNITS:
                raise InputError(
                    f"{what}: '{node.id}' is neither an event of '{model.name}' "
                    f"({', '.join(model.event_names)}), a state variable "
                    f"({', '.join(model.state_variables)}), a chain parameter "
                    f"({', '.join(sorted(dims)) or 'none'}) nor a Brian2 unit."
                )
        try:
            value = _evaluate(tree.body, symbols, si=False)
        except Exception as exc:  # a units mismatch inside the expression
            raise InputError(f"{what} = {text!r}: {exc}") from None
        got = get_dimensions(value) if isinstance(value, Quantity) else DIMENSIONLESS
        if got is not model.dim(target):
            raise InputError(
                f"{what} = {text!r} has units of {unit_name(got)}, but '{target}' needs "
                f"{unit_name(model.dim(target))}; multiply by a unit such as "
                f"'{unit_name(model.dim(target))}'."
            )
        drives.append(Drive(str(target), str(text), tree))
    return Chain(tuple(drives), parameters, dims)


def _check_tables(spec: Any, where: str) -> None:
    if not isinstance(spec, Mapping):
        raise InputError(f"{where} must be a table with drive = {{ input = 'expression' }}.")
    unknown = sorted(set(spec) - {"drive", "parameters"})
    if unknown:
        raise InputError(
            f"{where} has no entry {', '.join(map(repr, unknown))}; its entries: drive, parameters."
        )
    drive = spec.get("drive")
    if not isinstance(drive, Mapping) or not drive:
        raise InputError(
            f"{where}.drive must name at least one input of layer 2 and its expression, e.g. "
            'drive = { I = "100 * uA/cm**2 * (v > 70 * mV)" }.'
        )
    if not isinstance(spec.get("parameters", {}), Mapping):
        raise InputError(f"{where}.parameters must be a table, e.g. parameters = {{ W = 1e5 }}.")


def _parse(text: str, what: str) -> ast.Expression:
    if len(text) > 1000:
        raise InputError(f"{what}: an expression of {len(text)} characters; keep it under 1000.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
        raise InputError(f"{what} = {text!r} is not an expression: {exc}.") from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.USub,
            ast.UAdd,
            ast.Compare,
            ast.Name,
            ast.Load,
            ast.Constant,
            *_ARITHMETIC,
            *_COMPARE,
        )
        if not isinstance(node, allowed) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, int | float)
        ):
            raise InputError(
                f"{what} = {text!r}: only names, numbers, + - * / **, a unary minus and "
                f"comparisons are allowed, not {type(node).__name__}."
            )
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise InputError(f"{what} = {text!r}: write one comparison at a time.")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = node.right
            if isinstance(exponent, ast.UnaryOp):
                exponent = exponent.operand
            if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int | float)):
                raise InputError(
                    f"{what} = {text!r}: an exponent must be a number (its units would "
                    "depend on a value otherwise)."
                )
    return tree


def _constant(node: ast.AST, names: Mapping[str, Any]) -> bool:
    """Whether ``node`` holds only numbers and units (no variable of ``names``)."""
    return all(
        not isinstance(n, ast.Name) or (n.id not in names and n.id in DEFAULT_UNITS)
        for n in ast.walk(node)
    ) and not any(isinstance(n, ast.Compare) for n in ast.walk(node))


def _evaluate(node: ast.AST, names: Mapping[str, Any], *, si: bool) -> Any:
    """The value of an expression tree; ``si``: plain SI floats, a subtree of numbers and
    units computed with Brian2's units first (``100 * uA/cm**2`` is exactly Brian2's)."""
    if si and not isinstance(node, ast.Constant) and _constant(node, names):
        return float(_evaluate(node, names, si=False))
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _parse admits numbers only
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        unit = DEFAULT_UNITS[node.id]
        return float(unit) if si else unit
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, names, si=si)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, names, si=si)
        right = _evaluate(node.right, names, si=si)
        return _ARITHMETIC[type(node.op)](left, right)
    assert isinstance(node, ast.Compare)
    left = _evaluate(node.left, names, si=si)
    right = _evaluate(node.comparators[0], names, si=si)
    return np.asarray(_COMPARE[type(node.ops[0])](left, right), dtype=float)


def indicator(result: SimulationResult, event: str) -> np.ndarray:
    """A ``(n_steps, n)`` 0/1 array of the steps at which ``event`` occurred."""
    out = np.zeros((result.n_steps, result.n))
    rows = result.spikes[event]
    out[rows[:, 0], rows[:, 1]] = 1.0
    return out


def run_chain(
    run: Callable[..., SimulationResult],
    model: NeuronModel,
    chain: Chain,
    options: Mapping[str, Any],
    values: Mapping[str, Any],
    record: tuple[str, ...] = (),
) -> tuple[SimulationResult, SimulationResult]:
    """Both layers of ``chain``: ``run(**options)`` simulates layer 1 (``options``: those of
    :func:`spikebridge.run.plan_run`, its input included), then layer 2 with layer 1's
    model parameters and the drives' inputs, recording ``record``; ``values``: the chain
    parameters' SI values (scalars or one per neuron)."""
    from ..units import as_quantity

    first = run(**{**options, "record": chain.recorded(model)})
    used = set().union(*(d.names() for d in chain.drives))
    events = {e: indicator(first, e) for e in model.event_names if e in used}
    traces = {v: np.asarray(first.traces[v]) for v in chain.recorded(model)}
    shape = (first.n_steps, first.n)
    inputs = chain.inputs(events, traces, {**chain.parameters, **values}, shape)
    second = run(
        **{
            **options,
            "inputs": {k: as_quantity(x, model.dim(k)) for k, x in inputs.items()},
            "record": record,
        }
    )
    return first, second
