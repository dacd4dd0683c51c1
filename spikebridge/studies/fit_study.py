"""Run an equivalence study file (:mod:`.study_file`): fit every candidate to the reference.

1. Conditions: every input entry's levels x seeds, each a current sampled on the study's
   finest step (:mod:`.input_families`), ``train`` or ``test``.
2. Reference: the reference model under every condition on the study's engine; its spike
   times (ms) are the targets.
3. Fits: each candidate's free parameters by the study's optimiser (scipy's differential
   evolution or pycma's CMA-ES, both in the unit cube of the bounds, log ranges in log10;
   or Adam on surrogate gradients, :mod:`.gradient_fit`),
   every generation one batched torch simulation (one neuron per candidate and training
   condition, per-neuron parameters; the torch engine is Brian2's own code, proven equal by
   the parity suite; ``[optimiser] compile`` runs it through ``torch.compile``). Loss on
   the training conditions: mean |N - N_ref| / max(N_ref, 1) + timing_weight * mean gamma
   error (:func:`.metrics.gamma_error`, rate term included); with ``[metrics] loss =
   "gamma"`` the mean gamma error alone; with ``loss = "trace"`` the mean squared
   difference (mV^2) of the membrane from the reference's (the recorded voltage, or the
   reference model's membrane). The budget is recorded in simulated neurons and seconds.
4. Evaluation: the fitted candidates and the reference's trains under every condition, on
   the study's engine; spike-count error, gamma factor, coincidence factor and van Rossum
   distance per condition (and the membrane RMSE in mV where the reference has a
   membrane trace), with means per input family and split.
5. Examples (:mod:`.fit_examples`): membrane traces on one held-out condition per input
   entry and f-I curves, of the reference and the fitted candidates.

Every stage is written under ``out/cache`` keyed by the study file, so a stopped study
resumes at the stage it stopped in; ``results.json`` echoes the study file.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import second, volt

from ..errors import InputError
from ..io import write_json
from ..results import SimulationResult
from ..units import as_quantity
from .chains import spike_times
from .equivalence import Cache
from .layer_chain import run_chain
from .metrics import coincidence_factor, gamma_error, gamma_factor, van_rossum_distance
from .population_search import SearchProgress, search
from .study_file import ModelEntry, RecordedReference, StudyFile, membrane_dim, quantity_text

FIT_STUDY_VERSION = 1


@dataclass(frozen=True)
class Condition:
    family: str
    entry: int
    level: float
    seed: int
    split: str


def conditions(study: StudyFile) -> list[Condition]:
    if isinstance(study.reference, RecordedReference):
        test = set(study.reference.test)
        return [
            Condition("recorded", 0, 1.0, k, "test" if k in test else "train")
            for k in range(study.reference.currents.shape[0])
        ]
    return [
        Condition(e.family.label, k, level, seed, e.split)
        for k, e in enumerate(study.inputs)
        for level in e.levels
        for seed in e.seeds
    ]


def input_dt(study: StudyFile) -> float:
    """The step the inputs are sampled on (s): the finest model step (:func:`entry_dt`)."""
    if isinstance(study.reference, RecordedReference):
        return study.reference.dt_s  # the recording's sampling step
    entries = (study.reference, *study.candidates)
    return min(entry_dt(study, e) for e in entries)


def entry_dt(study: StudyFile, entry: ModelEntry) -> float:
    """A model's step (s): its entry's ``dt``, else ``[study] dt``, else its declared step."""
    if entry.dt_s is not None:
        return entry.dt_s
    return study.dt_s if study.dt_s is not None else float(entry.model.dt)


def currents(study: StudyFile, conds: Sequence[Condition]) -> np.ndarray:
    """``(steps, C)`` study currents in SI on the input step."""
    if isinstance(study.reference, RecordedReference):
        return np.asarray(study.reference.currents, dtype=float).T * float(study.input_unit)
    dt = input_dt(study)
    steps = round(study.duration_s / dt)
    columns = [
        study.inputs[c.entry].family.currents(steps, dt * 1e3, sample=study.sample, seed=c.seed)
        * c.level
        for c in conds
    ]
    return np.stack(columns, axis=1) * float(study.input_unit)


def model_step(study: StudyFile, entry: ModelEntry) -> tuple[float, int]:
    """A model's step (s) and how many input steps it spans (a whole number)."""
    base = input_dt(study)
    dt = entry_dt(study, entry)
    ratio = dt / base
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise InputError(
            f"'{entry.name}' steps {dt * 1e3:g} ms, not a whole multiple of the inputs' "
            f"{base * 1e3:g} ms; set [study] dt to a common step, or give the entries steps "
            "that are multiples of each other (dt = ... on an entry)."
        )
    return dt, round(ratio)


