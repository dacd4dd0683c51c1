"""A network description built in Brian2: ``NeuronGroup``s, sources, ``Synapses`` and monitors.

:func:`build_network` turns a :class:`~spikebridge.network.plan.NetworkPlan` (and, for a
simulation, a :class:`~spikebridge.network.run.NetworkRun`) into Brian2 objects:

* each population: :func:`~spikebridge.brian.group.make_neuron_group` of its model file
  (named after the population), its parameters and initial values; current inputs as
  ``TimedArray``s read in the ``start`` slot (``<pop>_drive_<var>``);
* value and constant sources: ``NeuronGroup(n, "x : 1")`` (a value source loads each trial's
  values at the start of its window, ``<src>_load``); frozen Poisson and spike sources:
  ``SpikeGeneratorGroup``; engine-drawn Poisson sources: ``PoissonGroup``;
* each projection: ``Synapses(source, target, model, on_pre, on_post, on_event, method)``
  named after the projection, connected with the planned ``(i, j)`` (bias synapses from the
  constant unit last), weights, other synaptic values and delays set;
* the ``layered`` schedule (see :mod:`spikebridge.network.description`): every code object
  in the ``groups`` slot, ordered per population (summed variables onto it, its synapses'
  state updaters, the ``on_pre`` pathways onto it, its state updater, thresholder, the
  ``on_post`` pathways it triggers, its resetter), sources first;
* several trials: back to back in windows of ``n_steps`` (plus the longest delay as a silent
  margin, in which thresholds are closed), every state variable reset at a window's start
  (``<group>_restart``).

The torch engine's network step is rendered from the code objects of this same build
(:mod:`spikebridge.brian.network_program`), so both engines run one network. Statements
Brian2 rejects (an unknown variable, a dimension mismatch) are reported as
:class:`~spikebridge.errors.InputError` naming the projection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import (
    EventMonitor,
    Hz,
    NeuronGroup,
    PoissonGroup,
    SpikeGeneratorGroup,
    StateMonitor,
    Synapses,
    TimedArray,
    second,
)
from brian2 import Network as BrianNetwork
from brian2.units.fundamentalunits import DimensionMismatchError

from ..checks import count, index
from ..errors import InputError, ModelFileError
from ..network.description import ConstantSource, PoissonSource, SpikeSource, ValueSource
from ..network.plan import SOURCE_VARIABLE, NetworkPlan, PopulationPlan, ProjectionPlan
from ..network.result import NetworkResult, spike_table
from ..network.run import NetworkRun
from ..units import as_quantity
from .group import make_neuron_group
from .perturbations import Perturbations, membrane_noise_equations

#: Brian2's initial ``lastspike`` (s): a spike long ago.
LASTSPIKE_NEVER = -1e4

# Orders of the layered schedule within a population's block (see the module docstring).
_SUMMED, _SYNAPTIC_STATE, _INTO, _UPDATE, _THRESHOLD, _POST, _RESET = range(7)
_BLOCK = 10


@dataclass
class BuiltNetwork:
    """The Brian2 objects of a network (inside an active Brian2 session)."""

    network: BrianNetwork
    groups: dict[str, Any]
    synapses: dict[str, Synapses]
    monitors: dict[tuple[str, str], EventMonitor] = field(default_factory=dict)
    traces: dict[str, StateMonitor] = field(default_factory=dict)
    namespace: dict[str, Any] = field(default_factory=dict)
    window_steps: int = 1
    #: names of the code objects spikebridge adds, with their role, for the torch renderer
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)


def build_network(
    plan: NetworkPlan,
    run: NetworkRun | None = None,
    *,
    monitors: bool = True,
    perturbations: Perturbations | None = None,
) -> BuiltNetwork:
    """Brian2 objects of ``plan`` (call inside :func:`~spikebridge.brian.devices.brian2_session`).

    ``run``: the run to simulate; None builds the structure alone, for code extraction and
    checks (one synapse per projection: Brian2's generated code does not depend on them);
    ``perturbations``: per-trial noise (:mod:`spikebridge.brian.perturbations`).
    """
    window = 1 if run is None else run.n_steps + run.margin
    trials = 1 if run is None else run.trials
    dt = plan.dt
    built = BuiltNetwork(BrianNetwork(), {}, {}, window_steps=window)
    gated = run is not None and run.margin > 0
    if gated:
        assert run is not None
        open_steps = np.zeros((trials, window))
        open_steps[:, : run.n_steps] = 1.0
        built.namespace["sb_window_open"] = TimedArray(open_steps.reshape(-1), dt=dt * second)
    perturbations = perturbations or Perturbations()
    if perturbations.membrane or perturbations.input or perturbations.weights:
        if run is None:
            raise InputError("Perturbations apply to a run; give the run.")
        _check_perturbations(plan, run, perturbations)
    for pop in plan.populations.values():
        built.groups[pop.name] = _population(pop, plan, run, built, gated, perturbations)
    for name in plan.sources:
        built.groups[name] = _source(name, plan, run, built, perturbations)
    for projection in plan.projections.values():
        built.synapses[projection.name] = _projection(
            projection, plan, built, trials > 1, perturbations, structure_only=run is None
        )
    if plan.network.schedule == "layered":
        _layered_schedule(plan, built)
    if trials > 1:
        _restarts(plan, built, window, dt)
    if run is not None and monitors:
        _monitors(plan, run, built)
    objects = [*built.groups.values(), *built.synapses.values()]
    objects += [*built.monitors.values(), *built.traces.values()]
    built.network.add(*objects)
    return built


# -- populations and sources -------------------------------------------------------------------
def _per_trial(values: np.ndarray, built: BuiltNetwork, dt: float) -> TimedArray:
    """A value per trial as a TimedArray over the trial windows."""
    return TimedArray(np.asarray(values, dtype=np.float64), dt=built.window_steps * dt * second)


def _check_perturbations(plan: NetworkPlan, run: NetworkRun, perturbations: Perturbations) -> None:
    kinds = (
        ("membrane", plan.populations, {k: v[0] for k, v in perturbations.membrane.items()}),
        ("input", plan.sources, dict(perturbations.input)),
        ("weights", plan.projections, {k: v[0] for k, v in perturbations.weights.items()}),
    )
    for kind, known, strengths in kinds:
        for name, values in strengths.items():
            if name not in known:
                raise InputError(
                    f"{kind} perturbation of unknown '{name}'; known: {', '.join(known)}."
                )
            if np.shape(values) != (run.trials,):
                raise InputError(
                    f"{kind} perturbation of '{name}' needs one strength per trial "
                    f"({run.trials}), got shape {np.shape(values)}."
                )
    for name in perturbations.input:
        if not isinstance(plan.sources[name], ValueSource):
            raise InputError(f"Input noise applies to value sources; '{name}' is not one.")
    for name, (_, scales) in perturbations.membrane.items():
        missing = set(plan.populations[name].model.membrane) - set(scales)
        if missing:
            raise InputError(
                f"Membrane noise of '{name}' needs a scale for each membrane variable; missing "
                f"{sorted(missing)}."
            )
    for name, (_, eps) in perturbations.weights.items():
        projection = plan.projections[name]
        if projection.weight is None:
            raise InputError(f"Projection '{name}' has no weight to perturb.")
        if np.shape(eps) != (projection.size,):
            raise InputError(
                f"weight factors of '{name}' need one value per synapse ({projection.size}), got "
                f"shape {np.shape(eps)}."
            )


def _population(
    pop: PopulationPlan,
    plan: NetworkPlan,
    run: NetworkRun | None,
    built: BuiltNetwork,
    gated: bool,
    perturbations: Perturbations,
) -> NeuronGroup:
    model = pop.model
    noise = perturbations.membrane.get(pop.name)
    if noise is not None:
        from dataclasses import replace

        model = replace(model, equations=membrane_noise_equations(model))
    if gated:
        from dataclasses import replace

        events = tuple(
            replace(e, condition=f"({e.condition}) and (sb_window_open(t) > 0.5)")
            for e in model.events
        )
        model = replace(model, events=events)
    group = make_neuron_group(model, pop.n, pop.method, plan.dt, name=pop.name)
    if gated:
        group.namespace["sb_window_open"] = built.namespace["sb_window_open"]
    if noise is not None:
        strengths, scales = noise
        group.namespace["sb_membrane_noise"] = _per_trial(strengths, built, plan.dt)
        group.namespace["sb_noise_dt"] = plan.dt * second
        for var in model.membrane:
            group.namespace[f"sb_noise_scale_{var}"] = float(scales[var])
    for name, value in {**pop.parameters, **pop.initial}.items():
        setattr(group, name, as_quantity(value, pop.model.dim(name)))
    if run is None:
        return group
    for (target, var), wave in run.drives.items():
        if target != pop.name:
            continue
        dim = pop.model.dim(var)
        if wave.shape[1] == 1 and wave.shape[0] == 1 and wave.shape[2] == 1:
            setattr(group, var, as_quantity(wave.reshape(()), dim))
            continue
        full = _per_window(wave, run, built.window_steps)  # [steps, n or 1]
        name = f"{pop.name}_drive_{var}"
        array = TimedArray(
            as_quantity(full if full.shape[1] > 1 else full[:, 0], dim), dt=plan.dt * second
        )
        group.namespace[f"sb_drive_{var}"] = array
        index = "(t, i)" if full.shape[1] > 1 else "(t)"
        group.run_regularly(f"{var} = sb_drive_{var}{index}", when="start", order=0, name=name)
        built.roles[name] = ("drive", f"{pop.name}.{var}")
    return group


def _per_window(wave: np.ndarray, run: NetworkRun, window: int) -> np.ndarray:
    """``[trials or 1, T, n]`` drives as one array over every step of every window."""
    trials, steps, n = run.trials, run.n_steps, wave.shape[2]
    full = np.zeros((trials, window, n))
    full[:, :steps] = np.broadcast_to(wave, (trials, steps, n))
    if window > steps:  # the margin holds the last value (inputs are closed by the gate)
        full[:, steps:] = full[:, steps - 1 : steps]
    return full.reshape(trials * window, n)


def _source(
    name: str,
    plan: NetworkPlan,
    run: NetworkRun | None,
    built: BuiltNetwork,
    perturbations: Perturbations,
) -> Any:
    source = plan.sources[name]
    dt = plan.dt * second
    window = built.window_steps
    if isinstance(source, ValueSource | ConstantSource):
        extra = 1 if isinstance(source, ValueSource) and source.constant_unit else 0
        group = NeuronGroup(
            source.size + extra, f"{SOURCE_VARIABLE} : 1", name=name, dt=dt, namespace={}
        )
        if run is None:
            return group
        values = run.values[name]
        noise = perturbations.input.get(name)
        if values.shape[0] == 1 and noise is None:
            setattr(group, SOURCE_VARIABLE, values[0])
            return group
        group.namespace["sb_values"] = TimedArray(values, dt=window * dt)
        code = f"{SOURCE_VARIABLE} = sb_values(t, i)"
        every = window * dt
        if noise is not None:  # fresh noise at every step, not on the constant unit
            group.namespace["sb_input_noise"] = _per_trial(noise, built, plan.dt)
            group.namespace["sb_units"] = source.size
            code += " + sb_input_noise(t) * randn() * int(i < sb_units)"
            every = dt
        group.run_regularly(code, dt=every, when="start", order=0, name=f"{name}_load")
        built.roles[f"{name}_load"] = ("load", name)
        return group
    if isinstance(source, PoissonSource) and source.realisation == "engine":
        rates = run.rates[name] if run is not None else np.zeros(source.size)
        if run is not None and run.margin > 0:
            # closed in each trial's margin, like the thresholds
            gate = np.asarray(built.namespace["sb_window_open"].values)
            per_step = TimedArray(gate[:, None] * rates[None, :] * Hz, dt=dt)
            group = PoissonGroup(
                source.size,
                rates="sb_rates(t, i)",
                name=name,
                dt=dt,
                namespace={"sb_rates": per_step},
            )
        else:
            group = PoissonGroup(source.size, rates=rates * Hz, name=name, dt=dt)
        return group
    assert isinstance(source, PoissonSource | SpikeSource)
    indices, times = np.zeros(0, dtype=np.int64), np.zeros(0)
    if run is not None:
        trains = np.broadcast_to(run.spikes[name], (run.trials, run.n_steps, source.size))
        trial, step, index = np.nonzero(trains)
        absolute = trial * window + step
        order = np.lexsort((index, absolute))
        indices, times = index[order], absolute[order] * plan.dt
    return SpikeGeneratorGroup(source.size, indices, times * second, dt=dt, name=name)


# -- projections -------------------------------------------------------------------------------
def _projection(
    projection: ProjectionPlan,
    plan: NetworkPlan,
    built: BuiltNetwork,
    restarts: bool,
    perturbations: Perturbations,
    structure_only: bool = False,
) -> Synapses:
    description = projection.description
    synapse = description.synapse
    model = synapse.model
    on_pre, on_post = synapse.on_pre, synapse.on_post
    weight_noise = perturbations.weights.get(projection.name)
    if weight_noise is not None:
        assert projection.weight is not None
        model, on_pre, on_post = _perturbed_weight(projection.weight, model, on_pre, on_post)
    if restarts:  # hidden copies of the initial values, for the trial restarts
        model += "".join(
            f"\n{var}{RESTART_SUFFIX} : {unit_text(projection.synapse.dim(var))}"
            for var in restart_variables(projection)
        )
    source, target = built.groups[projection.source], built.groups[projection.target]
    delay = projection.delay_steps
    homogeneous = None if isinstance(delay, np.ndarray) else int(delay) * plan.dt * second
    pathways = _pathways(synapse.on_pre)
    delays = {p: homogeneous for p in pathways} if homogeneous is not None else None
    try:
        synapses = Synapses(
            source,
            target,
            model=model,
            on_pre=on_pre,
            on_post=on_post,
            on_event=synapse.on_event,
            delay=delays,
            method=synapse.method,
            namespace={},
            name=projection.name,
            **_synapse_clock(plan.dt),
        )
        if structure_only:  # the code Brian2 generates does not depend on the synapses
            synapses.connect(i=0, j=0)
        else:
            pre, post = projection.synapse_arrays(plan.size_of(projection.source))
            synapses.connect(i=pre, j=post)
    except Exception as exc:
        raise _statement_error(projection, plan, exc) from exc
    if structure_only:
        return synapses
    if projection.weight is not None:
        setattr(
            synapses,
            projection.weight,
            as_quantity(projection.weight_values(), projection.weight_dim),
        )
    for name, value in projection.values.items():
        setattr(synapses, name, as_quantity(value, projection.synapse.dim(name)))
    if weight_noise is not None:
        strengths, eps = weight_noise
        synapses.sb_eps = np.asarray(eps, dtype=np.float64)
        synapses.namespace["sb_weight_noise"] = _per_trial(strengths, built, plan.dt)
    if isinstance(delay, np.ndarray):
        for pathway in pathways:
            getattr(synapses, pathway).delay = delay * plan.dt * second
    return synapses


def _synapse_clock(dt: float) -> dict[str, Any]:
    """``Synapses`` keyword for the network's step: ``dt``, except on brian2cuda, whose
    synapses template (1.0a7, homogeneous delays) compares ``defaultclock.timestep`` with the
    delay, so a project whose synapses run on a clock of their own does not compile: there the
    synapses run on ``defaultclock``, set to the network's step (so two networks with
    different steps in one cuda_standalone project must be run one after the other: each
    sets the step for the runs that follow)."""
    from brian2 import defaultclock
    from brian2.devices.device import get_device

    if type(get_device()).__module__.startswith("brian2cuda"):
        defaultclock.dt = dt * second
        return {"clock": defaultclock}
    return {"dt": dt * second}


def _perturbed_weight(
    weight: str, model: str, on_pre: Any, on_post: str | None
) -> tuple[str, Any, str | None]:
    """The synapse code with the weight replaced by ``w * (1 + sb_weight_noise(t) * sb_eps)``
    wherever it is used (its declaration kept), and the factor ``sb_eps`` declared."""
    from brian2.utils.stringtools import word_substitute

    factor = {weight: f"({weight} * (1 + sb_weight_noise(t) * sb_eps))"}
    lines = []
    for line in model.splitlines():
        lhs, eq, rest = line.partition("=")
        if eq and ":" in rest:
            expression, colon, unit = rest.rpartition(":")
            line = f"{lhs}={word_substitute(expression, factor)}{colon}{unit}"
        lines.append(line)
    lines.append("sb_eps : 1 (constant)")

    def code(text: str | None) -> str | None:
        return None if text is None else word_substitute(text, factor)

    pre = {k: code(v) for k, v in on_pre.items()} if isinstance(on_pre, Mapping) else code(on_pre)
    return "\n".join(lines), pre, code(on_post)


def unit_text(dim: Any) -> str:
    """A dimension as a unit Brian2's equation parser reads (``1`` if dimensionless).

    Brian2's name for a dimension depends on which units have been registered so far
    (after a model file with ``amp/meter**2`` loads, ``get_unit`` answers ``amp / (meter **
    2)``, which the equation parser refuses); that form falls back to the SI base units
    (``metre ** -2 * amp``)."""
    from brian2 import get_unit

    if dim.is_dimensionless:
        return "1"
    text = repr(get_unit(dim))
    return repr(dim) if "(" in text or "/" in text else text


def _pathways(on_pre: Any) -> list[str]:
    if not on_pre:
        return []
    return list(on_pre) if isinstance(on_pre, Mapping) else ["pre"]


_NAME = re.compile(r"'([A-Za-z_]\w*)'")


def _statement_error(projection: ProjectionPlan, plan: NetworkPlan, exc: Exception) -> InputError:
    """Brian2's complaint about a projection, with the element and the fix named."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    text = f"{type(cause).__name__}: {cause}"
    where = f"Projection '{projection.name}' ({projection.source} -> {projection.target})"
    hint = _variable_hint(projection, plan, str(cause))
    if isinstance(cause, DimensionMismatchError):
        hint = (
            " Check the units: the synapse model's variables (e.g. the weight's declared unit) "
            "must match the variables they change; declare the weight in the target "
            "variable's unit or multiply it by a unit."
        )
    return InputError(f"{where}: Brian2 rejects the synapse code: {text.rstrip('.')}.{hint}")


