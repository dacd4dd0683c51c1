"""The complexity-probe study: how deep a network each teacher neuron needs (functional depth).

A probe study file (``spikebridge/probe/presets/*.toml``; :func:`load_probe_study`) lists
teachers (:class:`~spikebridge.probe.teachers.Teacher`), the input statistics, the data sizes
and the students. :func:`run_complexity_probe` then, per teacher:

1. calibrates its weight gain to its ``target_rate`` when it has one
   (:func:`~spikebridge.probe.teachers.calibrate_gain`, saved and reused on resume);
2. generates ``train + valid + test`` simulations in Brian2 (chunked, resumable;
   :mod:`spikebridge.probe.dataset`): simulations ``0 .. train-1`` train,
   the next ``valid`` early-stop, the last ``test`` are held out;
3. fits the depth sweep's students (and the paper's 1-unit linear student) with early stopping
   on the validation spike AUC, and evaluates them on the test simulations (first 500 ms
   ignored): spike AUC, soma explained variance, soma RMSE;
4. reports the functional depth D* = the smallest depth whose test AUC is within
   ``tolerance`` of the best depth's (Beniaguev et al. 2021); a depth's AUC is that of its
   student with the best validation AUC (the 1-unit linear student competes at depth 1).

Teacher pairs in ``compare`` are judged equivalent when their AUC-vs-depth curves lie within
``equivalence_auc`` at every depth and their D* agree. Every fitted student's result and
checkpoint is kept under ``out/students/``, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from ..errors import InputError
from ..io import write_json
from ..probe.dataset import DataSpec, generate, load
from ..probe.inputs import InputStatistics
from ..probe.students import StudentConfig, StudentSpec, fit_student, functional_depth
from ..probe.teachers import (
    CALIBRATION_GAINS,
    CALIBRATION_SIMULATIONS,
    Teacher,
    calibrate_gain,
    teacher_from_dict,
)

#: Study files shipped with the package: ``spikebridge study complexity-probe --preset NAME``.
PROBE_PRESETS = Path(__file__).resolve().parent.parent / "probe" / "presets"


@dataclass(frozen=True)
class ProbeStudy:
    """A complexity-probe study (see the module docstring)."""

    name: str
    teachers: tuple[Teacher, ...]
    stats: InputStatistics = field(default_factory=InputStatistics)
    duration_ms: int = 6000
    train: int = 300
    valid: int = 40
    test: int = 40
    seed: int = 1
    chunk: int = 40
    depths: tuple[int, ...] = (1, 2, 3)
    width: int = 16
    extent: int = 80
    paper_if: bool = True
    student: StudentConfig = field(default_factory=StudentConfig)
    tolerance: float = 0.002
    compare: tuple[tuple[str, str], ...] = ()
    equivalence_auc: float = 0.01

    def __post_init__(self) -> None:
        if not self.teachers:
            raise InputError(f"Probe study '{self.name}' has no teacher; add [[teachers]].")
        names = [t.name for t in self.teachers]
        if len(set(names)) != len(names):
            raise InputError(f"Probe study '{self.name}': teacher names repeat: {names}.")
        for pair in self.compare:
            missing = [n for n in pair if n not in names]
            if len(pair) != 2 or missing:
                raise InputError(
                    f"Probe study '{self.name}': compare {list(pair)} must name two of the "
                    f"teachers ({', '.join(names)})."
                )
        for key in ("duration_ms", "train", "valid", "test", "chunk", "width", "extent"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"Probe study '{self.name}': {key} must be an integer >= 1.")
        if self.duration_ms <= self.student.burn_in_ms:
            raise InputError(
                f"Probe study '{self.name}': duration_ms ({self.duration_ms}) must exceed the "
                f"evaluation's burn-in ({self.student.burn_in_ms} ms)."
            )
        if not self.depths or min(self.depths) < 1:
            raise InputError(f"Probe study '{self.name}': depths must be integers >= 1.")

    @property
    def simulations(self) -> int:
        return self.train + self.valid + self.test

    def data_spec(self) -> DataSpec:
        return DataSpec(self.stats, self.duration_ms, self.seed, self.chunk, self.simulations)

    def students(self) -> tuple[StudentSpec, ...]:
        sweep = tuple(StudentSpec.sweep(d, self.width, self.extent) for d in self.depths)
        return ((StudentSpec.paper_if(),) if self.paper_if else ()) + sweep

    def quick(self) -> ProbeStudy:
        """CI sizes: 2-s simulations, 24 / 8 / 8 of them, depths up to 2, 200 steps."""
        return replace(
            self,
            duration_ms=2000,
            train=24,
            valid=8,
            test=8,
            chunk=20,
            depths=tuple(d for d in self.depths if d <= 2),
            student=replace(self.student, max_steps=200, eval_every=50, patience=2),
        )

    def settings(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": self.stats.to_dict(),
            "duration_ms": self.duration_ms,
            "train": self.train,
            "valid": self.valid,
            "test": self.test,
            "seed": self.seed,
            "chunk": self.chunk,
            "students": [s.to_dict() for s in self.students()],
            "student_config": self.student.to_dict(),
            "tolerance": self.tolerance,
            "compare": [list(p) for p in self.compare],
            "equivalence_auc": self.equivalence_auc,
        }


def probe_preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PROBE_PRESETS.glob("*.toml")))


def load_probe_study(path: str | Path) -> ProbeStudy:
    """Read a probe study file (TOML; see ``spikebridge/probe/presets/point-neurons.toml``),
    or a preset by its name (:func:`probe_preset_names`)."""
    path = Path(path)
    if not path.is_file() and str(path) in probe_preset_names():
        path = PROBE_PRESETS / f"{path}.toml"
    if not path.is_file():
        raise InputError(
            f"No probe study file '{path}'; the presets are: {', '.join(probe_preset_names())}."
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Probe study file '{path}' is not valid TOML: {exc}.") from None
    return probe_study_from_dict(data, str(path))


def probe_study_from_dict(data: Mapping[str, Any], where: str = "probe study") -> ProbeStudy:
    unknown = set(data) - {"study", "students", "inputs", "teachers"}
    if unknown:
        raise InputError(
            f"{where}: unknown sections {sorted(unknown)}; use [study], [students], [inputs] "
            "and [[teachers]]."
        )
    study = dict(data.get("study", {}))
    students = dict(data.get("students", {}))
    name = study.pop("name", Path(where).stem)
    config_keys = set(StudentConfig.__dataclass_fields__)
    config = {k: students.pop(k) for k in list(students) if k in config_keys}
    allowed_study = {
        "duration_ms", "train", "valid", "test", "seed", "chunk", "tolerance", "compare",
        "equivalence_auc",
    }  # fmt: skip
    allowed_students = {"depths", "width", "extent", "paper_if"}
    for section, keys, allowed in (
        ("study", study, allowed_study),
        ("students", students, allowed_students | config_keys),
    ):
        bad = set(keys) - allowed
        if bad:
            raise InputError(
                f"{where} [{section}]: unknown keys {sorted(bad)}; allowed: {sorted(allowed)}."
            )
    teachers = tuple(
        teacher_from_dict(t, f"{where} teachers[{i}]")
        for i, t in enumerate(data.get("teachers", []))
    )
    if "compare" in study:
        study["compare"] = tuple(tuple(p) for p in study["compare"])
    if "depths" in students:
        students["depths"] = tuple(students["depths"])
    try:
        student = StudentConfig(**config)
    except TypeError as exc:
        raise InputError(f"{where} [students]: {exc}.") from None
    return ProbeStudy(
        name=name,
        teachers=teachers,
        stats=InputStatistics.from_dict(dict(data.get("inputs", {}))),
        student=student,
        **study,
        **students,
    )


# -- running -------------------------------------------------------------------------------------
def _calibrated(
    teacher: Teacher, study: ProbeStudy, out: Path, device: str
) -> tuple[Teacher, dict[str, Any] | None]:
    if teacher.target_rate is None:
        return teacher, None
    path = out / "data" / f"{teacher.name}.calibration.json"
    duration_ms = min(study.duration_ms, 3000)
    if path.exists():
        saved = json.loads(path.read_text())
        same = (
            saved["teacher"] == teacher.to_dict()
            and saved["gains"] == list(CALIBRATION_GAINS)
            and saved.get("simulations") == CALIBRATION_SIMULATIONS
            and saved.get("duration_ms") == duration_ms
        )
        if same:
            return teacher.with_gain(saved["gain"]), saved
    calibration = calibrate_gain(
        teacher,
        study.stats,
        seed=study.seed,
        duration_ms=duration_ms,
        device=device,
        directory=out / "data" / "build" / f"{teacher.name}-calibration",
    )
    saved = {"teacher": teacher.to_dict(), **calibration.to_dict()}
    write_json(path, saved)
    return teacher.with_gain(calibration.gain), saved


def _fit(
    spec: StudentSpec,
    teacher: str,
    data: Mapping[str, Any],
    study: ProbeStudy,
    out: Path,
    *,
    device: str,
    progress: bool,
) -> dict[str, Any]:
    folder = out / "students" / teacher
    path = folder / f"{spec.name}.json"
    if path.exists():
        saved: dict[str, Any] = json.loads(path.read_text())
        if saved.get("config") == study.student.to_dict():
            return saved
    fitted = fit_student(
        spec,
        data["train"],
        data["valid"],
        study.student,
        checkpoint=folder / f"{spec.name}.ckpt",
        progress=progress,
        device=device,
    )
    test = fitted.evaluate(data["test"], study.student.burn_in_ms, device=device)
    entry = {
        "spec": spec.to_dict(),
        "name": spec.name,
        "parameters": fitted.parameters,
        "steps": fitted.steps,
        "best_step": fitted.best_step,
        "fit_seconds": fitted.fit_seconds,
        "valid": fitted.valid,
        "test": test,
        "history": fitted.history,
        "config": study.student.to_dict(),
    }
    write_json(path, entry)
    return entry


def run_complexity_probe(
    out: str | Path,
    study: ProbeStudy,
    *,
    device: str = "cpp_standalone",
    train_device: str = "cpu",
    progress: bool = True,
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``study`` into ``out``; writes ``results.json`` and the report (``report.md``,
    ``figures/``). ``resume``: continue a study there (its data and fitted students are
    reused; other settings are refused); without it, a folder holding a study is refused."""
    from ..report.complexity_probe import write_probe_report

    out = Path(out)
    if not resume and ((out / "data").exists() or (out / "students").exists()):
        raise InputError(
            f"'{out}' already holds a complexity-probe study; pass --resume (resume=True) to "
            "continue it, or give another --out folder."
        )
    spec = study.data_spec()
    splits = {
        "train": range(0, study.train),
        "valid": range(study.train, study.train + study.valid),
        "test": range(study.train + study.valid, study.simulations),
    }
    results: dict[str, Any] = {"settings": study.settings(), "teachers": {}}
    for teacher in study.teachers:
        teacher, calibration = _calibrated(teacher, study, out, device)
        made = generate(
            out / "data", spec, teacher, device=device, progress=log if progress else None
        )
        data = {k: load(out / "data", spec, teacher.name, r) for k, r in splits.items()}
        rate = float(data["train"].spikes.sum()) / (study.train * study.duration_ms / 1000.0)
        entry: dict[str, Any] = {
            "teacher": teacher.to_dict(),
            "calibration": calibration,
            "output_rate_hz": rate,
            "data_seconds_this_run": made["seconds"],
            "students": {},
        }
        for student in study.students():
            began = time.perf_counter()
            fit = _fit(
                student, teacher.name, data, study, out, device=train_device, progress=progress
            )
            entry["students"][student.name] = fit
            if progress:
                log(
                    f"{teacher.name} {student.name}: test AUC {fit['test']['spike_auc']:.4f}, "
                    f"soma EV {fit['test']['soma_ev_percent']:.1f} % "
                    f"({time.perf_counter() - began:.0f} s)"
                )
        chosen = _best_by_depth(study.students(), entry["students"])
        sweep = {d: entry["students"][name]["test"]["spike_auc"] for d, name in chosen.items()}
        entry["student_by_depth"] = {str(d): name for d, name in chosen.items()}
        entry["auc_by_depth"] = {str(d): a for d, a in sweep.items()}
        entry["functional_depth"] = functional_depth(sweep, study.tolerance)
        results["teachers"][teacher.name] = entry
    results["comparisons"] = [_compare(results["teachers"], a, b, study) for a, b in study.compare]
    write_json(out / "results.json", results)
    write_probe_report(out, results)
    return results


