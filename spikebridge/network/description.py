"""The network description: populations, sources, inputs and projections as plain typed data.

A :class:`Network` is what a model file is for a neuron: the one definition both engines
build from. It holds

* :class:`Population`: ``prod(shape)`` neurons of a model (a name from ``equations/`` or a
  model file), integrated with a declared method; parameters and initial values per
  population or per neuron (quantities or seeded :class:`~.values.Uniform`/``Normal``
  draws); the parameters to train;
* sources: :class:`PoissonSource` (rates; drawn once from a seed and given to both engines
  as spike trains, or drawn by each engine), :class:`SpikeSource` (given spike trains),
  :class:`ValueSource` (values held over a trial, such as the pixels of an image; with an
  optional constant unit for biases) and :class:`ConstantSource`;
* :class:`CurrentInput`: a waveform driving a parameter of a population (sampled at the
  start of each step, Brian2's convention);
* :class:`Projection`: synapses between any two groups (recurrent and self included) with a
  :mod:`~.connectivity` and a :class:`Synapse` model in Brian2's ``Synapses`` syntax
  (``model`` with per-synapse parameters, synaptic state and ``(summed)`` variables,
  ``on_pre``/``on_post``), the weights of its weight variable, an optional bias, delays in
  whole steps (one per projection or per synapse) and the initial values of other
  synaptic variables;
* one ``dt`` and a ``schedule``: ``"brian2"`` (Brian2's default: update, thresholds,
  synapses, resets; a spike acts on its targets from the next step) or ``"layered"`` (the
  deep-learning order: populations update in the order given, each after the summed
  variables and spikes arriving onto it, so a feed-forward layer sees the previous layer's
  spikes of the same step, as in snnTorch; spikes of the same or a later population, i.e.
  recurrent and backward projections, arrive from the previous step);
* ``tied``: parameters of several populations trained as one (the paper's s-LIF2HH conv
  net shares its 3->1 map between its two layers).

Construction checks the structure (names, references, shapes that need no model);
:func:`~.plan.plan_network` checks everything against the models and resolves the values.
Network files (:mod:`~.file`) store descriptions losslessly.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, second
from brian2.units.fundamentalunits import get_dimensions

from ..errors import InputError
from .connectivity import Chain, Connectivity, FixedInDegree, Pool2d, Probability

#: Names Brian2 or the engines reserve (they cannot name a population, source or projection).
RESERVED = frozenset({"t", "dt", "i", "j", "N", "xi", "lastupdate", "delay", "network"})
SCHEDULES = ("brian2", "layered")
REALISATIONS = ("frozen", "engine")


def check_name(name: Any, what: str) -> str:
    """A valid name of a network element: an identifier without leading ``_`` or ``__``."""
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or name.startswith("_")
        or "__" in name
        or name in RESERVED
    ):
        raise InputError(
            f"{what} name {name!r} is not allowed: use a Python identifier that does not start "
            f"with '_', contains no '__' and is none of {', '.join(sorted(RESERVED))}."
        )
    return name


def check_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A size or shape as a tuple of positive integers."""
    values = (
        (shape,) if isinstance(shape, int | np.integer) and not isinstance(shape, bool) else shape
    )
    try:
        dims = tuple(int(v) for v in values)
        ok = all(int(v) == v and not isinstance(v, bool) for v in values) and dims
    except (TypeError, ValueError):
        ok = False
    if not ok or min(dims) < 1:
        raise InputError(
            f"{what} needs a size (a positive integer) or a shape (a tuple of them), got {shape!r}."
        )
    return dims