def _variable_hint(projection: ProjectionPlan, plan: NetworkPlan, message: str) -> str:
    synapse = projection.description.synapse
    code = " ".join(
        str(part)
        for part in (
            synapse.model,
            *(synapse.on_pre.values() if isinstance(synapse.on_pre, Mapping) else [synapse.on_pre]),
            synapse.on_post,
        )
        if part
    )
    hints = []
    declared = set(projection.synapse.equations.names) - set(projection.synapse.summed)
    for name in sorted(set(re.findall(r"\b([A-Za-z]\w*)_(pre|post)\b", code))):
        var, side = name
        if f"{var}_{side}" in declared:
            continue
        group = projection.source if side == "pre" else projection.target
        known = _group_variables(plan, group)
        if var not in known:
            hints.append(
                f" '{var}_{side}' refers to '{var}' of '{group}', which has no such variable "
                f"(it has: {', '.join(sorted(known))}); write a variable of '{group}' or "
                "declare it in the model."
            )
    return "".join(hints)


def _group_variables(plan: NetworkPlan, group: str) -> set[str]:
    if group in plan.populations:
        model = plan.populations[group].model
        return (
            set(model.state_variables) | set(model.parameter_names) | set(model.subexpression_names)
        )
    source = plan.sources.get(group)
    return {SOURCE_VARIABLE} if isinstance(source, ValueSource | ConstantSource) else set()


