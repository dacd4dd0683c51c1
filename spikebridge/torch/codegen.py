"""Generate the torch step function of a model from Brian2's statements.

:func:`generate_step` renders a :class:`~spikebridge.brian.program.StepProgram` (the
statements Brian2 generates for one time step, in schedule order) into the Python
source of one pure function::

    step(state, params, t, dt, spike_fn) -> (spikes, new_state)

and compiles it. Rendering keeps Brian2's expression trees operation for operation
(the parenthesised output of Brian2's own ``NodeRenderer``), so float64 results agree
with Brian2's generated C++ to rounding. Specific to torch:

* a threshold condition becomes differentiable spikes: ``a > b`` renders as
  ``spike_fn((a - b)/scale)`` (``scale``: the model's membrane unit when the compared
  quantity is a voltage), ``and``/``or``/``not`` as products, booleans without a
  gradient (``not_refractory``) as 0/1;
* a reset statement ``x = e`` renders as ``x = blend(spike, e, x)``: exact forward,
  gradient through the spike;
* a conditional write (``unless refractory``) renders as ``where(not_refractory, new, old)``.

The generated source is kept (``GeneratedStep.source``) for inspection.
"""

from __future__ import annotations

import ast
import keyword
import linecache
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from brian2.codegen.statements import Statement
from brian2.core.functions import Function
from brian2.core.variables import Constant
from brian2.parsing.expressions import parse_expression_dimensions
from brian2.parsing.rendering import NodeRenderer
from torch import Tensor

from ..brian.program import CodeBlock, StepProgram
from ..errors import ModelFileError
from ..model import NeuronModel
from . import functions as F
from .surrogate import SpikeFunction

StepFunction = Callable[
    [Any, Mapping[str, Tensor], Tensor, float, SpikeFunction], tuple[tuple[Tensor, ...], Any]
]

_FUNCTIONS = {
    "exp", "log", "log10", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin",
    "arccos", "arctan", "expm1", "log1p", "floor", "ceil", "abs", "sign", "clip", "exprel",
    "timestep",
}  # fmt: skip
_UNSUPPORTED = {
    "rand": "random numbers",
    "randn": "random numbers (stochastic equations with xi)",
    "poisson": "random numbers",
}
# Names of the generated code start with "_0": Brian2 identifiers cannot start with a digit,
# so no model variable or Brian2 temporary ("_v", "_lio_1", "__k_1_v") can collide with them.
_DTYPE = "_0dtype"


class TorchRenderer(NodeRenderer):
    """Brian2's Python-syntax renderer, with constants inlined and functions mapped to ``F``.

    ``names`` renames identifiers (a network step prefixes each group's variables)."""

    def __init__(self, variables: Mapping[str, Any], names: Mapping[str, str] | None = None):
        super().__init__()
        self.variables = variables
        self.names = names or {}

    def render_Name(self, node: ast.Name) -> str:
        var = self.variables.get(node.id)
        if isinstance(var, Constant):
            return repr(float(var.value))
        if node.id in ("True", "False"):
            return node.id
        if keyword.iskeyword(node.id):
            raise ModelFileError(f"'{node.id}' cannot be used as a variable name.")
        return self.names.get(node.id, node.id)

    def render_Constant(self, node: ast.Constant) -> str:
        if isinstance(node.value, bool):
            return repr(node.value)
        return repr(float(node.value)) if isinstance(node.value, float) else repr(node.value)

    def render_Call(self, node: ast.Call) -> str:
        name = node.func.id  # type: ignore[attr-defined]
        args = [self.render_node(arg) for arg in node.args]
        if name in _UNSUPPORTED:
            raise ModelFileError(
                f"The torch engine does not support {_UNSUPPORTED[name]} ('{name}()') yet; "
                "simulate this model with the Brian2 engine."
            )
        if name == "int":
            return f"_0F.int_({args[0]}, {_DTYPE})"
        if name in _FUNCTIONS:
            return f"_0F.{name}({', '.join(args)})"
        var = self.variables.get(name)
        if isinstance(var, Function):
            raise ModelFileError(
                f"The torch engine has no implementation of Brian2 function '{name}'. "
                "Drive time-varying values through the model's inputs instead of calling "
                "TimedArrays or user functions in the equations."
            )
        raise ModelFileError(f"Unknown function '{name}' in the model's code.")

    def render_BoolOp(self, node: ast.BoolOp) -> str:
        fn = "_0F.logical_and" if isinstance(node.op, ast.And) else "_0F.logical_or"
        rendered = self.render_node(node.values[0])
        for value in node.values[1:]:
            rendered = f"{fn}({rendered}, {self.render_node(value)})"
        return rendered

    def render_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not):
            return f"_0F.logical_not({self.render_node(node.operand)})"
        return str(super().render_UnaryOp(node))