def _frozen_mapping(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


# -- groups --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Population:
    """``prod(shape)`` neurons of one model (a catalogue name, a model file or a loaded model)."""

    name: str
    model: Any
    shape: int | tuple[int, ...]
    method: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    initial: Mapping[str, Any] = field(default_factory=dict)
    trainable: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        check_name(self.name, "Population")
        object.__setattr__(self, "shape", check_shape(self.shape, f"Population '{self.name}'"))
        object.__setattr__(self, "parameters", _frozen_mapping(self.parameters))
        object.__setattr__(self, "initial", _frozen_mapping(self.initial))
        object.__setattr__(self, "trainable", tuple(self.trainable))
        if isinstance(self.model, Path):
            object.__setattr__(self, "model", str(self.model))

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class PoissonSource:
    """Poisson spike trains at ``rates`` (a frequency: one value or one per neuron).

    ``realisation="frozen"`` (default): the trains are drawn once with numpy from ``seed``
    (per trial) and given to both engines (a ``SpikeGeneratorGroup`` in Brian2), so the two
    engines see the same spikes; ``"engine"``: each engine draws its own (Brian2's
    ``PoissonGroup``, ``torch.rand``), statistically equal but not spike for spike."""

    name: str
    shape: int | tuple[int, ...]
    rates: Any
    realisation: str = "frozen"
    seed: int = 0

    def __post_init__(self) -> None:
        check_name(self.name, "PoissonSource")
        object.__setattr__(self, "shape", check_shape(self.shape, f"PoissonSource '{self.name}'"))
        if self.realisation not in REALISATIONS:
            raise InputError(
                f"PoissonSource '{self.name}': realisation must be one of "
                f"{', '.join(REALISATIONS)}, got {self.realisation!r}."
            )

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class SpikeSource:
    """Given spike trains: neuron ``indices[k]`` fires at step ``steps[k]`` (whole steps of
    the network's dt; give ``times`` instead to have them converted and checked)."""

    name: str
    shape: int | tuple[int, ...]
    indices: Any = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    steps: Any = None
    times: Any = None

    def __post_init__(self) -> None:
        check_name(self.name, "SpikeSource")
        object.__setattr__(self, "shape", check_shape(self.shape, f"SpikeSource '{self.name}'"))
        if (self.steps is None) == (self.times is None):
            raise InputError(f"SpikeSource '{self.name}': give exactly one of steps and times.")
        indices = np.asarray(self.indices)
        if indices.ndim != 1 or (len(indices) and not np.issubdtype(indices.dtype, np.integer)):
            raise InputError(f"SpikeSource '{self.name}': indices must be a 1-d integer array.")
        if len(indices) and (indices.min() < 0 or indices.max() >= self.size):
            raise InputError(
                f"SpikeSource '{self.name}': indices must lie in [0, {self.size}), got "
                f"{indices.min()}..{indices.max()}."
            )
        object.__setattr__(self, "indices", indices.astype(np.int64))
        if self.steps is not None:
            steps = np.asarray(self.steps)
            if steps.shape != indices.shape or (
                len(steps) and not np.issubdtype(steps.dtype, np.integer)
            ):
                raise InputError(
                    f"SpikeSource '{self.name}': steps must be integers, one per index."
                )
            if len(steps) and steps.min() < 0:
                raise InputError(f"SpikeSource '{self.name}': steps must be >= 0.")
            object.__setattr__(self, "steps", steps.astype(np.int64))

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class ValueSource:
    """Values ``x`` (dimensionless) held over a trial, such as the pixels of an image: the
    paper's input, applied at every step. ``values``: one per unit (the default trial; a run
    may give one set per trial). ``constant_unit``: add a unit fixed at 1 after the others,
    the presynaptic side of projection biases."""

    name: str
    shape: int | tuple[int, ...]
    values: Any = None
    constant_unit: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "ValueSource")
        object.__setattr__(self, "shape", check_shape(self.shape, f"ValueSource '{self.name}'"))
        if self.values is not None:
            values = np.asarray(self.values, dtype=np.float64)
            if values.size != self.size or not np.all(np.isfinite(values)):
                raise InputError(
                    f"ValueSource '{self.name}': values must be {self.size} finite numbers, got "
                    f"shape {values.shape}."
                )
            object.__setattr__(self, "values", values.reshape(self.size))

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class ConstantSource:
    """``size`` units fixed at ``value`` (dimensionless): constant drives, e.g. a bias."""

    name: str
    shape: int | tuple[int, ...] = 1
    value: float = 1.0

    def __post_init__(self) -> None:
        check_name(self.name, "ConstantSource")
        object.__setattr__(self, "shape", check_shape(self.shape, f"ConstantSource '{self.name}'"))
        if not math.isfinite(float(self.value)):
            raise InputError(f"ConstantSource '{self.name}': value must be finite.")

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]


