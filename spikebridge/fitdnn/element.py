"""The delay-system element: its file, and Brian2's update for it as an affine map.

An element file (``equations/delay/``) holds one state variable ``x`` and one input ``a``.
With ``a`` held over a step (the folded network changes it only at step boundaries),
Brian2's update for the declared method is affine in ``x``::

    x[k+1] = c * x[k] + u(a[k])

:func:`element_update` builds the element's ``NeuronGroup``, takes the statements Brian2
generates for one step, renders them into torch (as the neuron engine does) and measures
``c`` and ``u`` from that code; it refuses an element whose update is not affine in ``x``
with a constant ``c`` (the folded network's closed-form layers need exactly this). Nothing
about the element's dynamics is typed a second time.
"""

from __future__ import annotations

import importlib
import importlib.resources
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from brian2 import Equations, Network, NeuronGroup, Quantity, second
from brian2.groups.neurongroup import StateUpdater
from brian2.stateupdaters.base import StateUpdateMethod
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions
from torch import Tensor

from ..brian.devices import brian2_session
from ..brian.program import code_block
from ..errors import ModelFileError, UnknownModelError
from ..io import import_file
from ..torch import functions as F
from ..torch.codegen import compile_source, render_statements

ELEMENTS_PACKAGE = "spikebridge.equations.delay"
_REQUIRED = ("EQUATIONS", "METHOD", "METHODS", "STATE", "INPUT", "PARAMETERS", "TIME_UNIT")


@dataclass(frozen=True, repr=False)
class DelayElement:
    """One delay-system element, as read from its file."""

    name: str
    source: str
    equations: str
    method: str
    methods: tuple[str, ...]
    state: str
    input: str
    parameters: Mapping[str, Any]
    time_unit: Quantity
    _eqs: Equations = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"DelayElement({self.name!r}, method={self.method!r}, time_unit={self.time_unit})"

    @property
    def brian_equations(self) -> Equations:
        return self._eqs

    def check_method(self, method: str | None) -> str:
        method = method or self.method
        if method not in self.methods:
            raise ModelFileError(
                f"Element '{self.name}' does not support method '{method}'. "
                f"Use one of: {', '.join(self.methods)}."
            )
        return method


def list_elements() -> list[str]:
    """Names of the elements shipped in ``equations/delay/``."""
    files = importlib.resources.files(ELEMENTS_PACKAGE)
    return sorted(
        e.name[:-3] for e in files.iterdir() if e.name.endswith(".py") and e.name[0] != "_"
    )


def load_element(name_or_path: str | Path) -> DelayElement:
    """An element by name (``equations/delay/``) or by the path of an element file."""
    key = str(name_or_path)
    path = Path(key)
    if key.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UnknownModelError(f"Element file '{path}' does not exist.")
        module = import_file(
            path, "element file", ModelFileError, " It defines " + ", ".join(_REQUIRED) + "."
        )
        return element_from_module(module, path.stem)
    if key not in list_elements():
        raise UnknownModelError(
            f"Unknown delay element '{key}'. Available: {', '.join(list_elements())}; or pass "
            "the path of an element file (.py)."
        )
    return element_from_module(importlib.import_module(f"{ELEMENTS_PACKAGE}.{key}"), key)


def element_from_module(module: ModuleType, name: str) -> DelayElement:
    where = f"element file '{getattr(module, '__file__', name)}'"

    def fail(problem: str, fix: str) -> ModelFileError:
        return ModelFileError(f"{where}: {problem}. {fix}")

    missing = [key for key in _REQUIRED if not hasattr(module, key)]
    if missing:
        raise fail(f"missing {', '.join(missing)}", "Define " + ", ".join(_REQUIRED) + ".")
    try:
        eqs = Equations(module.EQUATIONS)
    except Exception as exc:
        raise fail(f"EQUATIONS do not parse: {exc}", "Fix the Brian2 equation string.") from exc
    state, inp = module.STATE, module.INPUT
    if list(eqs.diff_eq_names) != [state]:
        raise fail(
            f"the element has state variables {sorted(eqs.diff_eq_names)}",
            f"A delay element has exactly one, STATE = '{state}'.",
        )
    for var in (state, inp):
        if eqs[var].dim is not DIMENSIONLESS:
            raise fail(f"'{var}' is not dimensionless", "State and input are plain numbers.")
    if inp not in eqs.parameter_names:
        raise fail(f"INPUT '{inp}' is not a parameter", f"Declare it as '{inp} : 1'.")
    parameters = dict(module.PARAMETERS)
    others = set(eqs.parameter_names) - {inp}
    if set(parameters) != others:
        raise fail(
            f"PARAMETERS sets {sorted(parameters)}, the equations declare {sorted(others)}",
            "Give a value for every parameter except the input.",
        )
    time_unit = module.TIME_UNIT
    if get_dimensions(time_unit) is not second.dim:
        raise fail(f"TIME_UNIT = {time_unit} is not a time", "Use e.g. TIME_UNIT = 1 * ms.")
    methods = tuple(module.METHODS)
    known = set(StateUpdateMethod.stateupdaters)
    for m in (module.METHOD, *methods):
        if m not in known:
            raise fail(f"unknown method '{m}'", f"Use one of: {', '.join(sorted(known))}.")
    if module.METHOD not in methods:
        raise fail(f"METHOD '{module.METHOD}' is not in METHODS", "Add it to METHODS.")
    return DelayElement(
        name=name,
        source=str(getattr(module, "__file__", name)),
        equations=module.EQUATIONS,
        method=module.METHOD,
        methods=methods,
        state=state,
        input=inp,
        parameters=parameters,
        time_unit=time_unit,
        _eqs=eqs,
    )