def check_statements(plan: NetworkPlan) -> None:
    """Build ``plan`` in Brian2's runtime mode and prepare a run: every statement is checked
    (unknown variables, units) before anything is compiled. Raises InputError."""
    from .devices import brian2_session

    with brian2_session("numpy"):
        built = build_network(plan)
        prepare(built, plan)


def prepare(built: BuiltNetwork, plan: NetworkPlan) -> None:
    """``run(0 s)``: Brian2 checks every code object, with errors named per projection."""
    try:
        with np.errstate(over="ignore"):
            built.network.run(0 * second, namespace=dict(built.namespace))
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        text = str(cause)
        for projection in plan.projections.values():
            if re.search(rf"\b{re.escape(projection.name)}(_|\b)", str(exc) + text):
                raise _statement_error(projection, plan, exc) from exc
        for pop in plan.populations.values():
            if re.search(rf"\b{re.escape(pop.name)}(_|\b)", str(exc) + text):
                raise ModelFileError(
                    f"Brian2 cannot build population '{pop.name}' (model '{pop.model.name}'): "
                    f"{type(cause).__name__}: {cause}"
                ) from exc
        raise InputError(
            f"Brian2 cannot build network '{plan.name}': {type(cause).__name__}: {cause}"
        ) from exc


# -- schedule, trials, monitors ------------------------------------------------------------------
def _layered_schedule(plan: NetworkPlan, built: BuiltNetwork) -> None:
    """Per population, in the order given: summed variables onto it, its synapses' state
    updates, the ``on_pre`` pathways onto it (spikes of earlier populations from this step,
    of itself and later ones from the previous step), its update, threshold, the ``on_post``
    pathways its spikes trigger, its reset. Sources first."""
    blocks = {name: 0 for name in plan.sources}
    blocks.update({name: _BLOCK * (k + 1) for k, name in enumerate(plan.populations)})

    def place(obj: Any, block: int, offset: int) -> None:
        obj.when = "groups"
        obj.order = block + offset

    for name in plan.populations:
        group = built.groups[name]
        place(group.state_updater, blocks[name], _UPDATE)
        for thresholder in group.thresholder.values():
            place(thresholder, blocks[name], _THRESHOLD)
        for resetter in group.resetter.values():
            place(resetter, blocks[name], _RESET)
    for name in plan.sources:
        group = built.groups[name]
        if isinstance(group, SpikeGeneratorGroup):
            place(group, blocks[name], _THRESHOLD)
        elif isinstance(group, PoissonGroup):
            for thresholder in group.thresholder.values():
                place(thresholder, blocks[name], _THRESHOLD)
    for projection in plan.projections.values():
        synapses = built.synapses[projection.name]
        target_block = blocks[projection.target]
        for updater in synapses.summed_updaters.values():
            place(updater, target_block, _SUMMED)
        if synapses.state_updater is not None:
            place(synapses.state_updater, target_block, _SYNAPTIC_STATE)
        for pathway in synapses._pathways:
            if pathway.prepost == "pre":
                place(pathway, target_block, _INTO)
            else:
                place(pathway, target_block, _POST)


