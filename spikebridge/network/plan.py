"""A network description checked against its models and resolved to SI arrays.

:func:`plan_network` loads every population's model, checks the method and ``dt``,
resolves parameters, initial values and distributions, draws random connectivity, checks
weights, biases and delays against the connectivity and the synapse model's units, and
returns a :class:`NetworkPlan` that both engines build from. Problems are raised as
:class:`~spikebridge.errors.InputError` naming the element and the fix; what only Brian2
can check (the synaptic statements against the groups' variables) is checked when the
Brian2 network is built (:mod:`spikebridge.brian.network`), the same build the torch
engine's code comes from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from brian2 import Equations, second
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension

from ..errors import InputError, ParameterError, SpikebridgeError
from ..model import NeuronModel, load_model
from ..units import unit_name
from .connectivity import Chain, Conv2d, SynapseArrays
from .description import (
    Network,
    PoissonSource,
    Population,
    Projection,
    Source,
    SpikeSource,
    ValueSource,
    uses_weights,
)
from .values import resolve_value

#: The variable of value and constant sources (dimensionless).
SOURCE_VARIABLE = "x"


@dataclass(frozen=True, eq=False)
class PopulationPlan:
    """A population resolved: its model, method, size and SI parameter and initial values."""

    name: str
    model: NeuronModel
    method: str
    shape: tuple[int, ...]
    parameters: Mapping[str, np.ndarray]
    initial: Mapping[str, np.ndarray]
    trainable: tuple[str, ...]

    @property
    def n(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, eq=False)
class SynapseModel:
    """A projection's synapse equations, parsed: variables and what kind each is."""

    equations: Equations

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        return tuple(n for n, eq in self.equations.items() if eq.type == PARAMETER)

    @cached_property
    def state_variables(self) -> tuple[str, ...]:
        return tuple(n for n, eq in self.equations.items() if eq.type == DIFFERENTIAL_EQUATION)

    @cached_property
    def summed(self) -> tuple[str, ...]:
        return tuple(
            n
            for n, eq in self.equations.items()
            if eq.type == SUBEXPRESSION and "summed" in eq.flags
        )

    @cached_property
    def event_driven(self) -> tuple[str, ...]:
        return tuple(n for n in self.state_variables if "event-driven" in self.equations[n].flags)

    def dim(self, name: str) -> Dimension:
        return self.equations[name].dim


