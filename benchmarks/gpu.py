"""The GPU rows of every benchmark, in one run of under 8 minutes on one GPU.

For the day a GPU machine is lent. It installs nothing: the lent machine has Python 3.12,
a CUDA build of torch, nvcc and cuRAND but no package index, so ``benchmarks/gpu_wheels.sh``
(run here) puts what it lacks into ``.whl/`` (brian2 2.10.1 and brian2cuda 1.0b1 for
Python 3.12, snntorch, nir and a spikebridge wheel; about 3 MB), and the device run carries
``.whl`` and starts with ``python3 -m pip install -q --no-index --no-deps --target /tmp/site
.whl/*.whl && export PYTHONPATH=/tmp/site`` (the full command is in that script). The
script runs each benchmark's GPU section in a subprocess with its own time budget and
writes everything under ``--out``:

=====================  ==========================================================  ======
step                   what                                                        budget
=====================  ==========================================================  ======
``parity``             cuda_standalone vs cpp_standalone: the COBA network         110 s
                       (4,000 LIF, 20 ms, float64) spike for spike, first
                       differing step, rates; the HH model's traces
``throughput``         HH networks, 1e6 neurons float32, uncoupled and coupled:    200 s
                       cuda_standalone and torch CUDA (eager, compiled) vs
                       cpp_standalone at 1,000 (``simulation_throughput.py``)
``training_step``      lif-fc, hh-fc, s-lif2hh-fc and snnTorch's Leaky on CUDA,    80 s
                       eager (``training_step.py``; compiled modes take minutes of
                       first calls)
``open_neuromorphic``  the Open Neuromorphic shape on CUDA: our LIF and HH layers   80 s
                       vs snnTorch's Leaky, eager (``open_neuromorphic.py``)
=====================  ==========================================================  ======

A step that runs past its budget is stopped with all its processes (Brian2's binaries and
nvcc included) and recorded as such; what it wrote stays. ``--dry-run`` checks the plan
without a GPU: every option given to a benchmark is one it takes (its ``--help`` lists
them; the values are not parsed), the budgets fit in ``--limit``, the output folder is
writable, and it reports what this machine lacks for the real run; it runs nothing else.

    .venv/bin/python benchmarks/gpu.py --out benchmarks/results/gpu     # on the GPU machine
    .venv/bin/python benchmarks/gpu.py --dry-run                        # anywhere
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LIMIT_S = 480


@dataclass(frozen=True)
class Step:
    name: str
    script: str  # a benchmark of this folder, or "" for this file's own parity check
    options: tuple[str, ...]
    budget_s: int


def plan(out: Path) -> list[Step]:
    """The steps, with the options each benchmark is given."""
    throughput = "--sizes 1000 --gpu-sizes 1000000 --dtypes float32 --steps 500 --repeats 2"
    training = "--device cuda --modes eager --leaky-modes eager --repeats 10 --warmup 3"
    shape = "--device cuda --contenders lif,hh,leaky --modes eager --leaky-modes eager"
    return [
        Step("parity", "", ("--parity-child", str(out / "parity.json")), 110),
        Step(
            "throughput",
            "simulation_throughput.py",
            (
                *throughput.split(),
                "--simulate-sizes",
                "",
                "--profile",
                "0",
                "--out",
                str(out / "throughput.json"),
            ),
            200,
        ),
        Step(
            "training_step",
            "training_step.py",
            (*training.split(), "--out", str(out / "training-step.json")),
            80,
        ),
        Step(
            "open_neuromorphic",
            "open_neuromorphic.py",
            (*shape.split(), "--repeats", "3", "--out", str(out / "open-neuromorphic.json")),
            80,
        ),
    ]


def select(steps: list[Step], only: str) -> list[Step]:
    """The steps named in ``only`` (comma-separated), in plan order (to rerun some)."""
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    unknown = sorted(wanted - {s.name for s in steps})
    if unknown or not wanted:
        raise ValueError(f"unknown steps {unknown}; the steps: {[s.name for s in steps]}")
    return [s for s in steps if s.name in wanted]


def lacking() -> list[str]:
    """What this machine lacks for the real run (empty on a ready GPU machine)."""
    import importlib.util

    import torch

    missing = []
    if not torch.cuda.is_available():
        build = "a CPU-only torch" if torch.version.cuda is None else "no visible GPU"
        missing.append(f"torch CUDA ({build}, torch {torch.__version__})")
    from spikebridge.errors import DeviceUnavailableError

    if importlib.util.find_spec("brian2cuda") is None:
        missing.append("brian2cuda")
    else:
        from spikebridge.brian.cuda_build import find_toolkit

        try:
            find_toolkit()
        except DeviceUnavailableError as exc:
            missing.append(str(exc))
        from spikebridge.brian.devices import cuda_gpu_present

        if not cuda_gpu_present():
            missing.append("an NVIDIA GPU for cuda_standalone (nvidia-smi lists none)")
    return missing


def check_plan(steps: list[Step], out: Path, limit: int) -> list[str]:
    """Problems of the plan: options a benchmark does not take, budgets over the limit."""
    problems = []
    total = sum(s.budget_s for s in steps)
    if total > limit:
        problems.append(f"the budgets add up to {total} s, over the limit of {limit} s")
    for step in steps:
        if not step.script:
            continue
        text = subprocess.run(
            [sys.executable, str(HERE / step.script), "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if text.returncode != 0:
            problems.append(f"{step.script} --help failed: {text.stderr[-500:]}")
            continue
        taken = set(re.findall(r"--[a-z][a-z0-9-]*", text.stdout))
        unknown = [o for o in step.options if o.startswith("--") and o not in taken]
        if unknown:
            problems.append(f"{step.script} takes no {', '.join(unknown)}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        problems.append(f"cannot write to {out}: {exc}")
    return problems


def parity_child(path: Path) -> None:
    """cuda_standalone against cpp_standalone (run in a subprocess of the plan)."""
    import numpy as np
    from brian2 import ms

    from spikebridge.brian.network import run_network_brian2
    from spikebridge.io import write_json
    from spikebridge.network import network_from, plan_network, prepare_run
    from spikebridge.network.parity import first_difference
    from spikebridge.parity import parity

    run = prepare_run(plan_network(network_from("coba", {"n": 4000})), duration=20 * ms)
    results = {
        device: run_network_brian2(run, device=device, dtype="float64")
        for device in ("cpp_standalone", "cuda_standalone")
    }
    cpp, cuda = results["cpp_standalone"], results["cuda_standalone"]
    rows: dict[str, Any] = {}
    for key, spikes in cpp.spikes.items():  # (trial, step, neuron) rows, sorted
        other = cuda.spikes[key]
        first = first_difference(spikes, other, run.n_steps)
        rows[key] = {
            "spikes_cpp": len(spikes),
            "spikes_cuda": len(other),
            "identical": bool(np.array_equal(spikes, other)),
            "first_differing_step": None if first == run.n_steps else first,
        }
    hh = parity("hh", device="cuda_standalone", torch_device="cuda").to_dict()
    write_json(path, {"coba_20ms_float64": rows, "hh_cuda_standalone_vs_torch_cuda": hh})


def _run_step(command: list[str], timeout: float) -> tuple[str, str]:
    """Run one step in a process group of its own; past ``timeout`` the whole group (Brian2's
    binaries, make and nvcc too) is killed. Returns the status and the output's tail."""
    import signal

    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        status = "ok" if process.returncode == 0 else f"exit {process.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        status = "over budget"
    return status, (output or "")[-3000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/gpu", help="output folder")
    parser.add_argument("--limit", type=int, default=LIMIT_S, help="seconds for everything")
    parser.add_argument("--dry-run", action="store_true", help="check the plan; run nothing")
    parser.add_argument("--only", default=None, help="comma-separated steps (default: all)")
    parser.add_argument("--parity-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.parity_child:
        parity_child(Path(args.parity_child))
        return
    from spikebridge.io import write_json

    out = Path(args.out)
    steps = plan(out)
    if args.only:
        try:
            steps = select(steps, args.only)
        except ValueError as exc:
            parser.error(str(exc))
    problems = check_plan(steps, out, args.limit)
    missing = lacking()
    if args.dry_run:
        print(
            json.dumps(
                {
                    "steps": [s.__dict__ for s in steps],
                    "problems": problems,
                    "lacking_for_the_real_run": missing,
                },
                indent=1,
            )
        )
        sys.exit(1 if problems else 0)
    if problems or missing:
        sys.exit("not run: " + "; ".join(problems + missing))
    began, log = time.perf_counter(), []
    for step in steps:
        left = args.limit - (time.perf_counter() - began)
        command = [
            sys.executable,
            str(HERE / step.script) if step.script else __file__,
            *step.options,
        ]
        started = time.perf_counter()
        status, tail = _run_step(command, max(1, min(step.budget_s, left)))
        log.append(
            {
                "step": step.name,
                "status": status,
                "seconds": time.perf_counter() - started,
                "output_tail": tail,
            }
        )
        print(f"{step.name}: {status} in {log[-1]['seconds']:.0f} s", flush=True)
        write_json(out / "gpu-run.json", log)  # atomic: a stopped run keeps the steps done
    print(f"total {time.perf_counter() - began:.0f} s; results in {out}")


if __name__ == "__main__":
    main()
