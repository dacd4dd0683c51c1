"""Loading and validating model files: the single definition of every neuron model.

A model file is a Python module holding a docstring with the equations and a few
module-level constants (see the ``equations`` package docstring). :func:`load_model`
reads one, checks it completely (equations parse, every parameter has a
dimensionally correct default, the method is declared and supported, ...) and
returns an immutable :class:`NeuronModel`. Both engines take their dynamics from
that object only.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from brian2 import Equations, Quantity, second
from brian2.stateupdaters.base import StateUpdateMethod
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions, get_unit

from .errors import MethodError, ModelFileError, ParameterError, UnknownModelError
from .io import import_file
from .units import scale_of, to_si, unit_name

EQUATIONS_PACKAGE = "spikebridge.equations"

_REQUIRED = (
    "EQUATIONS",
    "METHOD",
    "METHODS",
    "PARAMETERS",
    "DT",
    "INPUTS",
    "MEMBRANE",
    "EXAMPLE_INPUT",
)
_OPTIONAL = (
    "THRESHOLD",
    "RESET",
    "REFRACTORY",
    "EVENTS",
    "INITIAL",
    "RANDOM_PARAMETERS",
    "MAX_DT",
    "DT_FIXED",
    "MEMBRANE_UNIT",
    "SURROGATE_WIDTH",
)


@dataclass(frozen=True)
class EventSpec:
    """A named event: a boolean condition checked after each update, and the reset it triggers."""

    name: str
    condition: str
    reset: str | None


@dataclass(frozen=True, repr=False)
class NeuronModel:
    """One neuron model, as read from its model file. Immutable; both engines read only this."""

    name: str
    source: str
    doc: str
    equations: str
    method: str
    methods: tuple[str, ...]
    dt: Quantity
    dt_fixed: bool
    max_dt: Mapping[str, Quantity]
    events: tuple[EventSpec, ...]
    refractory: str | Quantity | None
    parameters: Mapping[str, Any]
    random_parameters: Mapping[str, tuple[Any, Any]]
    initial: Mapping[str, Any]
    inputs: tuple[str, ...]
    example_input: Mapping[str, Any]
    membrane: tuple[str, ...]
    membrane_unit: Any
    surrogate_width: float
    _eqs: Equations = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"NeuronModel({self.name!r}, method={self.method!r}, state={self.state_variables}, "
            f"events={self.event_names}, inputs={self.inputs}, dt={self.dt})"
        )

    # -- structure -------------------------------------------------------------------------
    @property
    def state_variables(self) -> tuple[str, ...]:
        """Variables with a differential equation, in the order of the equation string."""
        return tuple(name for name in self._eqs if name in self._eqs.diff_eq_names)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._eqs.parameter_names))

    @property
    def subexpression_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._eqs.subexpr_names))

    @cached_property
    def shared_parameters(self) -> frozenset[str]:
        return frozenset(
            name for name in self._eqs.parameter_names if "shared" in self._eqs[name].flags
        )

    def dim(self, name: str) -> Dimension:
        """The physical dimension of a variable of the model."""
        if name not in self._eqs:
            raise ParameterError(
                f"Model '{self.name}' has no variable '{name}'. Its variables are: "
                f"{', '.join(sorted(self._eqs.names))}."
            )
        return self._eqs[name].dim

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(event.name for event in self.events)

    @property
    def membrane_scale(self) -> float:
        """SI value of the membrane display unit (1e-3 for mV, 1 for dimensionless)."""
        return scale_of(self.membrane_unit)

    @property
    def membrane_unit_name(self) -> str:
        if get_dimensions(self.membrane_unit) is DIMENSIONLESS:
            return "1"
        return str(self.membrane_unit)

    # -- time step -------------------------------------------------------------------------
    def check_method(self, method: str | None) -> str:
        """Return the method to use (the declared one if ``method`` is None) or raise."""
        if method is None:
            return self.method
        if method not in self.methods:
            raise MethodError(
                f"Model '{self.name}' does not support method '{method}'. "
                f"Use one of: {', '.join(self.methods)} (declared: '{self.method}')."
            )
        return method

    def check_dt(self, dt: Any, method: str) -> float:
        """Validate a time step for ``method`` and return it in seconds."""
        dt_s = float(to_si(dt, second.dim, f"dt of model '{self.name}'"))
        if not math.isfinite(dt_s) or dt_s <= 0:
            raise MethodError(f"dt must be a positive time, got {dt}. Use e.g. dt={self.dt}.")
        if self.dt_fixed and not math.isclose(dt_s, float(self.dt), rel_tol=1e-9):
            raise MethodError(
                f"Model '{self.name}' is a discrete-time map defined at dt = {self.dt}; got "
                f"dt = {dt}. Use dt={self.dt} (change the model's decay to change its time scale)."
            )
        limit = self.max_dt.get(method)
        if limit is not None and dt_s > float(limit) * (1 + 1e-9):
            others = [m for m in self.methods if m != method]
            raise MethodError(
                f"dt = {dt} is too large for '{method}' on model '{self.name}' "
                f"(unstable above {limit}). Use dt <= {limit}"
                + (f", or another method ({', '.join(others)})." if others else ".")
            )
        return dt_s

    # -- values ----------------------------------------------------------------------------
    def parameter_values(
        self,
        n: int,
        overrides: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> dict[str, np.ndarray]:
        """SI values of every parameter: defaults, per-neuron random draws, then ``overrides``.

        Random parameters (``RANDOM_PARAMETERS``) are drawn with ``numpy.random.default_rng(seed)``
        in sorted name order, one value per neuron (one per model for ``shared`` parameters),
        so both engines receive identical arrays for the same seed.
        """
        overrides = dict(overrides or {})
        unknown = set(overrides) - set(self.parameter_names)
        if unknown:
            raise ParameterError(
                f"Model '{self.name}' has no parameter(s) {sorted(unknown)}. "
                f"Its parameters are: {', '.join(self.parameter_names)}."
            )
        rng = np.random.default_rng(seed)
        values: dict[str, np.ndarray] = {}
        for name in sorted(self.random_parameters):
            low, high = (
                float(to_si(bound, self.dim(name), f"bound of random parameter '{name}'"))
                for bound in self.random_parameters[name]
            )
            size = None if name in self.shared_parameters else n
            values[name] = np.asarray(low + (high - low) * rng.uniform(0.0, 1.0, size=size))
        for name, default in self.parameters.items():
            values[name] = to_si(default, self.dim(name), f"parameter '{name}' of '{self.name}'")
        for name, value in overrides.items():
            values[name] = self._per_neuron(
                to_si(value, self.dim(name), f"parameter '{name}' of '{self.name}'"), name, n
            )
        return values

    def initial_values(
        self, n: int, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """SI initial values of every state variable (0 unless ``INITIAL`` or ``overrides`` say)."""
        overrides = dict(overrides or {})
        unknown = set(overrides) - set(self.state_variables)
        if unknown:
            raise ParameterError(
                f"Model '{self.name}' has no state variable(s) {sorted(unknown)}. "
                f"Its state variables are: {', '.join(self.state_variables)}."
            )
        values = {name: np.zeros(()) for name in self.state_variables}
        for name, value in {**self.initial, **overrides}.items():
            values[name] = self._per_neuron(
                to_si(value, self.dim(name), f"initial value of '{name}' of '{self.name}'"), name, n
            )
        return values

    def _per_neuron(self, value: np.ndarray, name: str, n: int) -> np.ndarray:
        if not np.all(np.isfinite(value)):
            raise ParameterError(f"'{name}' of '{self.name}' contains NaN or infinite values.")
        if value.ndim == 0:
            return value
        if name in self.shared_parameters and value.size != 1:
            raise ParameterError(
                f"'{name}' is shared by all neurons of '{self.name}'; pass one value, "
                f"not an array of shape {value.shape}."
            )
        if value.shape not in ((n,), (1,)):
            raise ParameterError(
                f"'{name}' of '{self.name}' needs one value or one per neuron (shape ({n},)); "
                f"got shape {value.shape}."
            )
        return value


# ---------------------------------------------------------------------------------------------
def list_models() -> list[str]:
    """Names of the models shipped in ``equations/``, sorted."""
    files = importlib.resources.files(EQUATIONS_PACKAGE)
    return sorted(
        entry.name[:-3]
        for entry in files.iterdir()
        if entry.name.endswith(".py") and not entry.name.startswith("_")
    )


_CATALOGUE: dict[str, NeuronModel] = {}


def load_model(name_or_path: str | Path) -> NeuronModel:
    """Load and validate a model: a name from ``equations/`` or the path of a model file.

    Catalogue models are read once per process; a model file is read at every call, so that
    edits to it take effect.
    """
    key = str(name_or_path)
    if key in _CATALOGUE:
        return _CATALOGUE[key]
    path = Path(key)
    if key.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UnknownModelError(f"Model file '{path}' does not exist.")
        return model_from_module(_import_file(path), path.stem)
    if key not in list_models():
        raise UnknownModelError(
            f"Unknown model '{key}'. Available models: {', '.join(list_models())}; "
            "or pass the path of a model file (.py)."
        )
    model = model_from_module(importlib.import_module(f"{EQUATIONS_PACKAGE}.{key}"), key)
    _CATALOGUE[key] = model
    return model


def _import_file(path: Path) -> ModuleType:
    return import_file(
        path,
        "model file",
        ModelFileError,
        " A model file is a Python module that defines EQUATIONS, METHOD, PARAMETERS, ...",
    )


def model_from_module(module: ModuleType, name: str) -> NeuronModel:
    """Validate the constants of a model module and build the :class:`NeuronModel`."""
    where = f"model file '{getattr(module, '__file__', name)}'"

    def fail(problem: str, fix: str) -> ModelFileError:
        return ModelFileError(f"{where}: {problem}. {fix}")

    missing = [key for key in _REQUIRED if not hasattr(module, key)]
    if missing:
        raise fail(
            f"missing {', '.join(missing)}",
            "Every model file defines " + ", ".join(_REQUIRED) + ".",
        )
    doc = (module.__doc__ or "").strip()
    if not doc:
        raise fail("no docstring", "State the model's equations in the module docstring.")

    text = module.EQUATIONS
    if not isinstance(text, str):
        raise fail("EQUATIONS is not a string", "Write the Brian2 equations as one string.")
    try:
        eqs = Equations(text)
    except Exception as exc:
        raise fail(
            f"EQUATIONS do not parse: {exc}",
            "Fix the equation string (Brian2 syntax: 'dv/dt = ... : unit', 'x = ... : unit', "
            "'p : unit').",
        ) from exc

    methods = tuple(module.METHODS)
    method = module.METHOD
    if not isinstance(method, str) or not method:
        raise fail("METHOD is not declared as a string", "Declare e.g. METHOD = 'euler'.")
    known = set(StateUpdateMethod.stateupdaters)
    for m in (method, *methods):
        if m not in known:
            raise fail(
                f"unknown integration method '{m}'", f"Use one of: {', '.join(sorted(known))}."
            )
    if method not in methods:
        raise fail(f"METHOD '{method}' is not in METHODS {methods}", "Add it to METHODS.")

    events = _events(module, eqs, fail)
    parameters = dict(module.PARAMETERS)
    random_parameters = dict(getattr(module, "RANDOM_PARAMETERS", {}))
    _check_parameters(eqs, parameters, random_parameters, fail)
    initial = dict(getattr(module, "INITIAL", {}))
    for var, value in initial.items():
        if var not in eqs.diff_eq_names:
            raise fail(
                f"INITIAL sets '{var}', which is not a state variable",
                f"State variables are: {', '.join(sorted(eqs.diff_eq_names))}.",
            )
        _check_dim(eqs, var, value, "INITIAL", fail)

    inputs = tuple(module.INPUTS)
    for var in inputs:
        if var not in eqs.parameter_names:
            raise fail(
                f"INPUTS names '{var}', which is not a parameter",
                "Inputs are parameters ('I : amp') that the engines set at every step.",
            )
    example_input = dict(module.EXAMPLE_INPUT)
    if set(example_input) != set(inputs):
        raise fail(
            f"EXAMPLE_INPUT sets {sorted(example_input)}, not the inputs {sorted(inputs)}",
            "Give one example value (at which the model fires) for every input.",
        )
    for var, value in example_input.items():
        _check_dim(eqs, var, value, "EXAMPLE_INPUT", fail)
    membrane = tuple(module.MEMBRANE)
    for var in membrane:
        stateless_input = not eqs.diff_eq_names and var in eqs.parameter_names
        if var not in eqs.diff_eq_names and var not in eqs.subexpr_names and not stateless_input:
            raise fail(
                f"MEMBRANE names '{var}', which is neither a state variable nor a subexpression",
                "Name the membrane potential variable(s) (a model without state variables, "
                "such as a threshold unit, may name its input).",
            )
    # without MEMBRANE_UNIT, the membrane variable's own (SI) unit, as its equation declares it
    membrane_unit = getattr(module, "MEMBRANE_UNIT", None)
    if membrane_unit is None:
        dim = eqs[membrane[0]].dim
        membrane_unit = 1 if dim is DIMENSIONLESS else get_unit(dim)
    if get_dimensions(membrane_unit) is not eqs[membrane[0]].dim:
        raise fail(
            f"MEMBRANE_UNIT {membrane_unit} does not match the dimension of '{membrane[0]}'",
            f"Use a unit of {unit_name(eqs[membrane[0]].dim)}.",
        )

    dt = module.DT
    if get_dimensions(dt) is not second.dim:
        raise fail(f"DT = {dt} is not a time", "Declare e.g. DT = 0.01 * ms.")
    max_dt = dict(getattr(module, "MAX_DT", {}))
    refractory = getattr(module, "REFRACTORY", None)
    if refractory is not None and not isinstance(refractory, (str, Quantity)):
        raise fail(
            "REFRACTORY is neither a string nor a time", "Use e.g. '2*ms', 't_ref', or a condition."
        )

    return NeuronModel(
        name=name,
        source=str(getattr(module, "__file__", name)),
        doc=doc,
        equations=text,
        method=method,
        methods=methods,
        dt=dt,
        dt_fixed=bool(getattr(module, "DT_FIXED", False)),
        max_dt=max_dt,
        events=events,
        refractory=refractory,
        parameters=parameters,
        random_parameters=random_parameters,
        initial=initial,
        inputs=inputs,
        example_input=example_input,
        membrane=membrane,
        membrane_unit=membrane_unit,
        surrogate_width=float(getattr(module, "SURROGATE_WIDTH", 0.5)),
        _eqs=eqs,
    )


def _events(module: ModuleType, eqs: Equations, fail: Any) -> tuple[EventSpec, ...]:
    events: list[EventSpec] = []
    threshold = getattr(module, "THRESHOLD", None)
    reset = getattr(module, "RESET", None)
    if threshold is not None:
        if not isinstance(threshold, str):
            raise fail("THRESHOLD is not a string", "Write a condition such as 'v > v_th'.")
        events.append(EventSpec("spike", threshold, reset or None))
    elif reset:
        raise fail("RESET is given without THRESHOLD", "Add the spike condition THRESHOLD.")
    for name, spec in dict(getattr(module, "EVENTS", {})).items():
        if name == "spike":
            raise fail("EVENTS redefines 'spike'", "Use THRESHOLD/RESET for the spike event.")
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)):
            raise fail(
                f"EVENTS['{name}'] is not a (condition, reset) pair",
                "Write e.g. EVENTS = {'burst': ('v > v_b', 'v = v_r')}; reset may be None.",
            )
        events.append(EventSpec(name, spec[0], spec[1] or None))
    if not events:
        raise fail("no spike condition", "Declare THRESHOLD (or named EVENTS).")
    return tuple(events)


def _check_dim(eqs: Equations, var: str, value: Any, table: str, fail: Any) -> None:
    expected = eqs[var].dim
    got = get_dimensions(value)
    if got is not expected:
        raise fail(
            f"{table}['{var}'] = {value!r} has units of {unit_name(got)}, but '{var}' is declared "
            f"in {unit_name(expected)}",
            f"Give it in units of {unit_name(expected)}.",
        )
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise fail(f"{table}['{var}'] is not finite", "Give a finite value.")


def _check_parameters(
    eqs: Equations,
    parameters: dict[str, Any],
    random_parameters: dict[str, tuple[Any, Any]],
    fail: Any,
) -> None:
    declared = set(eqs.parameter_names)
    both = set(parameters) & set(random_parameters)
    if both:
        raise fail(
            f"{sorted(both)} appear in both PARAMETERS and RANDOM_PARAMETERS",
            "Keep each parameter in one table.",
        )
    given = set(parameters) | set(random_parameters)
    missing = declared - given
    if missing:
        example = sorted(missing)[0]
        raise fail(
            f"parameter(s) {sorted(missing)} are declared in EQUATIONS but have no default",
            f"Add them to PARAMETERS, e.g. '{example}': <value> * <unit of "
            f"{unit_name(eqs[example].dim)}>.",
        )
    extra = given - declared
    if extra:
        raise fail(
            f"PARAMETERS gives {sorted(extra)}, which EQUATIONS do not declare as parameters",
            "Declare them in EQUATIONS ('name : unit') or remove them.",
        )
    for var, value in parameters.items():
        _check_dim(eqs, var, value, "PARAMETERS", fail)
    for var, bounds in random_parameters.items():
        if not (isinstance(bounds, tuple) and len(bounds) == 2):
            raise fail(
                f"RANDOM_PARAMETERS['{var}'] is not a (low, high) pair", "Write (low, high)."
            )
        for bound in bounds:
            _check_dim(eqs, var, bound, "RANDOM_PARAMETERS", fail)