def _restarts(plan: NetworkPlan, built: BuiltNetwork, window: int, dt: float) -> None:
    """Every state variable back to its initial value at the start of each trial window."""
    every = window * dt * second
    for pop in plan.populations.values():
        group = built.groups[pop.name]
        model = pop.model
        lines = []
        if model.refractory is not None:
            # first: Brian2 writes a variable declared (unless refractory) only where the
            # neuron is not refractory, this restart included
            lines += [f"lastspike = {LASTSPIKE_NEVER} * second", "not_refractory = True"]
        for var in model.state_variables:
            key = f"sb_initial_{pop.name}_{var}"
            value = np.asarray(pop.initial[var], dtype=np.float64)
            if value.ndim == 0:
                built.namespace[key] = as_quantity(value, model.dim(var))
                lines.append(f"{var} = {key}")
            else:  # per neuron: a one-row TimedArray, read at any t (it clips)
                array = as_quantity(np.broadcast_to(value, (pop.n,))[None, :], model.dim(var))
                built.namespace[key] = TimedArray(array, dt=every)
                lines.append(f"{var} = {key}(t, i)")
        name = f"{pop.name}_restart"
        group.run_regularly("\n".join(lines), dt=every, when="start", order=1, name=name)
        built.roles[name] = ("restart", pop.name)
    for projection in plan.projections.values():
        variables = restart_variables(projection)
        lines = [f"{var} = {var}{RESTART_SUFFIX}" for var in variables]
        if projection.synapse.event_driven:
            lines.append("lastupdate = t")
        if not lines:
            continue
        synapses = built.synapses[projection.name]
        for var in variables:
            if var == projection.weight:
                initial = projection.weight_values()
            else:
                initial = np.broadcast_to(projection.values.get(var, 0.0), (projection.size,))
            dim = projection.synapse.dim(var)
            setattr(synapses, f"{var}{RESTART_SUFFIX}", as_quantity(np.array(initial), dim))
        name = f"{projection.name}_restart"
        synapses.run_regularly("\n".join(lines), dt=every, when="start", order=1, name=name)
        built.roles[name] = ("restart", projection.name)