class SpikeRenderer(TorchRenderer):
    """Renders a boolean threshold condition as differentiable 0/1 spikes."""

    _COMPARE: ClassVar[dict[type, str]] = {
        ast.Gt: "_0F.spike_gt",
        ast.Lt: "_0F.spike_lt",
        ast.GtE: "_0F.spike_ge",
        ast.LtE: "_0F.spike_le",
    }

    def __init__(
        self,
        variables: Mapping[str, Any],
        membrane_dim: Any,
        membrane_scale: float,
        names: Mapping[str, str] | None = None,
    ):
        super().__init__(variables, names)
        self.membrane_dim = membrane_dim
        self.membrane_scale = membrane_scale
        self.plain = TorchRenderer(variables, names)

    def render_Compare(self, node: ast.Compare) -> str:
        op = type(node.ops[0])
        if op not in self._COMPARE:
            raise ModelFileError(
                "A threshold condition may compare with >, <, >= or <= (got "
                f"'{ast.unparse(node)}'), so that spikes have a surrogate gradient."
            )
        left = self.plain.render_node(node.left)
        right = self.plain.render_node(node.comparators[0])
        scale = self._scale(node)
        return f"{self._COMPARE[op]}(spike_fn, {left}, {right}, {scale!r})"

    def _scale(self, node: ast.Compare) -> float:
        for side in (node.left, node.comparators[0]):
            try:
                dim = parse_expression_dimensions(ast.unparse(side), self.variables)
            except Exception:
                continue
            if dim is self.membrane_dim:
                return self.membrane_scale
            return 1.0
        return 1.0

    def render_BoolOp(self, node: ast.BoolOp) -> str:
        parts = [self.render_node(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return " * ".join(f"({p})" for p in parts)
        rendered = parts[0]
        for p in parts[1:]:
            rendered = f"(1 - (1 - ({rendered})) * (1 - ({p})))"
        return rendered

    def render_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not):
            return f"(1 - ({self.render_node(node.operand)}))"
        return str(super().render_UnaryOp(node))

    def render_Name(self, node: ast.Name) -> str:
        return f"_0F.spike_of({self.plain.render_node(node)}, {_DTYPE})"

    def render_Constant(self, node: ast.Constant) -> str:
        return f"_0F.spike_of({node.value!r}, {_DTYPE})"


@dataclass(frozen=True)
class GeneratedStep:
    """A compiled step function with its source and the names it expects."""

    model: str
    method: str
    source: str
    step: StepFunction
    state_class: type
    state_variables: tuple[str, ...]
    parameters: tuple[str, ...]
    events: tuple[str, ...]
    observers: Mapping[str, Callable[[Any, Mapping[str, Tensor], Tensor, float], Tensor]]


def _state_class(model: str, names: tuple[str, ...]) -> type:
    cls_name = "".join(part.capitalize() for part in model.split("_")) + "State"
    cls = NamedTuple(cls_name, [(name, Tensor) for name in names])  # type: ignore[misc]
    cls.__doc__ = f"State of model '{model}': {', '.join(names)} (SI units)."
    return cls


def generate_step(model: NeuronModel, program: StepProgram) -> GeneratedStep:
    """Render and compile the step function (and observers) of ``program``."""
    if not program.state_variables:
        raise ModelFileError(
            f"Model '{program.model}' has no state variables (no differential equation): it "
            "runs inside a network (spikebridge.network), where its events and values feed "
            "other populations, but the single-neuron torch engine steps a state. Simulate it "
            "with engine='brian2', or as a population of a network."
        )
    lines = [
        "def step(state, params, t, dt, spike_fn):",
        f"    \"\"\"Generated by spikebridge from Brian2's '{program.method}' code for model "
        f'\'{program.model}\'. Do not edit: regenerate from the model file."""',
        f"    {', '.join(program.state_variables)}, = state",
        f"    {_DTYPE} = {program.state_variables[0]}.dtype",
    ]
    lines += [f"    {name} = params[{name!r}]" for name in program.parameters]
    spike_names = {event: f"_0spike_{event}" for event in program.events}
    for block in program.blocks:
        lines += render_block(block, model, spike_names)
    spikes = ", ".join(spike_names[event] for event in program.events)
    lines.append(f"    return ({spikes},), _0State({', '.join(program.state_variables)})")
    source = "\n".join(lines) + "\n"

    observer_sources = {
        name: _render_observer(name, program, model) for name in program.observables
    }
    state_class = _state_class(program.model, program.state_variables)
    namespace: dict[str, Any] = {"_0F": F, "_0torch": torch, "_0State": state_class}
    step = compile_source(source, f"{program.model}_{program.method}_step", namespace)["step"]
    observers = {
        name: compile_source(src, f"{program.model}_{program.method}_observe_{name}", namespace)[
            f"observe_{name}"
        ]
        for name, src in observer_sources.items()
    }
    full_source = source + "".join("\n\n" + src for src in observer_sources.values())
    return GeneratedStep(
        model=program.model,
        method=program.method,
        source=full_source,
        step=step,
        state_class=state_class,
        state_variables=program.state_variables,
        parameters=program.parameters,
        events=program.events,
        observers=observers,
    )


def compile_source(source: str, name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute generated source in a copy of ``namespace``; its source shows in tracebacks."""
    filename = f"<spikebridge:{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)
    exec(compile(source, filename, "exec"), scope)
    return scope


def render_statements(
    statements: tuple[Statement, ...],
    variables: Mapping[str, Any],
    conditional_writes: Mapping[str, str],
    where: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """Render statements; with ``where`` (a spike variable) writes to variables only take
    effect where it is 1, as a reset (temporaries ``:=`` are plain assignments). ``names``
    renames identifiers (see :class:`TorchRenderer`)."""
    names = names or {}
    renderer = TorchRenderer(variables, names)
    lines = []
    for stmt in statements:
        expr = renderer.render_expr(stmt.expr)
        var = names.get(stmt.var, stmt.var)
        # an augmented assignment "x op= e" becomes x = x op (e): out of place, for autograd
        value = expr if stmt.op in (":=", "=") else f"{var} {stmt.op[0]} ({expr})"
        if stmt.var in conditional_writes:
            condition = conditional_writes[stmt.var]
            value = f"_0F.where({names.get(condition, condition)}, {value}, {var})"
        if where is not None and stmt.op != ":=":
            value = f"_0F.blend({where}, {value}, {var})"
        lines.append(f"    {var} = {value}")
    return lines


def render_block(
    block: CodeBlock,
    model: NeuronModel,
    spike_names: Mapping[str, str],
    names: Mapping[str, str] | None = None,
    title: str | None = None,
    detach_reset: bool = False,
    shaped_like: str | None = None,
) -> list[str]:
    """Lines of one neuron code block (state update, threshold or reset of an event);
    ``names`` renames the group's variables (a network step), ``title`` heads the block;
    ``detach_reset``: a reset gates its writes with the detached spike (the same values; no
    gradient through the reset, as snnTorch's default); ``shaped_like``: a tensor of the
    group's shape, for an event whose condition is a constant (default: the membrane)."""
    names = names or {}
    if title is None:
        title = block.kind if block.event is None else f"{block.kind} '{block.event}'"
    lines = [f"    # -- {title}: Brian2 abstract code --"]
    lines += [f"    #    {line}" for line in block.abstract_code.strip().splitlines()]
    statements = block.scalar_statements + block.vector_statements
    if block.kind == "stateupdate":
        return lines + render_statements(
            statements, block.variables, block.conditional_writes, names=names
        )
    assert block.event is not None
    spike = spike_names[block.event]
    if block.kind == "threshold":
        *before, cond = statements
        if cond.var != "_cond":
            raise ModelFileError(f"Unexpected threshold code for event '{block.event}'.")
        lines += render_statements(tuple(before), block.variables, {}, names=names)
        membrane_dim = model.dim(model.membrane[0])
        renderer = SpikeRenderer(block.variables, membrane_dim, model.membrane_scale, names)
        rendered = renderer.render_expr(cond.expr)
        if not _identifiers(cond.expr) - {"True", "False"}:  # an event at every step (or never)
            like = shaped_like or names.get(model.membrane[0], model.membrane[0])
            rendered = f"_0torch.full_like({like}, {cond.expr == 'True'})"
        lines.append(f"    {spike} = {rendered}")
        if block.uses_refractory:
            refractory = names.get("not_refractory", "not_refractory")
            lastspike = names.get("lastspike", "lastspike")
            lines += [
                f"    _0fired = {spike} > 0",
                f"    {refractory} = _0torch.logical_and(",
                f"        {refractory}, _0torch.logical_not(_0fired)",
                "    )",
                f"    {lastspike} = _0torch.where(_0fired, t, {lastspike})",
            ]
        return lines
    # reset: each write takes effect where the event fired
    gate = f"{spike}.detach()" if detach_reset else spike
    return lines + render_statements(
        statements, block.variables, block.conditional_writes, gate, names
    )


def _render_observer(name: str, program: StepProgram, model: NeuronModel) -> str:
    scalar, vector = program.observables[name]
    variables = program.observable_variables[name]
    used = {ident for stmt in scalar + vector for ident in _identifiers(stmt.expr)}
    lines = [
        f"def observe_{name}(state, params, t, dt):",
        f'    """Subexpression \'{name}\' of model \'{program.model}\', computed from a state."""',
        f"    {', '.join(program.state_variables)}, = state",
        f"    {_DTYPE} = {program.state_variables[0]}.dtype",
    ]
    lines += [f"    {p} = params[{p!r}]" for p in program.parameters if p in used]
    lines += render_statements(scalar + vector, variables, {})
    lines.append(f"    return _obs_{name}")
    return "\n".join(lines) + "\n"


def _identifiers(expr: str) -> set[str]:
    return {
        node.id for node in ast.walk(ast.parse(expr, mode="eval")) if isinstance(node, ast.Name)
    }


_STEPS: dict[tuple[str, ...], GeneratedStep] = {}


def torch_step(model: NeuronModel, method: str | None = None) -> GeneratedStep:
    """The generated step of ``model`` for ``method`` (default: declared), cached per model file."""
    from ..brian.program import step_program

    program = step_program(model, method)
    key = (model.name, model.equations, repr(model.events), repr(model.refractory), program.method)
    if key not in _STEPS:
        _STEPS[key] = generate_step(model, program)
    return _STEPS[key]
