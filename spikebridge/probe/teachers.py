"""Teachers: a neuron model driven by the probe's synaptic inputs, simulated by Brian2.

A :class:`Teacher` names a model file, the network's ``dt`` and how input spikes reach the
neuron (``synapse``):

=============  =====================================================================
``delta``      ``target_post += w`` per input spike (the paper's integrate-and-fire cell:
               ``v`` jumps by +-2 mV)
``current``    an exponential current per synapse summed into the input ``target``:
               ``dx/dt = -x / tau_syn`` (exact), ``x += 1`` per spike,
               ``target_post = w x`` (summed); ``tau_syn`` = ``tau_exc`` / ``tau_inh``
``conductance`` ``target_post += w`` for excitatory synapses and ``target_inh_post += w``
               for inhibitory ones (a COBA model's ``g_e`` and ``g_i``)
=============  =====================================================================

Weights are ``gain * exc_weight`` for the first ``n_exc`` synapses of a simulation and
``gain * inh_weight`` for the others. :func:`teacher_network` builds the simulations of a
chunk as independent copies of the neuron inside one population, every copy fed by its own
``n_syn`` inputs (a :class:`~spikebridge.network.SpikeSource`; the spike of 1-ms bin ``t``
arrives at step ``t * steps_per_ms``), so one Brian2 build runs a whole chunk. The outputs,
in 1-ms bins: a bin holds a spike when the neuron fired in any of its steps; the soma is the
``soma`` variable at the end of the bin (mV), clipped at ``soma_ceiling`` as the paper clips
the L5PC's soma at -55 mV; a bin with a spike holds the ceiling (the spike), also where the
model's reset in that step has already brought the variable down (Brian2 records after
resets), as in the paper's I&F data. :func:`calibrate_gain` finds the gain at which a teacher
fires at a target rate, so teachers are compared at equal output rates.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Hz, get_dimensions, ms, mV, second

from ..errors import InputError
from ..network import (
    Network,
    Population,
    Projection,
    SpikeSource,
    Synapse,
    plan_network,
    prepare_run,
)
from ..network.connectivity import Sparse
from ..units import as_quantity
from .inputs import InputStatistics, input_block

SYNAPSE_KINDS = ("delta", "current", "conductance")


@dataclass(frozen=True)
class Teacher:
    """A neuron model and its synaptic input (see the module docstring)."""

    name: str
    model: str
    dt: Any
    synapse: str
    target: str
    exc_weight: Any
    inh_weight: Any
    target_inh: str | None = None
    tau_exc: Any = None
    tau_inh: Any = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    initial: Mapping[str, Any] = field(default_factory=dict)
    method: str | None = None
    soma: str = "v"
    soma_ceiling: Any = None
    target_rate: Any = None
    gain: float = 1.0

    def __post_init__(self) -> None:
        where = f"Teacher '{self.name}'"
        if self.synapse not in SYNAPSE_KINDS:
            raise InputError(
                f"{where}: synapse must be one of {', '.join(SYNAPSE_KINDS)}, got {self.synapse!r}."
            )
        if get_dimensions(self.dt) is not second.dim or not float(self.dt) > 0:
            raise InputError(
                f"{where}: dt must be a positive time such as '1 ms', got {self.dt!r}."
            )
        per_ms = float(1 * ms) / float(self.dt)
        if abs(per_ms - round(per_ms)) > 1e-9 or round(per_ms) < 1:
            raise InputError(
                f"{where}: dt must divide 1 ms (the probe's bin) a whole number of times, got "
                f"{self.dt!r}; use e.g. 1 ms, 0.1 ms or 0.025 ms."
            )
        if get_dimensions(self.exc_weight) is not get_dimensions(self.inh_weight):
            raise InputError(
                f"{where}: exc_weight and inh_weight need the same unit, got {self.exc_weight!r} "
                f"and {self.inh_weight!r}."
            )
        if self.synapse == "current":
            for name in ("tau_exc", "tau_inh"):
                tau = getattr(self, name)
                if tau is None or get_dimensions(tau) is not second.dim or not float(tau) > 0:
                    raise InputError(
                        f"{where}: a current synapse needs {name}, a positive time such as "
                        f"'3 ms', got {tau!r}."
                    )
        if self.synapse == "conductance" and not self.target_inh:
            raise InputError(
                f"{where}: a conductance synapse needs target_inh, the conductance inhibitory "
                "spikes add to (e.g. g_i)."
            )
        if self.target_rate is not None and (
            get_dimensions(self.target_rate) is not Hz.dim or not float(self.target_rate) > 0
        ):
            raise InputError(
                f"{where}: target_rate must be a positive rate such as '4 Hz', got "
                f"{self.target_rate!r}."
            )
        if not float(self.gain) > 0:
            raise InputError(f"{where}: gain must be > 0, got {self.gain!r}.")

    @property
    def steps_per_ms(self) -> int:
        return round(float(1 * ms) / float(self.dt))

    def with_gain(self, gain: float) -> Teacher:
        from dataclasses import replace

        return replace(self, gain=float(gain))

    def to_dict(self) -> dict[str, Any]:
        """The teacher as JSON-ready data (quantities as text)."""

        def text(value: Any) -> Any:
            return None if value is None else str(value)

        return {
            "name": self.name,
            "model": self.model,
            "dt": text(self.dt),
            "synapse": self.synapse,
            "target": self.target,
            "target_inh": self.target_inh,
            "exc_weight": text(self.exc_weight),
            "inh_weight": text(self.inh_weight),
            "tau_exc": text(self.tau_exc),
            "tau_inh": text(self.tau_inh),
            "parameters": {k: text(v) for k, v in self.parameters.items()},
            "initial": {k: text(v) for k, v in self.initial.items()},
            "method": self.method,
            "soma": self.soma,
            "soma_ceiling": text(self.soma_ceiling),
            "target_rate": text(self.target_rate),
            "gain": self.gain,
        }


def _synapses(
    teacher: Teacher, n_sims: int, stats: InputStatistics, gains: np.ndarray
) -> list[Projection]:
    from ..brian.network import unit_text

    n_syn = stats.n_synapses
    pre = np.arange(n_sims * n_syn)
    post = pre // n_syn
    exc = pre % n_syn < stats.n_exc
    unit = unit_text(get_dimensions(teacher.exc_weight))
    dim = get_dimensions(teacher.exc_weight)
    si = np.where(exc, float(teacher.exc_weight), float(teacher.inh_weight)) * gains[post]
    weight = as_quantity(si, dim)
    if teacher.synapse == "delta":
        synapse = Synapse(f"w : {unit}", on_pre=f"{teacher.target}_post += w")
        return [
            Projection("synapses", "inputs", "neuron", synapse, Sparse(pre, post), weights=weight)
        ]
    if teacher.synapse == "current":
        synapse = Synapse(
            f"w : {unit}\ntau_syn : second (constant)\ndx/dt = -x/tau_syn : 1 (clock-driven)\n"
            f"{teacher.target}_post = w*x : {unit} (summed)",
            on_pre="x += 1",
            method="exact",
        )
        tau = np.where(exc, float(teacher.tau_exc), float(teacher.tau_inh)) * second
        return [
            Projection(
                "synapses",
                "inputs",
                "neuron",
                synapse,
                Sparse(pre, post),
                weights=weight,
                values={"tau_syn": tau},
            )
        ]
    projections = []
    for name, mask, variable in (
        ("excitatory", exc, teacher.target),
        ("inhibitory", ~exc, teacher.target_inh),
    ):
        synapse = Synapse(f"w : {unit}", on_pre=f"{variable}_post += w")
        projections.append(
            Projection(
                name,
                "inputs",
                "neuron",
                synapse,
                Sparse(pre[mask], post[mask]),
                weights=weight[mask],
            )
        )
    return projections


def teacher_network(
    teacher: Teacher,
    inputs: np.ndarray,
    stats: InputStatistics,
    gains: Sequence[float] | np.ndarray | None = None,
) -> Network:
    """The Brian2-ready description of ``inputs`` (bool ``[sims, n_syn, T]``) driving one
    copy of ``teacher`` each; ``gains``: one weight gain per copy (default: the teacher's)."""
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or inputs.shape[1] != stats.n_synapses:
        raise InputError(
            f"Teacher inputs must be [simulations, {stats.n_synapses} synapses, bins], got "
            f"shape {inputs.shape}."
        )
    n_sims, n_syn, n_bins = inputs.shape
    per_copy = np.full(n_sims, teacher.gain) if gains is None else np.asarray(gains, float)
    if per_copy.shape != (n_sims,) or not np.all(per_copy > 0):
        raise InputError(f"gains: give one positive gain per simulation ({n_sims}).")
    sim, syn, t = np.nonzero(inputs)
    index = sim * n_syn + syn
    order = np.lexsort((index, t))
    source = SpikeSource(
        "inputs",
        n_sims * n_syn,
        indices=index[order],
        steps=t[order] * teacher.steps_per_ms,
    )
    population = Population(
        "neuron",
        teacher.model,
        n_sims,
        method=teacher.method,
        parameters=dict(teacher.parameters),
        initial=dict(teacher.initial),
    )
    return Network(
        f"probe_{teacher.name.replace('-', '_')}",
        teacher.dt,
        (population,),
        (source,),
        tuple(_synapses(teacher, n_sims, stats, per_copy)),
        duration=n_bins * ms,
    )


def simulate_teacher(
    teacher: Teacher,
    inputs: np.ndarray,
    stats: InputStatistics,
    *,
    gains: Sequence[float] | np.ndarray | None = None,
    device: str = "cpp_standalone",
    directory: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``teacher`` on ``inputs`` in Brian2: output spikes (uint8 ``[sims, T]``) and the
    soma (float32 ``[sims, T]``, mV, clipped at the teacher's ceiling) in 1-ms bins."""
    from ..brian.network import run_network_brian2

    network = teacher_network(teacher, inputs, stats, gains)
    n_sims, _, n_bins = np.asarray(inputs).shape
    run = prepare_run(plan_network(network), record=(f"neuron.{teacher.soma}",))
    result = run_network_brian2(run, device=device, directory=directory)
    rows = result.events("neuron")
    spikes = np.zeros((n_sims, n_bins), dtype=np.uint8)
    spikes[rows[:, 2], rows[:, 1] // teacher.steps_per_ms] = 1
    trace = result.traces[f"neuron.{teacher.soma}"][0]  # [steps, sims], SI
    k = teacher.steps_per_ms
    soma = (trace[k - 1 :: k].T / float(mV)).astype(np.float32)
    if teacher.soma_ceiling is not None:
        ceiling = np.float32(float(teacher.soma_ceiling) / float(mV))
        np.minimum(soma, ceiling, out=soma)
        soma[spikes == 1] = ceiling  # the spike itself, which a reset in its step hides
    return spikes, soma


@dataclass(frozen=True)
class Calibration:
    """The output rate of a teacher at each weight gain tried, and the gain chosen."""

    gains: tuple[float, ...]
    rates_hz: tuple[float, ...]
    target_hz: float
    gain: float
    simulations: int
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "gains": list(self.gains),
            "rates_hz": list(self.rates_hz),
            "target_hz": self.target_hz,
            "gain": self.gain,
            "simulations": self.simulations,
            "duration_ms": self.duration_ms,
        }


#: The weight gains a calibration tries (ratio 1.26 from one to the next) and on how many
#: simulations: rates differ a lot between simulations (each draws its own rate levels), so
#: 4 simulations of 3 s put an HH teacher calibrated to 3 Hz at 2.0 Hz on its data (measured).
CALIBRATION_GAINS: tuple[float, ...] = tuple(float(g) for g in np.geomspace(0.25, 32.0, 22))
CALIBRATION_SIMULATIONS = 16


def calibrate_gain(
    teacher: Teacher,
    stats: InputStatistics,
    *,
    seed: int,
    duration_ms: int,
    gains: Sequence[float] = CALIBRATION_GAINS,
    simulations: int = CALIBRATION_SIMULATIONS,
    device: str = "cpp_standalone",
    directory: str | Path | None = None,
) -> Calibration:
    """The weight gain at which ``teacher`` fires at its ``target_rate``: one Brian2 run of
    ``len(gains) * simulations`` copies (each gain on the same ``simulations`` inputs, drawn
    from seed ``seed + 1`` so the data set's own inputs are not reused), the rate
    interpolated in log gain between the tried gains that bracket the target."""
    if teacher.target_rate is None:
        raise InputError(f"Teacher '{teacher.name}' has no target_rate to calibrate to.")
    gains = tuple(float(g) for g in gains)
    if len(gains) < 2 or any(b <= a for a, b in itertools.pairwise(gains)):
        raise InputError("calibrate_gain: give at least two increasing gains.")
    sims = input_block(stats, duration_ms, seed + 1, range(simulations))
    inputs = np.concatenate([sims] * len(gains))
    per_copy = np.repeat(np.asarray(gains), simulations)
    spikes, _ = simulate_teacher(
        teacher, inputs, stats, gains=per_copy, device=device, directory=directory
    )
    rates = spikes.reshape(len(gains), simulations, -1).sum(axis=(1, 2)) / (
        simulations * duration_ms / 1000.0
    )
    target = float(teacher.target_rate)
    above = np.nonzero(rates >= target)[0]
    if not len(above) or rates[0] > target:
        raise InputError(
            f"Teacher '{teacher.name}': its rate {rates.min():.3g}-{rates.max():.3g} Hz over "
            f"gains {gains[0]:g}-{gains[-1]:g} does not bracket the target {target:g} Hz. "
            "Change exc_weight / inh_weight, or the gains tried."
        )
    hi = int(above[0])
    if hi == 0 or rates[hi] == target:
        chosen = gains[hi]
    else:
        lo = hi - 1
        frac = (target - rates[lo]) / (rates[hi] - rates[lo])
        chosen = float(np.exp(np.log(gains[lo]) + frac * (np.log(gains[hi]) - np.log(gains[lo]))))
    return Calibration(
        gains, tuple(float(r) for r in rates), target, float(chosen), simulations, duration_ms
    )


_QUANTITIES = (
    "dt",
    "exc_weight",
    "inh_weight",
    "tau_exc",
    "tau_inh",
    "soma_ceiling",
    "target_rate",
)


def teacher_from_dict(data: Mapping[str, Any], where: str = "teacher") -> Teacher:
    """A teacher from a study file's ``[[teachers]]`` entry (quantities as text, e.g.
    ``dt = "0.025 ms"``, ``exc_weight = "1 uA/cm**2"``)."""
    from ..studies.study_file import parse_quantity

    allowed = set(Teacher.__dataclass_fields__) - {"gain"}
    unknown = set(data) - allowed
    if unknown:
        raise InputError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}.")
    missing = [
        k
        for k in ("name", "model", "dt", "synapse", "target", "exc_weight", "inh_weight")
        if k not in data
    ]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}.")
    values = dict(data)
    for key in _QUANTITIES:
        if values.get(key) is not None:
            values[key] = parse_quantity(values[key], f"{where}.{key}")
    for key in ("parameters", "initial"):
        values[key] = {
            k: parse_quantity(v, f"{where}.{key}.{k}") for k, v in dict(values.get(key, {})).items()
        }
    return Teacher(**values)
