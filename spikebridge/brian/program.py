"""Brian2's own code for one time step of a model, in schedule order.

:func:`step_program` builds the model's ``NeuronGroup`` in runtime mode, lets Brian2
prepare a run (state updater for the declared method, thresholders, resetters,
refractoriness) and collects, for every code block the group executes in one step,
the statements Brian2 generates from its abstract code (``make_statements``, the
same call its code generators make, loop-invariant hoisting included). The torch
engine renders exactly these statements; nothing about a model's dynamics is typed
a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Network, second
from brian2.codegen.statements import Statement
from brian2.codegen.translation import get_identifiers_recursively, make_statements
from brian2.core.variables import Subexpression
from brian2.groups.neurongroup import Resetter, StateUpdater, Thresholder

from ..model import NeuronModel
from .devices import brian2_session
from .group import make_neuron_group, model_error

#: Brian2 variables the torch engine keeps as state in addition to the model's own.
REFRACTORY_STATE = ("not_refractory", "lastspike")


@dataclass(frozen=True)
class CodeBlock:
    """One code object of a step: a state update, an event's threshold or an event's reset."""

    kind: str  # "stateupdate", "threshold" or "reset"
    event: str | None
    abstract_code: str
    scalar_statements: tuple[Statement, ...]
    vector_statements: tuple[Statement, ...]
    variables: Mapping[str, Any]
    conditional_writes: Mapping[str, str]
    uses_refractory: bool


@dataclass(frozen=True)
class StepProgram:
    """Everything one time step of a model does, as Brian2 statements in schedule order."""

    model: str
    method: str
    blocks: tuple[CodeBlock, ...]
    state_variables: tuple[str, ...]
    parameters: tuple[str, ...]
    events: tuple[str, ...]
    observables: Mapping[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]]
    observable_variables: Mapping[str, Mapping[str, Any]]


_PROGRAMS: dict[tuple[str, ...], StepProgram] = {}


def step_program(model: NeuronModel, method: str | None = None) -> StepProgram:
    """The step program of ``model`` for ``method`` (default: the declared one). Cached."""
    method = model.check_method(method)
    key = (
        model.name,
        model.equations,
        repr(model.events),
        repr(model.refractory),
        method,
    )
    if key not in _PROGRAMS:
        _PROGRAMS[key] = _extract(model, method)
    return _PROGRAMS[key]


def _extract(model: NeuronModel, method: str) -> StepProgram:
    with brian2_session("numpy"):
        group = make_neuron_group(model, 2, method, float(model.dt))
        network = Network(group)
        try:
            network.run(0 * second, namespace={})
        except Exception as exc:
            raise model_error(model, method, exc) from exc
        dtype = np.float64
        blocks: list[CodeBlock] = []
        for obj in network.sorted_objects:
            if isinstance(obj, StateUpdater):
                kind, event = "stateupdate", None
            elif isinstance(obj, Thresholder):
                kind, event = "threshold", obj.event
            elif isinstance(obj, Resetter):
                kind, event = "reset", obj.event
            else:
                continue
            blocks.append(code_block(obj, kind, event, dtype))
        observables, observable_variables = _observables(group, model, dtype)
        refractory_state = REFRACTORY_STATE if model.refractory is not None else ()
        return StepProgram(
            model=model.name,
            method=method,
            blocks=tuple(blocks),
            state_variables=model.state_variables + refractory_state,
            parameters=model.parameter_names,
            events=model.event_names,
            observables=observables,
            observable_variables=observable_variables,
        )


def code_block(obj: Any, kind: str, event: str | None, dtype: Any = np.float64) -> CodeBlock:
    """The statements Brian2 generates for code runner ``obj`` (after a prepared run)."""
    variables = dict(obj.codeobj.variables)
    scalar, vector = make_statements(
        obj.abstract_code, variables, dtype, optimise=True, blockname=obj.name
    )
    written = {stmt.var for stmt in vector}
    overridden = set(getattr(obj, "override_conditional_write", None) or ())
    conditional = {
        var: variables[var].conditional_write.name
        for var in written
        if var in variables
        and getattr(variables[var], "conditional_write", None) is not None
        and variables[var].conditional_write.name not in overridden
    }
    return CodeBlock(
        kind=kind,
        event=event,
        abstract_code=obj.abstract_code,
        scalar_statements=tuple(scalar),
        vector_statements=tuple(vector),
        variables=variables,
        conditional_writes=conditional,
        uses_refractory=bool(obj.template_kwds.get("_uses_refractory", False))
        if kind == "threshold"
        else False,
    )


def _observables(
    group: Any, model: NeuronModel, dtype: Any
) -> tuple[
    dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]], dict[str, dict[str, Any]]
]:
    """Statements that compute each subexpression of the model from the state (``_obs_<name>``)."""
    statements: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}
    all_variables: dict[str, dict[str, Any]] = {}
    for name in model.subexpression_names:
        identifiers = get_identifiers_recursively([name], group.variables)
        variables = group.resolve_all(identifiers | {name}, run_namespace={})
        assert isinstance(variables[name], Subexpression)
        scalar, vector = make_statements(
            f"_obs_{name} = {name}", variables, dtype, optimise=True, blockname=f"obs_{name}"
        )
        statements[name] = (tuple(scalar), tuple(vector))
        all_variables[name] = dict(variables)
    return statements, all_variables