def _best_by_depth(students: tuple[StudentSpec, ...], fits: Mapping[str, Any]) -> dict[int, str]:
    """Per depth, the student with the best validation spike AUC (the paper's 1-unit
    linear student competes at depth 1 with the sweep's)."""
    chosen: dict[int, str] = {}
    for spec in students:
        best = chosen.get(spec.depth)
        auc = fits[spec.name]["valid"]["spike_auc"]
        if best is None or auc > fits[best]["valid"]["spike_auc"]:
            chosen[spec.depth] = spec.name
    return dict(sorted(chosen.items()))


def _compare(teachers: Mapping[str, Any], a: str, b: str, study: ProbeStudy) -> dict[str, Any]:
    curve_a, curve_b = teachers[a]["auc_by_depth"], teachers[b]["auc_by_depth"]
    differences = {d: abs(curve_a[d] - curve_b[d]) for d in curve_a}
    largest = max(differences.values())
    same_depth = teachers[a]["functional_depth"] == teachers[b]["functional_depth"]
    return {
        "teachers": [a, b],
        "auc_difference_by_depth": differences,
        "max_auc_difference": largest,
        "same_functional_depth": same_depth,
        "equivalent": bool(largest <= study.equivalence_auc and same_depth),
        "threshold": study.equivalence_auc,
    }