def entry_drive(
    study: StudyFile, entry: ModelEntry, current: np.ndarray
) -> tuple[float, np.ndarray]:
    """``entry``'s step (s) and its input ``(model steps, n)`` in SI: the study current
    ``(steps, n)`` averaged over each model step, times the entry's gain."""
    dt, ratio = model_step(study, entry)
    steps, n = current.shape
    kept = (steps // ratio) * ratio
    return dt, current[:kept].reshape(kept // ratio, ratio, n).mean(axis=1) * entry.gain


def simulate_entry(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    parameters: dict[str, np.ndarray] | None = None,
    *,
    engine: str,
    device: str,
    compile: str = "none",
) -> list[np.ndarray]:
    """Spike times (ms) of ``entry`` driven by ``current`` ``(steps, n)`` (SI study units),
    one neuron per column; ``parameters``: per-neuron SI values of its free parameters;
    ``compile``: the torch engine's ``torch.compile`` mode (``"none"``, ``"step"``, ``"loop"``)."""
    return spike_times(
        entry_result(
            study, entry, current, parameters, engine=engine, device=device, compile=compile
        )
    )


def entry_result(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    parameters: dict[str, np.ndarray] | None = None,
    *,
    engine: str,
    device: str,
    compile: str = "none",
    record: tuple[str, ...] = (),
) -> SimulationResult:
    """The simulation of :func:`simulate_entry`, recording ``record`` (state variables); of
    a chained entry, its layer 2's (:mod:`.layer_chain`)."""
    from ..simulate import simulate

    speed = {"compile": compile if compile != "none" else False} if engine == "torch" else {}
    options = run_options(study, entry, current, parameters, record=record)
    if entry.chain is None:
        return simulate(entry.model, engine=engine, device=device, **options, **speed)

    def run(**chained: Any) -> SimulationResult:
        return simulate(entry.model, engine=engine, device=device, **chained, **speed)

    n = current.shape[1]
    values = {
        k: np.broadcast_to(np.asarray(v, dtype=float), (n,))
        for k, v in {**entry.parameters, **(parameters or {})}.items()
        if k in entry.chain_parameters
    }
    return run_chain(run, entry.model, entry.chain, options, values, record)[1]


def run_options(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    parameters: dict[str, np.ndarray] | None = None,
    *,
    record: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The options of :func:`spikebridge.run.plan_run` for ``entry`` driven by ``current``
    ``(steps, n)``, one neuron per column: its step, the averaged drive, its fixed
    parameters and ``parameters`` (SI, one value per neuron or a scalar)."""
    dt, drive = entry_drive(study, entry, current)
    n = current.shape[1]
    model = entry.model
    values: dict[str, Any] = {
        k: v
        for k, v in {**entry.parameters, **(parameters or {})}.items()
        if k not in entry.chain_parameters  # read by the chain's drives, not the model
    }
    return {
        "method": entry.method,
        "dt": dt * second,
        "n_steps": drive.shape[0],
        "n": n,
        "inputs": {entry.input: as_quantity(drive, model.dim(entry.input))},
        "parameters": {
            k: as_quantity(np.broadcast_to(np.asarray(v, dtype=float), (n,)), model.dim(k))
            for k, v in values.items()
        },
        "record": record,
    }


def free_values(entry: ModelEntry, unit: np.ndarray) -> dict[str, np.ndarray]:
    """SI values of the free parameters from points of the unit cube ``(D, S)``."""
    values = unit_values(entry, np.clip(np.atleast_2d(unit), 0.0, 1.0))
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}


def unit_values(entry: ModelEntry, unit: Any) -> dict[str, Any]:
    """The map from the unit cube to the free parameters' SI values: rows of ``unit``
    ``(D, S)`` (numpy or torch, so gradients pass) scaled into each range, in log10 for log
    ranges, times the earlier parameter for relative bounds."""
    values: dict[str, Any] = {}
    for u, p in zip(unit, entry.free, strict=True):
        if p.log:
            value = 10 ** (math.log10(p.low) + u * (math.log10(p.high) - math.log10(p.low)))
        else:
            value = p.low + u * (p.high - p.low)
        if p.relative_to is not None:
            value = value * values[p.relative_to]
        values[p.name] = value
    return values


def membrane_trace(study: StudyFile, entry: ModelEntry, result: SimulationResult) -> np.ndarray:
    """``entry``'s recorded membrane ``(input steps, n)`` in SI, each model step's value
    (at its end) repeated over the input steps it spans."""
    _, ratio = model_step(study, entry)
    return np.repeat(result.traces[entry.model.membrane[0]], ratio, axis=0)


def trace_error(model: np.ndarray, reference: np.ndarray) -> float:
    """Mean squared membrane difference (mV^2) of two ``(steps, C)`` traces in volts, over
    their common steps."""
    steps = min(model.shape[0], reference.shape[0])
    return float(np.mean(((model[:steps] - reference[:steps]) * 1e3) ** 2))


def reference_trace(study: StudyFile, current: np.ndarray) -> np.ndarray:
    """The reference's membrane ``(input steps, C)`` in volts: the recorded voltage, or the
    reference model's membrane under ``current`` on the study's engine."""
    if isinstance(study.reference, RecordedReference):
        return np.asarray(study.reference.voltage_mV, dtype=float).T * 1e-3
    entry = study.reference
    result = entry_result(
        study,
        entry,
        current,
        engine=study.engine,
        device=study.device,
        record=(entry.model.membrane[0],),
    )
    return membrane_trace(study, entry, result)


def study_loss(
    trains: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    duration_ms: float,
    window_ms: float,
    timing_weight: float,
    loss: str = "count",
) -> float:
    """The fitting loss over conditions: ``"count"``: mean |N - N_ref| / max(N_ref, 1) +
    ``timing_weight`` x mean gamma error; ``"gamma"``: the mean gamma error alone."""
    timing = [
        gamma_error(r, m, duration_ms, window_ms) if len(r) else float(len(m) > 0)
        for r, m in zip(targets, trains, strict=True)
    ]
    if loss == "gamma":
        return float(np.mean(timing))
    counts = np.array([len(t) for t in trains])
    reference = np.array([len(t) for t in targets])
    count_error = np.abs(counts - reference) / np.maximum(reference, 1)
    return float(count_error.mean() + timing_weight * np.mean(timing))


def fit_candidate(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    targets: Sequence[np.ndarray],
    *,
    reference_trace: np.ndarray | None = None,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Fit ``entry``'s free parameters on the training ``current`` (``(steps, C)``) to the
    reference's ``targets`` (or, with ``[metrics] loss = "trace"``, to its membrane
    ``reference_trace`` ``(steps, C)`` in volts); the best point, its loss and the budget.
    ``checkpoint``: a file the optimiser's state is written to after every generation, and
    resumed from when it is there (:mod:`.population_search`)."""
    if study.optimiser.method == "adam":
        from .gradient_fit import fit_by_gradient

        return fit_by_gradient(
            study, entry, current, targets, reference_trace=reference_trace, checkpoint=checkpoint
        )
    by_trace = study.metrics.loss == "trace"
    if by_trace and reference_trace is None:
        raise ValueError('loss = "trace" needs the reference_trace.')
    conditions_n = current.shape[1]
    duration_ms = study.duration_s * 1e3
    progress = SearchProgress()

    def batch(unit: np.ndarray) -> np.ndarray:
        unit = np.atleast_2d(unit)  # (D, S)
        size = unit.shape[1]
        values = {k: np.repeat(v, conditions_n) for k, v in free_values(entry, unit).items()}
        result = entry_result(
            study,
            entry,
            np.tile(current, (1, size)),
            values,
            engine="torch",
            device="cpu",
            compile=study.optimiser.compile,
            record=(entry.model.membrane[0],) if by_trace else (),
        )
        if by_trace:
            assert reference_trace is not None
            membrane = membrane_trace(study, entry, result)
            losses = np.array(
                [
                    trace_error(
                        membrane[:, s * conditions_n : (s + 1) * conditions_n], reference_trace
                    )
                    for s in range(size)
                ]
            )
        else:
            trains = spike_times(result)
            losses = np.array(
                [
                    study_loss(
                        trains[s * conditions_n : (s + 1) * conditions_n],
                        targets,
                        duration_ms,
                        study.metrics.window_ms,
                        study.metrics.timing_weight,
                        study.metrics.loss,
                    )
                    for s in range(size)
                ]
            )
        progress.record(losses, conditions_n)
        return losses

    point, loss = search(batch, len(entry.free), study.optimiser, progress, checkpoint)
    values = {k: float(v[0]) for k, v in free_values(entry, point[:, None]).items()}
    return {
        "values": values,
        "shown": {k: quantity_text(v, entry.dim(k)) for k, v in values.items()},
        "loss": loss,
        "budget": progress.budget(),
        "best_loss_by_candidates": progress.curve(),
    }


def _metrics_of(
    trains: Sequence[np.ndarray], targets: Sequence[np.ndarray], study: StudyFile
) -> list[dict[str, float]]:
    duration = study.duration_s * 1e3
    window, tau = study.metrics.window_ms, study.metrics.van_rossum_tau_ms
    rows = []
    for model, ref in zip(trains, targets, strict=True):
        rows.append(
            {
                "spikes": float(len(model)),
                "reference_spikes": float(len(ref)),
                "spike_count_error": abs(len(model) - len(ref)) / max(len(ref), 1),
                "gamma_factor": gamma_factor(ref, model, duration, window),
                "coincidence_factor": coincidence_factor(ref, model, duration, window),
                "van_rossum": van_rossum_distance(ref, model, tau),
            }
        )
    return rows


def _summary(rows: list[dict[str, float]], conds: list[Condition]) -> dict[str, Any]:
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(conds):
        groups.setdefault(f"{c.split}/{c.entry}:{c.family}", []).append(i)
        groups.setdefault(c.split, []).append(i)
    return {
        name: {key: float(np.nanmean([rows[i][key] for i in chosen])) for key in rows[0] if key}
        | {"conditions": len(chosen)}
        for name, chosen in groups.items()
    }


def study_key(study: StudyFile) -> str:
    """The cache key: the study file and the contents of the data files it names."""
    files = [e.family.params["path"] for e in study.inputs if e.family.kind == "array"]
    if isinstance(study.reference, RecordedReference):
        files.append(study.reference.path)
    digests = {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}
    text = json.dumps(
        {"version": FIT_STUDY_VERSION, **study.source, "files": digests},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


#: A fitting procedure: (study, candidate, training current, reference trains) -> the fit
#: (``values`` SI, ``shown``, ``loss``, ``budget``, ``best_loss_by_candidates``).
Fitter = Callable[[StudyFile, ModelEntry, np.ndarray, Sequence[np.ndarray]], dict[str, Any]]


def run_fit_study(
    study: StudyFile, out: str | Path, fitter: Fitter | None = None
) -> dict[str, Any]:
    """Run (or resume) ``study`` into ``out``; writes and returns ``results.json``'s content.

    ``fitter``: another fitting procedure than the study's optimiser (e.g. a baseline of
    ``benchmarks/fitting.py``), with :func:`fit_candidate`'s signature; its name is part of
    the cache key."""
    out = Path(out)
    began = time.perf_counter()
    label = "" if fitter is None else f":{fitter.__module__}.{fitter.__qualname__}"
    cache = Cache(out / "cache", study_key(study) + label)
    conds = conditions(study)
    current = currents(study, conds)
    train = [i for i, c in enumerate(conds) if c.split == "train"]

    def reference() -> list[list[float]]:
        if isinstance(study.reference, RecordedReference):
            return [t.tolist() for t in study.reference.spikes_ms]
        trains = simulate_entry(
            study, study.reference, current, engine=study.engine, device=study.device
        )
        return [t.tolist() for t in trains]

    targets = [np.asarray(t) for t in cache.get("reference", reference)]
    by_trace = study.metrics.loss == "trace"
    if by_trace and fitter is not None:
        raise InputError(
            "A trace loss is fitted by the study's own optimisers; this fitter fits spikes. "
            'Use loss = "count" or "gamma" to compare with it.'
        )
    with_traces = by_trace or (
        isinstance(study.reference, RecordedReference) and study.reference.voltage_mV is not None
    )
    trace = (
        np.asarray(cache.get("reference_trace", lambda: reference_trace(study, current).tolist()))
        if with_traces
        else None
    )
    candidates: dict[str, Any] = {}
    for entry in study.candidates:
        # the optimiser's state after every generation, keyed like the cache: a stopped
        # fit resumes from its last generation; the finished fit is the cached stage
        checkpoint = out / "cache" / f"fit_{entry.name}.{cache.key}.checkpoint"
        for stale in checkpoint.parent.glob(f"fit_{entry.name}.*.checkpoint"):
            if stale != checkpoint:  # of an earlier version of the study: never resumed
                stale.unlink()

        def fitted(entry: ModelEntry = entry, checkpoint: Path = checkpoint) -> dict[str, Any]:
            chosen = [targets[i] for i in train]
            if fitter is not None:
                return fitter(study, entry, current[:, train], chosen)
            return fit_candidate(
                study,
                entry,
                current[:, train],
                chosen,
                reference_trace=None if trace is None or not by_trace else trace[:, train],
                checkpoint=checkpoint,
            )

        fit = cache.get(f"fit_{entry.name}", fitted)
        checkpoint.unlink(missing_ok=True)

        def evaluated(entry: ModelEntry = entry, fit: dict[str, Any] = fit) -> list[list[float]]:
            values = {k: np.full(len(conds), v) for k, v in fit["values"].items()}
            trains = simulate_entry(
                study, entry, current, values, engine=study.engine, device=study.device
            )
            return [t.tolist() for t in trains]

        evaluation = cache.get(f"evaluation_{entry.name}", evaluated)
        trains = [np.asarray(t) for t in evaluation]
        rows = _metrics_of(trains, targets, study)
        if trace is not None and membrane_dim(entry) is volt.dim:  # a voltage to compare

            def rmse(entry: ModelEntry = entry, fit: dict[str, Any] = fit) -> list[float]:
                assert trace is not None
                values = {k: np.full(len(conds), v) for k, v in fit["values"].items()}
                result = entry_result(
                    study,
                    entry,
                    current,
                    values,
                    engine=study.engine,
                    device=study.device,
                    record=(entry.model.membrane[0],),
                )
                membrane = membrane_trace(study, entry, result)
                return [
                    math.sqrt(trace_error(membrane[:, [i]], trace[:, [i]]))
                    for i in range(len(conds))
                ]

            errors = cache.get(f"trace_rmse_{entry.name}", rmse)
            for row, error in zip(rows, errors, strict=True):
                row["trace_rmse_mV"] = error
        candidates[entry.name] = {
            "model": entry.model.name,
            "method": entry.method,
            "fit": fit,
            "per_condition": rows,
            "summary": _summary(rows, conds),
            "trains": evaluation,
        }
    from .fit_examples import example_traces, f_i_curves

    fits = {name: c["fit"] for name, c in candidates.items()}
    examples = cache.get("examples", lambda: example_traces(study, conds, current, fits))
    f_i = cache.get("f_i", lambda: f_i_curves(study, current, fits))
    results = {
        "study": study.source,
        "settings": {
            "input_dt_ms": input_dt(study) * 1e3,
            "sample": study.sample,
            "engine": study.engine,
            "device": study.device,
            "optimiser": asdict(study.optimiser),
            "metrics": asdict(study.metrics),
            "fits_run_on": "torch (cpu), batched; evaluation on the study's engine"
            if fitter is None
            else f"{fitter.__module__}.{fitter.__qualname__}; evaluation on the study's engine",
        },
        "conditions": [asdict(c) for c in conds],
        "reference": {
            "model": study.reference.model.name
            if isinstance(study.reference, ModelEntry)
            else f"recorded: {study.reference.path}",
            "spikes": [len(t) for t in targets],
            "trains": [t.tolist() for t in targets],
        },
        "candidates": candidates,
        "examples": examples,
        "f_i": f_i,
        "seconds": time.perf_counter() - began,
    }
    write_json(out / "results.json", results)
    return results
