"""``spikebridge doctor``: what this machine can run, checked by running it.

The counterpart of ``brian2.test()`` for spikebridge's two engines. Every check runs a
real, small job and reports ``ok``, ``unavailable`` (with the reason and what to install)
or ``failed`` (with the error):

- versions of spikebridge and of what it runs on;
- Brian2 devices: ``numpy`` and ``runtime`` (Cython) run a LIF group for 200 steps;
  ``cpp_standalone`` builds and runs the parity check below; ``cuda_standalone`` is split
  into *build* (brian2cuda, nvcc and cuRAND found; with ``cuda_build=True`` a LIF project
  is built by brian2cuda's makefile, compiled for sm_90 and linked, without a GPU: about
  two minutes on 2 cores) and *run* (a visible GPU: the parity
  check on it); ``genn`` (brian2genn and GeNN 4.x);
- torch devices (CPU, CUDA GPUs, Apple MPS), with their names;
- a parity check per engine device: the HH model for 2 ms (200 steps of 0.01 ms, float64)
  in Brian2 and in torch on each torch device, within the tolerance table.

Checks run in parallel worker processes (Brian2 keeps global state; a crash stays in its
worker), so on 2 cores the whole run takes about 20 s.
"""

from __future__ import annotations

import importlib.metadata
import multiprocessing
import os
import platform
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: statuses of a check
OK, UNAVAILABLE, FAILED = "ok", "unavailable", "failed"
_PACKAGES = (
    "spikebridge",
    "brian2",
    "brian2cuda",
    "brian2genn",
    "numpy",
    "scipy",
    "sympy",
    "cython",
    "torch",
    "snntorch",
    "nir",
    "nirtorch",
    "norse",
)
_PARITY_MODEL = "hh"
_PARITY_STEPS = 200


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    group: str
    name: str
    status: str
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def versions() -> dict[str, str | None]:
    """Versions of Python, the compilers and the packages (None: not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    for compiler in ("g++", "nvcc"):
        path = shutil.which(compiler) if compiler == "g++" else _nvcc()
        if path is None:
            found[compiler] = None
            continue
        text = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
        lines = [line for line in text.splitlines() if line.strip()]
        found[compiler] = (lines[0] if compiler == "g++" else lines[-1]) if lines else path
    return found


def _nvcc() -> str | None:
    """The nvcc a cuda_standalone build would use (spikebridge's toolkit search), or None."""
    from .brian.cuda_build import find_toolkit
    from .errors import DeviceUnavailableError

    try:
        return find_toolkit().nvcc
    except DeviceUnavailableError:
        return None


# -- checks (each runs in a worker process and returns a Check) ----------------------------------
def _timed(group: str, name: str, job: Callable[[], tuple[str, str]]) -> Check:
    from .errors import DeviceUnavailableError

    began = time.perf_counter()
    try:
        status, detail = job()
    except DeviceUnavailableError as exc:
        status, detail = UNAVAILABLE, str(exc)
    except Exception as exc:  # a failed check is reported, never raised
        lines = traceback.format_exception_only(type(exc), exc)
        status, detail = FAILED, "".join(lines).strip()
    return Check(group, name, status, detail, time.perf_counter() - began)


def _run_group(device: str) -> tuple[str, str]:
    from brian2 import ms

    from .brian.simulate import simulate_brian2

    result = simulate_brian2("lif", device=device, n=2, duration=2 * ms, inputs={})
    spikes = int(sum(len(v) for v in result.spikes.values()))
    return OK, f"builds and runs (LIF, {result.n_steps} steps, {spikes} spikes)"


def _parity(device: str, torch_device: str) -> tuple[str, str]:
    from brian2 import second

    from .brian.devices import check_device
    from .model import load_model
    from .parity import parity

    check_device(device)
    model = load_model(_PARITY_MODEL)
    duration = _PARITY_STEPS * float(model.dt) * second
    report = parity(model, device=device, torch_device=torch_device, duration=duration)
    data = report.to_dict()
    detail = (
        f"{report.model} {report.n_steps} steps float64: max |dv| {data['max_abs_v']:.2e} "
        f"{report.membrane_unit}, spikes {data['spikes_brian2']} / {data['spikes_torch']}"
    )
    return (OK if report.within_tolerance else FAILED), detail


def _cuda_build(compile_project: bool) -> tuple[str, str]:
    from .brian.cuda_build import build_check, find_toolkit, require_brian2cuda

    require_brian2cuda()
    toolkit = find_toolkit()
    found = (
        f"nvcc {toolkit.runtime_version} at {toolkit.cuda_path}, cuRAND {toolkit.curand_library}"
    )
    if not compile_project:
        return OK, f"can build ({found}); --cuda-build compiles a project"
    with tempfile.TemporaryDirectory(prefix="spikebridge_doctor_cuda_") as folder:
        report = build_check(["lif"], directory=folder, mode="make")
        linked = (Path(folder) / "main").is_file()
    if not report.ok:
        return FAILED, f"{found}; nvcc failed:\n{report.error[-2000:]}"
    if not linked:
        return FAILED, f"{found}; make finished but wrote no binary"
    return OK, (
        f"compiles and links for sm_{int(report.compute_capability * 10)} in "
        f"{report.seconds['compile']:.0f} s ({found})"
    )


def _cuda_run() -> tuple[str, str]:
    from .brian.devices import check_device

    check_device("cuda_standalone")
    return _parity("cuda_standalone", "cpu")


def _genn() -> tuple[str, str]:
    from .brian.devices import check_device

    check_device("genn")
    return _run_group("genn")


def _torch_devices() -> tuple[str, str]:
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names += [
            f"cuda:{k} {torch.cuda.get_device_name(k)}" for k in range(torch.cuda.device_count())
        ]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return OK, ", ".join(names)


def _job(key: str, cuda_build: bool) -> Check:
    """One check by its key (module level, so that worker processes can run it)."""
    if key == "torch":
        return _timed("torch", "devices", _torch_devices)
    if key.startswith("parity:"):
        torch_device = key.split(":", 1)[1]
        return _timed(
            "parity",
            f"cpp_standalone vs torch {torch_device}",
            lambda: _parity("cpp_standalone", torch_device),
        )
    if key == "cuda_standalone build":
        return _timed("brian2", key, lambda: _cuda_build(cuda_build))
    if key == "cuda_standalone run":
        return _timed("brian2", key, _cuda_run)
    if key == "genn":
        return _timed("brian2", key, _genn)
    return _timed("brian2", key, lambda: _run_group(key))


def _torch_device_names() -> list[str]:
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    return names


def _result(key: str, future: Any) -> Check:
    """A worker's check; a worker that died (a crash in compiled code) is a failed check."""
    try:
        return future.result()
    except Exception as exc:  # BrokenProcessPool and the like: reported, never raised
        group = "parity" if key.startswith("parity") else ("torch" if key == "torch" else "brian2")
        return Check(group, key, FAILED, f"the check's worker died: {exc!r}", 0.0)


def diagnose(*, cuda_build: bool = False, workers: int | None = None) -> dict[str, Any]:
    """Run every check; returns ``{"versions": ..., "checks": [...], "seconds": ...}``."""
    from .checks import count

    workers = count(workers if workers is not None else (os.cpu_count() or 1), "workers")
    began = time.perf_counter()
    keys = ["numpy", "runtime", "cuda_standalone build", "cuda_standalone run", "genn", "torch"]
    keys += [f"parity:{name}" for name in _torch_device_names()]
    # the slow ones first, so that the pool is busy to the end
    order = sorted(keys, key=lambda k: (not k.startswith("parity"), k != "runtime"))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {key: pool.submit(_job, key, cuda_build) for key in order}
        found = versions()
        results = {key: _result(key, future) for key, future in futures.items()}
    checks = [results[key] for key in keys]
    return {
        "versions": found,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "checks": [c.to_dict() for c in checks],
        "ok": all(c.status != FAILED for c in checks),
        "seconds": time.perf_counter() - began,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned text."""
    lines = ["versions:"]
    for name, value in report["versions"].items():
        lines.append(f"  {name:<12} {value if value is not None else '(not installed)'}")
    for check in report["checks"]:
        label = f"{check['group']} {check['name']}"
        first, *rest = check["detail"].splitlines() or [""]
        lines.append(f"{label:<42} {check['status']:<12} {first} ({check['seconds']:.1f} s)")
        lines += [" " * 56 + line for line in rest]
    lines.append(
        f"total {report['seconds']:.1f} s; "
        + ("all available checks pass" if report["ok"] else "a check FAILED")
    )
    return "\n".join(lines)