@dataclass(frozen=True)
class ElementUpdate:
    """One step of an element at a fixed ``dt``: ``x <- c * x + drive(a)``."""

    element: str
    method: str
    dt: float  # seconds
    c: float
    drive: Callable[[Tensor], Tensor]
    source: str

    def node_gain(self, substeps: int) -> float:
        """Weight of a constant drive over ``substeps`` steps: sum of c^r, r < substeps."""
        return float(sum(self.c**r for r in range(substeps)))

    def steady_state(self, a: Tensor) -> Tensor:
        """The fixed point of the step at constant input (theta -> infinity)."""
        return self.drive(a) / (1.0 - self.c)


_UPDATES: dict[tuple[str, str, str, float], ElementUpdate] = {}


def element_update(element: DelayElement, dt: float, method: str | None = None) -> ElementUpdate:
    """Brian2's step of ``element`` at ``dt`` seconds, rendered into torch; checked affine."""
    method = element.check_method(method)
    key = (element.name, element.equations, method, float(dt))
    if key not in _UPDATES:
        _UPDATES[key] = _render(element, method, float(dt))
    return _UPDATES[key]


def _render(element: DelayElement, method: str, dt: float) -> ElementUpdate:
    with brian2_session("numpy"):
        group = NeuronGroup(2, element.brian_equations, method=method, dt=dt * second)
        for name, value in element.parameters.items():
            setattr(group, name, value)
        network = Network(group)
        try:
            network.run(0 * second, namespace={})
        except Exception as exc:
            raise ModelFileError(
                f"Brian2 cannot integrate element '{element.name}' with '{method}': {exc}"
            ) from exc
        updater = next(obj for obj in network.sorted_objects if isinstance(obj, StateUpdater))
        block = code_block(updater, "stateupdate", None)
    x, a = element.state, element.input
    names = [name for name in element.parameters]
    lines = [
        f"def update({x}, {a}, _0params, dt, t):",
        f'    """Brian2\'s \'{method}\' step of element \'{element.name}\'."""',
        f"    _0dtype = {x}.dtype",
    ]
    lines += [f"    {name} = _0params[{name!r}]" for name in names]
    statements = block.scalar_statements + block.vector_statements
    lines += render_statements(statements, block.variables, block.conditional_writes)
    lines.append(f"    return {x}")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {"_0F": F, "_0torch": torch}
    function = compile_source(source, f"{element.name}_{method}_update", namespace)["update"]
    params = {name: float(np.asarray(value)) for name, value in element.parameters.items()}

    def step(xv: Tensor, av: Tensor) -> Tensor:
        return function(xv, av, params, dt, torch.zeros((), dtype=xv.dtype))

    probe = torch.linspace(-3.0, 3.0, 13, dtype=torch.float64)
    zero = torch.zeros_like(probe)
    at0, at1, at2 = step(zero, probe), step(zero + 1.0, probe), step(zero - 2.0, probe)
    slope = at1 - at0
    c = float(slope[0])
    scale = max(1.0, float(at0.abs().max()))
    if not (
        torch.allclose(slope, torch.full_like(slope, c), atol=1e-12 * scale, rtol=0)
        and torch.allclose(at2, at0 - 2.0 * slope, atol=1e-12 * scale, rtol=0)
    ):
        raise ModelFileError(
            f"Element '{element.name}' with '{method}': the step is not x <- c x + u(a) with a "
            "constant c, which the folded network's closed-form layers need. Write the state's "
            "equation linear in it (the nonlinearity acting on the input), e.g. "
            "'dx/dt = (-x + f(a))/tau'."
        )
    if not 0.0 < c < 1.0:
        raise ModelFileError(
            f"Element '{element.name}' with '{method}' at dt = {dt} s decays by c = {c} per "
            "step; a delay element must relax (0 < c < 1). Use more substeps."
        )

    def drive(av: Tensor) -> Tensor:
        return step(torch.zeros_like(av), av)

    return ElementUpdate(element.name, method, dt, c, drive, source)