@dataclass(frozen=True, eq=False)
class ProjectionPlan:
    """A projection resolved: its synapses (weights first, then bias synapses), the weight
    and bias parameters (SI, in their structured shapes) and per-synapse values."""

    name: str
    source: str
    target: str
    description: Projection
    synapse: SynapseModel
    n_pre: int
    n_post: int
    weight: str | None
    weight_dim: Dimension
    weight_parameter: np.ndarray | None
    bias_parameter: np.ndarray | None
    bias_index: np.ndarray | None  # for each target neuron, its entry of the bias parameter
    delay_steps: np.ndarray | int
    values: Mapping[str, np.ndarray]
    trainable: bool

    @cached_property
    def synapses(self) -> SynapseArrays:
        """The weighted synapses (drawn or listed on first use: a large convolution's list is
        not needed where only its matrix form runs)."""
        return self.description.connectivity.synapses(self.n_pre, self.n_post)

    @property
    def size(self) -> int:
        """All synapses: the weighted ones and one bias synapse per target neuron."""
        extra = 0 if self.bias_index is None else len(self.bias_index)
        return self.synapses.size + extra

    @property
    def heterogeneous_delays(self) -> bool:
        return isinstance(self.delay_steps, np.ndarray)

    def synapse_arrays(self, source_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(pre, post)`` of every synapse, bias synapses (from unit ``source_size``) last."""
        pre, post = self.synapses.pre, self.synapses.post
        if self.bias_index is None:
            return pre, post
        n_post = len(self.bias_index)
        return (
            np.concatenate([pre, np.full(n_post, source_size, dtype=np.int64)]),
            np.concatenate([post, np.arange(n_post, dtype=np.int64)]),
        )

    def weight_values(self) -> np.ndarray:
        """SI weight of every synapse (bias synapses last)."""
        weights = self.synapses.weights(self.weight_parameter)
        if self.bias_index is None:
            return weights
        assert self.bias_parameter is not None
        return np.concatenate([weights, self.bias_parameter[self.bias_index]])


@dataclass(frozen=True, eq=False)
class NetworkPlan:
    """A description checked and resolved: what both engines build."""

    network: Network
    dt: float
    populations: Mapping[str, PopulationPlan]
    sources: Mapping[str, Source]
    projections: Mapping[str, ProjectionPlan]

    @property
    def name(self) -> str:
        return self.network.name

    def size_of(self, group: str) -> int:
        """Neurons (units) of a population or source, constant units excluded."""
        if group in self.populations:
            return self.populations[group].n
        return self.sources[group].size

    def pathway_lag(self, projection: str) -> int:
        """1 if the ``on_pre`` pathways of ``projection`` run before their source's threshold
        within a step (the layered schedule's recurrent and backward projections), so that
        they deliver the previous step's spikes; else 0."""
        if self.network.schedule != "layered":
            return 0
        plan = self.projections[projection]
        if plan.source not in self.populations:
            return 0
        order = list(self.populations)
        return int(order.index(plan.source) >= order.index(plan.target))

    def longest_wait(self) -> int:
        """The most steps a spike waits before it arrives (delay plus lag), over all
        projections: the silent margin between trials."""
        longest = 0
        for name, plan in self.projections.items():
            delay = int(np.max(plan.delay_steps)) if np.size(plan.delay_steps) else 0
            if plan.description.synapse.on_pre:
                longest = max(longest, delay + self.pathway_lag(name))
        return longest


def plan_network(network: Network) -> NetworkPlan:
    """Check ``network`` against its models and resolve every value (see the module)."""
    if not isinstance(network, Network):
        raise InputError(f"plan_network takes a Network description, got {type(network).__name__}.")
    dt = network.dt_seconds
    populations = {p.name: _plan_population(p, dt, network) for p in network.populations}
    sources = {s.name: s for s in network.sources}
    projections: dict[str, ProjectionPlan] = {}
    for projection in network.projections:
        projections[projection.name] = _plan_projection(
            projection, network, populations, sources, dt
        )
    for current in network.inputs:
        model = populations[current.target].model
        if current.variable not in model.parameter_names:
            raise InputError(
                f"CurrentInput onto '{current.target}': '{current.variable}' is not a parameter "
                f"of model '{model.name}', so it cannot be driven. Its parameters are: "
                f"{', '.join(model.parameter_names)}."
            )
    return NetworkPlan(network, dt, populations, sources, projections)


def _plan_population(population: Population, dt: float, network: Network) -> PopulationPlan:
    where = f"Population '{population.name}'"
    try:
        model = (
            population.model
            if isinstance(population.model, NeuronModel)
            else load_model(population.model)
        )
        method = model.check_method(population.method)
        model.check_dt(network.dt, method)
    except SpikebridgeError as exc:
        raise InputError(f"{where}: {exc}") from exc
    n = population.size
    overrides: dict[str, Any] = {}
    for name, value in population.parameters.items():
        if name not in model.parameter_names:
            raise InputError(
                f"{where}: model '{model.name}' has no parameter '{name}'. Its parameters are: "
                f"{', '.join(model.parameter_names)}."
            )
        overrides[name] = resolve_value(
            value,
            model.dim(name),
            n,
            population.seed,
            f"{population.name}.{name}",
            f"parameter '{name}' of population '{population.name}'",
        )
    initial: dict[str, Any] = {}
    for name, value in population.initial.items():
        if name not in model.state_variables:
            raise InputError(
                f"{where}: '{name}' is not a state variable of model '{model.name}'; its state "
                f"variables are: {', '.join(model.state_variables)}."
            )
        initial[name] = resolve_value(
            value,
            model.dim(name),
            n,
            population.seed,
            f"{population.name}.{name}:initial",
            f"initial value of '{name}' in population '{population.name}'",
        )
    try:
        parameters = model.parameter_values(
            n, {k: _si_quantity(v, model.dim(k)) for k, v in overrides.items()}, population.seed
        )
        initial_values = model.initial_values(
            n, {k: _si_quantity(v, model.dim(k)) for k, v in initial.items()}
        )
    except ParameterError as exc:
        raise InputError(f"{where}: {exc}") from exc
    candidates = [p for p in model.parameter_names if p not in model.inputs]
    unknown = sorted(set(population.trainable) - set(candidates))
    if unknown:
        raise InputError(
            f"{where}: cannot train {unknown}; trainable parameters of model '{model.name}' "
            f"are: {', '.join(candidates)}."
        )
    return PopulationPlan(
        population.name,
        model,
        method,
        population.shape,  # type: ignore[arg-type]
        parameters,
        initial_values,
        tuple(population.trainable),
    )


def _si_quantity(values: np.ndarray, dim: Dimension) -> Any:
    from .values import with_dim

    return with_dim(values, dim)


def _parse_synapse(projection: Projection) -> SynapseModel:
    try:
        equations = Equations(projection.synapse.model)
    except Exception as exc:
        raise InputError(
            f"Projection '{projection.name}': the synapse model does not parse: {exc}. Write "
            "Brian2 Synapses equations, e.g. 'w : siemens' or 'I_post = w * x_pre : amp "
            "(summed)'."
        ) from exc
    return SynapseModel(equations)


def _plan_projection(
    projection: Projection,
    network: Network,
    populations: Mapping[str, PopulationPlan],
    sources: Mapping[str, Source],
    dt: float,
) -> ProjectionPlan:
    where = f"Projection '{projection.name}'"
    synapse = _parse_synapse(projection)
    source = sources.get(projection.source)
    n_pre = (
        populations[projection.source].n
        if projection.source in populations
        else sources[projection.source].size
    )
    n_post = populations[projection.target].n
    connectivity = projection.connectivity
    try:
        connectivity.check(n_pre, n_post)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc

    def n_synapses() -> int:
        return connectivity.synapses(n_pre, n_post).size

    spiking_source = source is None or isinstance(source, PoissonSource | SpikeSource)
    has_pathway = bool(projection.synapse.on_pre)
    if has_pathway and not spiking_source:
        raise InputError(
            f"{where}: on_pre needs spikes, but '{projection.source}' is a "
            f"{type(source).__name__} (it holds values, it does not fire). Read its values with "
            f"a summed variable, e.g. 'I_post = w * {SOURCE_VARIABLE}_pre : 1 (summed)'."
        )
    # the weight variable
    weight = projection.weight
    weight_dim: Dimension = DIMENSIONLESS
    weight_parameter = None
    if weight is not None:
        if weight not in synapse.parameters:
            raise InputError(
                f"{where}: the weight variable '{weight}' is not a parameter of the synapse "
                f"model (declare it, e.g. '{weight} : siemens'); its parameters are: "
                f"{', '.join(synapse.parameters) or 'none'}. Set weight=None for synapses "
                "without weights."
            )
        weight_dim = synapse.dim(weight)
        shape = connectivity.weight_shape(n_pre, n_post)
        if shape is None:
            if projection.weights is not None:
                raise InputError(
                    f"{where}: {type(connectivity).__name__} has fixed weights; do not give "
                    "weights."
                )
        else:
            if projection.weights is None:
                raise InputError(
                    f"{where}: give weights for '{weight}' (a quantity in "
                    f"{unit_name(weight_dim)}: one value or an array of shape {shape})."
                )
            weight_parameter = _weights(projection, shape, weight_dim)
    elif projection.weights is not None:
        raise InputError(
            f"{where}: weights are given but weight is None; name the weight variable."
        )
    elif uses_weights(connectivity) and connectivity.weight_shape(n_pre, n_post) is not None:
        raise InputError(
            f"{where}: {type(connectivity).__name__} has weights; name the synaptic variable "
            "they fill with weight=... (e.g. 'w')."
        )
    bias_parameter, bias_index = _bias(projection, source, connectivity, n_post, weight_dim)
    delay_steps = _delays(projection, n_synapses, dt, spiking_source)
    values: dict[str, np.ndarray] = {}
    settable = set(synapse.parameters) | set(synapse.state_variables)
    for name, value in projection.values.items():
        if name not in settable or name == weight:
            raise InputError(
                f"{where}: values sets '{name}', which is not a synaptic parameter or state "
                f"variable{' (set the weight with weights=...)' if name == weight else ''}; the "
                f"synapse model has: {', '.join(sorted(settable)) or 'none'}."
            )
        total = n_synapses() + (0 if bias_index is None else len(bias_index))
        values[name] = resolve_value(
            value,
            synapse.dim(name),
            total,
            projection.seed,
            f"{projection.name}.{name}",
            f"value of '{name}' in projection '{projection.name}'",
        )
    return ProjectionPlan(
        name=projection.name,
        source=projection.source,
        target=projection.target,
        description=projection,
        synapse=synapse,
        n_pre=n_pre,
        n_post=n_post,
        weight=weight,
        weight_dim=weight_dim,
        weight_parameter=weight_parameter,
        bias_parameter=bias_parameter,
        bias_index=bias_index,
        delay_steps=delay_steps,
        values=values,
        trainable=bool(projection.trainable),
    )


def _weights(projection: Projection, shape: tuple[int, ...], dim: Dimension) -> np.ndarray:
    from .values import Normal, Uniform

    value = projection.weights
    if not isinstance(value, Uniform | Normal):
        array = np.asarray(value)
        if array.ndim != 0 and array.shape != shape:
            kind = type(projection.connectivity).__name__
            raise InputError(
                f"Projection '{projection.name}': weights have shape {array.shape}; give them in "
                f"the shape {shape} of {kind} (or one value for all synapses)."
            )
    size = math.prod(shape)
    values = resolve_value(
        value,
        dim,
        size,
        projection.seed,
        f"{projection.name}.weights",
        f"weights of projection '{projection.name}'",
    )
    return np.broadcast_to(values, (size,)).reshape(shape).astype(np.float64)


def _bias(
    projection: Projection,
    source: Source | None,
    connectivity: Any,
    n_post: int,
    dim: Dimension,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if projection.bias is None:
        return None, None
    where = f"Projection '{projection.name}'"
    if not (isinstance(source, ValueSource) and source.constant_unit):
        raise InputError(
            f"{where}: a bias is added through synapses from the source's constant unit; give "
            f"the source a constant unit (ValueSource(..., constant_unit=True)), or project a "
            "ConstantSource onto the target for spiking sources."
        )
    conv = connectivity
    if isinstance(conv, Chain) and isinstance(conv.maps[-1], Conv2d):
        conv = conv.maps[-1]
    if isinstance(conv, Conv2d):  # one bias per output channel
        channels, size = conv.out_channels, n_post // conv.out_channels
        index = np.repeat(np.arange(channels, dtype=np.int64), size)
    else:
        channels, index = n_post, np.arange(n_post, dtype=np.int64)
    values = resolve_value(
        projection.bias,
        dim,
        channels,
        projection.seed,
        f"{projection.name}.bias",
        f"bias of projection '{projection.name}'",
    )
    return np.broadcast_to(values, (channels,)).astype(np.float64).copy(), index


def _delays(
    projection: Projection, n_synapses: Callable[[], int], dt: float, spiking: bool
) -> np.ndarray | int:
    where = f"Projection '{projection.name}'"
    if projection.delay is None:
        return 0
    if not spiking:
        raise InputError(f"{where}: delays apply to spikes; '{projection.source}' does not fire.")
    if not projection.synapse.on_pre:
        raise InputError(f"{where}: a delay applies to on_pre pathways, and this synapse has none.")
    seconds = np.asarray(projection.delay / second, dtype=np.float64)
    if not np.all(np.isfinite(seconds)) or np.any(seconds < 0):
        raise InputError(f"{where}: delays must be finite and >= 0.")
    steps = np.rint(seconds / dt)
    bad = np.abs(steps * dt - seconds) > 1e-6 * dt
    if np.any(bad):
        first = float(seconds.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
        raise InputError(
            f"{where}: delay {first * 1e3:g} ms is not a whole number of steps of dt = "
            f"{dt * 1e3:g} ms; use a multiple of dt (e.g. {round(first / dt) * dt * 1e3:g} ms)."
        )
    if seconds.ndim == 0:
        return int(steps)
    n_syn = n_synapses()
    if seconds.shape != (n_syn,):
        raise InputError(
            f"{where}: give one delay or one per synapse ({n_syn}), got shape {seconds.shape}."
        )
    steps_int = steps.astype(np.int64)
    return int(steps_int[0]) if np.all(steps_int == steps_int[0]) else steps_int