Source = PoissonSource | SpikeSource | ValueSource | ConstantSource


@dataclass(frozen=True, eq=False)
class CurrentInput:
    """A waveform driving parameter ``variable`` of population ``target``: a scalar, one value
    per step ``[T]`` or per step and neuron ``[T, n]`` (quantities in the parameter's unit)."""

    target: str
    variable: str
    values: Any


# -- projections ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Synapse:
    """A synapse model in Brian2's ``Synapses`` syntax.

    ``model``: equations of the synapses (``w : siemens``, ``dx/dt = -x/tau : 1
    (clock-driven)``, ``I_post = w * x_pre : amp (summed)``); ``on_pre``/``on_post``: the
    statements run when the source/target neuron fires (a string, or one per pathway name
    with ``on_event`` giving each pathway's event); ``method``: the integration method of
    clock-driven synaptic equations (declared, never left to Brian2's default)."""

    model: str = ""
    on_pre: str | Mapping[str, str] | None = None
    on_post: str | None = None
    on_event: str | Mapping[str, str] = "spike"
    method: str = "euler"

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise InputError("Synapse model must be a string of Brian2 equations.")
        if isinstance(self.on_pre, Mapping):
            object.__setattr__(self, "on_pre", dict(self.on_pre))
        if isinstance(self.on_event, Mapping):
            object.__setattr__(self, "on_event", dict(self.on_event))


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from group ``source`` to group ``target`` (may be the same population).

    ``weight``: the synaptic variable that ``weights`` fill (None: the synapse model has no
    weight); ``weights``: a quantity in that variable's unit, a scalar, an array of the
    connectivity's weight shape (``[n_pre, n_post]`` for Dense, one per synapse for
    Sparse and the random rules, ``[C_out, C_in, k, k]`` for Conv2d) or a distribution; fixed
    connectivities (pooling) fill it themselves. ``bias``: one value per target neuron (per
    output channel for Conv2d), added through synapses from the source's constant unit
    (``ValueSource(..., constant_unit=True)``). ``delay``: a time (whole steps) for all
    synapses or one per synapse, applied to the ``on_pre`` pathways. ``values``: initial
    values of other synaptic variables. ``trainable``: the weights (and bias) are trained."""

    name: str
    source: str
    target: str
    synapse: Synapse
    connectivity: Connectivity
    weight: str | None = "w"
    weights: Any = None
    bias: Any = None
    delay: Any = None
    values: Mapping[str, Any] = field(default_factory=dict)
    trainable: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_name(self.name, "Projection")
        if not isinstance(self.connectivity, Connectivity):
            raise InputError(
                f"Projection '{self.name}': connectivity must be one of Dense, Sparse, "
                "Probability, FixedInDegree, OneToOne, Conv2d, Pool2d, Chain."
            )
        if not isinstance(self.synapse, Synapse):
            raise InputError(f"Projection '{self.name}': synapse must be a Synapse.")
        object.__setattr__(self, "values", _frozen_mapping(self.values))
        if self.source == self.target and isinstance(
            self.connectivity, Probability | FixedInDegree
        ):
            object.__setattr__(self, "connectivity", _recurrent(self.connectivity))
        if self.delay is not None and get_dimensions(self.delay) is not second.dim:
            raise InputError(
                f"Projection '{self.name}': delay must be a time (e.g. 1.5 * ms), got "
                f"{self.delay!r}."
            )


def _recurrent(rule: Probability | FixedInDegree) -> Probability | FixedInDegree:
    from dataclasses import replace

    return replace(rule, recurrent=True)


def uses_weights(connectivity: Connectivity) -> bool:
    """Whether the connectivity has a weight parameter (pooling alone has fixed weights)."""
    if isinstance(connectivity, Pool2d):
        return False
    if isinstance(connectivity, Chain):
        return any(uses_weights(m) for m in connectivity.maps)
    return True


# -- the network ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Network:
    """A spiking network as data; see the module docstring."""

    name: str
    dt: Any
    populations: tuple[Population, ...] = ()
    sources: tuple[Source, ...] = ()
    projections: tuple[Projection, ...] = ()
    inputs: tuple[CurrentInput, ...] = ()
    schedule: str = "brian2"
    duration: Any = None
    doc: str = ""
    #: groups of ``"population.parameter"`` names trained as one parameter (the first owns it)
    tied: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "Network")
        for attr in ("populations", "sources", "projections", "inputs"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        object.__setattr__(self, "tied", tuple(tuple(group) for group in self.tied))
        if get_dimensions(self.dt) is not second.dim or not float(self.dt) > 0:
            raise InputError(f"Network '{self.name}': dt must be a positive time, got {self.dt!r}.")
        if self.duration is not None and (
            get_dimensions(self.duration) is not second.dim or not float(self.duration) > 0
        ):
            raise InputError(
                f"Network '{self.name}': duration must be a positive time, got {self.duration!r}."
            )
        if self.schedule not in SCHEDULES:
            raise InputError(
                f"Network '{self.name}': schedule must be one of {', '.join(SCHEDULES)}, got "
                f"{self.schedule!r}."
            )
        if not self.populations:
            raise InputError(f"Network '{self.name}' has no population.")
        names = [g.name for g in (*self.populations, *self.sources)]
        names += [p.name for p in self.projections]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError(
                f"Network '{self.name}': the names {duplicates} are used twice; every population, "
                "source and projection needs its own name."
            )
        groups = self.group_names
        for projection in self.projections:
            for end in ("source", "target"):
                ref = getattr(projection, end)
                if ref not in groups:
                    raise InputError(
                        f"Projection '{projection.name}': unknown {end} {ref!r}. The network's "
                        f"populations and sources are: {', '.join(groups)}."
                    )
            if projection.target not in self.population_names:
                raise InputError(
                    f"Projection '{projection.name}' targets source {projection.target!r}; "
                    "sources only send. Target a population."
                )
        for group in self.tied:
            if len(group) < 2:
                raise InputError(
                    f"Network '{self.name}': a tied group needs two names, got {group}."
                )
            for name in group:
                pop, _, param = name.partition(".")
                if pop not in self.population_names or param not in self.group(pop).trainable:  # type: ignore[union-attr]
                    raise InputError(
                        f"Network '{self.name}': tied '{name}' is not a trainable parameter of a "
                        "population; name 'population.parameter' listed in its trainable=(...)."
                    )
        for current in self.inputs:
            if current.target not in self.population_names:
                raise InputError(
                    f"CurrentInput targets unknown population {current.target!r}; the "
                    f"populations are: {', '.join(self.population_names)}."
                )

    @property
    def dt_seconds(self) -> float:
        return float(self.dt / second) if isinstance(self.dt, Quantity) else float(self.dt)

    @property
    def population_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.populations)

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in (*self.populations, *self.sources))

    def group(self, name: str) -> Population | Source:
        for group in (*self.populations, *self.sources):
            if group.name == name:
                return group
        raise InputError(
            f"Network '{self.name}' has no population or source {name!r}; it has: "
            f"{', '.join(self.group_names)}."
        )

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise InputError(
            f"Network '{self.name}' has no projection {name!r}; it has: "
            f"{', '.join(p.name for p in self.projections)}."
        )
