"""What a study-file report shows besides the metrics: membrane traces and f-I curves.

* **Traces**: for the first held-out condition of every input entry, the membrane
  (the model file's first ``MEMBRANE`` variable, in its ``MEMBRANE_UNIT``) of the reference
  and of every fitted candidate, with the input current, on the study's engine; at most
  :data:`TRACE_POINTS` samples each (every k-th sample kept).
* **f-I curves**: spike counts of the reference and of every fitted candidate under constant
  currents at :data:`FI_LEVELS` levels from 0 to 1.5 times the largest study current, one
  neuron per level, for the study's duration.

A recorded reference has no model to drive: its traces are the recorded voltage where
there is one, and its f-I curve is left out (the candidates' are kept).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fit_study import Condition, entry_result, input_dt, simulate_entry
from .study_file import ModelEntry, RecordedReference, StudyFile

TRACE_POINTS = 2000
FI_LEVELS = 16


def _models(study: StudyFile, fits: dict[str, dict[str, Any]]) -> list[tuple[str, ModelEntry, Any]]:
    entries: list[tuple[str, ModelEntry, Any]] = []
    if isinstance(study.reference, ModelEntry):
        entries.append(("reference", study.reference, None))
    for entry in study.candidates:
        entries.append((entry.name, entry, fits[entry.name]["values"]))
    return entries


def _parameters(values: dict[str, float] | None, n: int) -> dict[str, np.ndarray] | None:
    return None if values is None else {k: np.full(n, v) for k, v in values.items()}


def example_traces(
    study: StudyFile,
    conds: list[Condition],
    current: np.ndarray,
    fits: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Membrane traces on the first held-out condition of each input entry (module docstring)."""
    chosen: list[int] = []
    for i, c in enumerate(conds):
        if c.split == "test" and all(conds[j].entry != c.entry for j in chosen):
            chosen.append(i)
    unit = float(study.input_unit)
    examples: dict[str, Any] = {
        "conditions": chosen,
        "labels": [f"{conds[i].entry}:{conds[i].family} (seed {conds[i].seed})" for i in chosen],
        "membrane": {},
    }
    stride = max(1, current.shape[0] // TRACE_POINTS)
    examples["input"] = {
        "stride_ms": stride * input_dt(study) * 1e3,
        "values": (current[::stride, chosen] / unit).T.round(6).tolist(),
    }
    recording = study.reference
    if isinstance(recording, RecordedReference) and recording.voltage_mV is not None:
        voltage = np.asarray(recording.voltage_mV)[chosen]
        examples["membrane"]["reference"] = {
            "variable": "recorded voltage",
            "unit": "mV",
            "stride_ms": stride * input_dt(study) * 1e3,
            "values": voltage[:, ::stride].round(4).tolist(),
        }
    for name, entry, values in _models(study, fits):
        variable = entry.model.membrane[0]
        result = entry_result(
            study,
            entry,
            current[:, chosen],
            _parameters(values, len(chosen)),
            engine=study.engine,
            device=study.device,
            record=(variable,),
        )
        trace = result.traces[variable] / entry.model.membrane_scale
        step = max(1, trace.shape[0] // TRACE_POINTS)
        examples["membrane"][name] = {
            "variable": variable,
            "unit": entry.model.membrane_unit_name,
            "stride_ms": step * result.dt * 1e3,
            "values": trace[::step].T.round(4).tolist(),
        }
    return examples


def f_i_curves(
    study: StudyFile, current: np.ndarray, fits: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Spike counts under constant currents (module docstring); currents in study units."""
    unit = float(study.input_unit)
    top = 1.5 * float(np.abs(current).max()) / unit
    levels = np.linspace(0.0, top, FI_LEVELS)
    constant = np.broadcast_to(levels * unit, (current.shape[0], FI_LEVELS)).copy()
    curves: dict[str, Any] = {"current": levels.round(6).tolist(), "counts": {}}
    for name, entry, values in _models(study, fits):
        trains = simulate_entry(
            study,
            entry,
            constant,
            _parameters(values, FI_LEVELS),
            engine=study.engine,
            device=study.device,
        )
        curves["counts"][name] = [len(t) for t in trains]
    return curves
