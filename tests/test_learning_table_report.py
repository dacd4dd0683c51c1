"""benchmarks/learning_table_report.py: the verdict rule of the learning table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report() -> ModuleType:
    path = ROOT / "benchmarks" / "learning_table_report.py"
    spec = importlib.util.spec_from_file_location("learning_table_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["learning_table_report"] = module
    spec.loader.exec_module(module)
    return module


def entry(means: tuple[float, float], stds: tuple[float, float]) -> dict[str, Any]:
    return {
        "seeds": 3,
        **{
            t: {"mean": m, "std": s, "values": [m - s, m, m + s]}
            for t, m, s in zip(("task1", "task2"), means, stds, strict=True)
        },
    }


def test_verdicts_follow_two_standard_deviations(report: ModuleType) -> None:
    table = {
        "lif-fc": entry((0.72, 0.70), (0.005, 0.008)),
        "hh-fc": entry((0.816, 0.808), (0.003, 0.005)),
        "s-lif2hh-fc": entry((0.81, 0.80), (0.004, 0.004)),  # task 2 0.8 within 2*sqrt(...)
        "4lif-fc": entry((0.725, 0.67), (0.004, 0.002)),  # task 1 within, task 2 below
        "ann-fc": entry((0.71, 0.69), (0.01, 0.01)),  # both within spread
    }
    found = {row["claim"]: row["verdict"] for row in report.verdicts(table)}
    assert found == {
        "HH and s-LIF2HH perform alike": "holds",
        "HH clearly better than LIF": "holds",
        "s-LIF2HH clearly better than LIF": "holds",
        "4LIF slightly above LIF": "does not hold",
        "b-ANN slightly below LIF": "cannot tell",
    }
    table["s-lif2hh-fc"] = entry((0.79, 0.78), (0.002, 0.002))
    alike = report.verdicts(table)[0]
    assert alike["verdict"] == "does not hold"
    assert alike["per_task"]["task1"]["order"] == "above"  # HH above s-LIF2HH
    table["hh-fc"] = {**table["hh-fc"], "seeds": 1}
    assert report.verdicts(table)[1]["verdict"] == "cannot tell (one seed)"
    del table["ann-fc"]
    assert report.verdicts(table)[-1]["verdict"] == "not measured"
