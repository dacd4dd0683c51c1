"""Compute-cost study (the paper's Fig. 5b): operation counts, parameters and timing.

The counts come from :func:`spikebridge.cost.cost_table` (the network objects themselves,
the paper's counter and the corrected one); the timing from
:func:`spikebridge.cost.timing_table` (inference and training step measured side by side,
round-robin). Each part is stored on its own (``counts.json``, ``timing.json``), so a
resumed run does not measure again what it already has.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ..checks import count
from ..cost import cost_table, timing_table
from ..errors import InputError
from ..io import write_json


def hardware() -> dict[str, Any]:
    """The machine the timing ran on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def run_cost_study(
    out: str | Path,
    *,
    timing: bool = True,
    batch: int = 128,
    repeats: int = 5,
    steps: int = 15,
    resume: bool = False,
) -> dict[str, Any]:
    """Write ``out/results.json`` (counts, and timing when asked), the report and figures."""
    out = Path(out)
    batch, repeats, steps = count(batch, "batch"), count(repeats, "repeats"), count(steps, "steps")
    settings = {"timing": timing, "batch": batch, "repeats": repeats, "steps": steps}
    stored = out / "settings.json"
    if stored.exists():
        if not resume:
            raise InputError(
                f"{out} already holds a cost study. Pass --resume to reuse its finished parts, "
                "or choose another --out (nothing was overwritten)."
            )
        if json.loads(stored.read_text()) != settings:
            raise InputError(f"{out} holds a cost study with other settings; use another --out.")
    write_json(stored, settings)
    began = time.perf_counter()
    counts_path = out / "counts.json"
    if not counts_path.exists():
        write_json(counts_path, cost_table(steps=steps))
    results: dict[str, Any] = json.loads(counts_path.read_text())
    if timing:
        timing_path = out / "timing.json"
        if not timing_path.exists():
            write_json(
                timing_path,
                timing_table(batch=batch, repeats=repeats, steps=steps) | {"hardware": hardware()},
            )
        results["timing"] = json.loads(timing_path.read_text())
    results["seconds"] = time.perf_counter() - began
    write_json(out / "results.json", results)
    from ..report.cost import write_cost_report

    write_cost_report(out, results)
    return results