#: Suffix of the hidden synaptic parameters holding initial values for trial restarts.
RESTART_SUFFIX = "__init"


def restart_variables(projection: ProjectionPlan) -> list[str]:
    """Synaptic variables a trial restart resets: the state variables and the parameters
    that on_pre/on_post write (plastic weights)."""
    state = list(projection.synapse.state_variables)
    return list(dict.fromkeys([*state, *_written_synaptic_variables(projection)]))


def _written_synaptic_variables(projection: ProjectionPlan) -> list[str]:
    """Synaptic parameters that on_pre/on_post code writes (plastic: state of a trial)."""
    synapse = projection.description.synapse
    codes: list[str | None] = (
        list(synapse.on_pre.values()) if isinstance(synapse.on_pre, Mapping) else [synapse.on_pre]
    )
    codes.append(synapse.on_post)
    written = []
    for code in codes:
        for line in (code or "").splitlines():
            match = re.match(r"^\s*([A-Za-z_]\w*)\s*([-+*/]?=)", line)
            if match and match.group(1) in projection.synapse.parameters:
                written.append(match.group(1))
    return written


def _monitors(plan: NetworkPlan, run: NetworkRun, built: BuiltNetwork) -> None:
    for pop in plan.populations.values():
        for event in pop.model.event_names:
            built.monitors[(pop.name, event)] = EventMonitor(
                built.groups[pop.name], event, name=f"monitor_{pop.name}_{event}"
            )
    by_pop: dict[str, list[str]] = {}
    for name in run.record:
        owner, _, var = name.partition(".")
        by_pop.setdefault(owner, []).append(var)
    for owner, variables in by_pop.items():
        built.traces[owner] = StateMonitor(
            built.groups[owner], variables, record=True, when="end", name=f"trace_{owner}"
        )


