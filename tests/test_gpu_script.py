"""benchmarks/gpu.py, the one script for a lent GPU: its dry run checks its plan on CPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _gpu_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_script", ROOT / "benchmarks" / "gpu.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_script"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_dry_run_passes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--dry-run", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["problems"] == []
    assert [s["name"] for s in report["steps"]] == [
        "parity",
        "throughput",
        "training_step",
        "open_neuromorphic",
    ]
    assert sum(s["budget_s"] for s in report["steps"]) <= 480
    import torch

    if not torch.cuda.is_available():
        assert any("torch CUDA" in m for m in report["lacking_for_the_real_run"])


def test_the_dry_run_finds_an_option_a_benchmark_does_not_take(tmp_path: Path) -> None:
    gpu = _gpu_script()
    steps = [gpu.Step("x", "training_step.py", ("--device", "cuda", "--no-such-option"), 10)]
    problems = gpu.check_plan(steps, tmp_path, 480)
    assert problems == ["training_step.py takes no --no-such-option"]
    over = gpu.check_plan([gpu.Step("y", "", (), 500)], tmp_path, 480)
    assert over == ["the budgets add up to 500 s, over the limit of 480 s"]


def test_a_step_over_budget_is_stopped_with_its_children() -> None:
    import time

    gpu = _gpu_script()
    child = (
        "import subprocess, time; p = subprocess.Popen(['sleep', '60']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    began = time.perf_counter()
    status, tail = gpu._run_step([sys.executable, "-c", child], 3)
    assert status == "over budget" and time.perf_counter() - began < 30
    grandchild = int(tail.split()[0])
    time.sleep(0.5)
    state = Path(f"/proc/{grandchild}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z", "sleep still runs"
    assert gpu._run_step([sys.executable, "-c", "print('hi')"], 30) == ("ok", "hi\n")


def test_only_reruns_the_named_steps(tmp_path: Path) -> None:
    import pytest

    gpu = _gpu_script()
    steps = gpu.plan(tmp_path)
    chosen = gpu.select(steps, "open_neuromorphic, parity")
    assert [s.name for s in chosen] == ["parity", "open_neuromorphic"]  # plan order
    with pytest.raises(ValueError, match=r"unknown steps \['gpu'\]"):
        gpu.select(steps, "parity,gpu")