# -- simulation ----------------------------------------------------------------------------------
def run_network_brian2(
    run: NetworkRun,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    threads: int = 0,
    directory: str | Path | None = None,
    repeats: int = 1,
    perturbations: Perturbations | None = None,
) -> NetworkResult:
    """Simulate ``run`` on a Brian2 device; spikes and traces in each trial's own steps.

    ``repeats`` > 1 times the simulation loop again: a standalone device re-runs its
    compiled binary (code generation and compilation happen once; the binary's own loop
    timer), runtime mode restores and re-runs the network (results are identical).
    ``perturbations``: per-trial noise (:mod:`spikebridge.brian.perturbations`)."""
    from brian2.devices.device import get_device

    from .devices import STANDALONE_DEVICES, brian2_session

    repeats = count(repeats, "repeats")
    threads = index(threads, "threads")
    plan = run.plan
    check_statements(plan)  # errors in runtime mode, before anything compiles
    standalone = device in STANDALONE_DEVICES
    started = time.perf_counter()
    with brian2_session(device, float_dtype=dtype, directory=directory, threads=threads):
        if perturbations is not None and perturbations.random:
            from brian2 import seed as brian2_seed

            brian2_seed(perturbations.seed)
        built = build_network(plan, run, perturbations=perturbations)
        window = built.window_steps
        duration = run.trials * window * plan.dt * second
        if not standalone and repeats > 1:
            built.network.store("initial")
        loops = []
        for repeat in range(repeats):
            began = time.perf_counter()
            with np.errstate(over="ignore"):
                if repeat == 0:
                    built.network.run(duration, namespace=dict(built.namespace))
                elif standalone:
                    get_device().run(with_output=False)
                else:
                    built.network.restore("initial")
                    built.network.run(duration, namespace=dict(built.namespace))
            elapsed = time.perf_counter() - began
            loop = getattr(get_device(), "_last_run_time", None) if standalone else None
            loops.append(float(loop) if loop is not None else elapsed)
        spikes = {}
        for (pop, event), monitor in built.monitors.items():
            step = np.rint(np.asarray(monitor.t_) / plan.dt).astype(np.int64)
            trial, local = step // window, step % window
            keep = local < run.n_steps
            neuron = np.asarray(monitor.i)[keep]
            spikes[f"{pop}.{event}"] = spike_table(trial[keep], local[keep], neuron)
        traces = {}
        for pop, monitor in built.traces.items():
            for name in run.record:
                owner, _, var = name.partition(".")
                if owner != pop:
                    continue
                values = np.asarray(getattr(monitor, f"{var}_"), dtype=np.float64).T
                n = values.shape[1]
                traces[name] = values.reshape(run.trials, window, n)[:, : run.n_steps].copy()
    metadata = {
        "threads": threads,
        "timer": "binary" if standalone else "wall",
        "wall_seconds": time.perf_counter() - started,
    }
    return NetworkResult.of_run(
        run, f"brian2:{device}", dtype, spikes, traces, tuple(loops), metadata
    )
