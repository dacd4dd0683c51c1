"""Simulation throughput of HH networks: Brian2 (cpp_standalone, cuda_standalone) vs torch.

Every contender runs the ``hh`` model (exponential Euler, dt = 0.01 ms) for the same number
of steps and neurons; reported: neuron-steps per second of the simulation loop, median and
spread ((max - min) / median) over repeats, and torch/Brian2 ratios measured in the same run.
Loop time only: Brian2 standalone devices are timed by the generated binary's own loop timer
(code generation, compilation and synapse creation excluded; repeats re-run the compiled
binary), the torch engine by a wall clock around its time loop (``torch.compile``
compilation excluded: one warm-up step runs first).

Two sections:

* ``simulate`` (the original benchmark): uncoupled HH neurons under 10 uA/cm2 through
  ``spikebridge.simulate``: Brian2 ``cpp_standalone`` without OpenMP (one build per repeat,
  all spikes recorded) vs the eager torch engine on one thread, float64 and float32.
* ``network``: a coupled population (``spikebridge.network.coupled_population``, run by
  ``spikebridge.torch.network``): N HH neurons, constant drive spread over
  ``--drive`` uA/cm2 (one value per neuron, so that they do not fire in lockstep), uncoupled
  and randomly coupled (fixed in-degree K, ``v_post += w`` at the step after a spike, as
  Brian2's ``Synapses(on_pre="v_post += w")``), spike counts recorded. Contenders: Brian2
  ``cpp_standalone`` with 1 thread (no OpenMP) and with all cores (OpenMP), Brian2
  ``cuda_standalone`` (where brian2cuda and a GPU are present; else a row says why not),
  the torch engine eager and compiled (``torch.compile`` of the generated network step;
  event delivery on the CPU, scatter on a GPU) with 1 and all threads on the CPU, and on
  CUDA where torch sees a GPU (sizes up to ``--gpu-sizes``).

The JSON holds the hardware, versions, settings, load average at start and end, every row,
the ratios and (``--profile``) a torch profile of one eager step.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brian2
import numpy as np
import torch

import spikebridge as sb
from spikebridge.brian.network import run_network_brian2
from spikebridge.io import write_json
from spikebridge.network import NetworkResult, coupled_population, plan_network, prepare_run
from spikebridge.torch.network import run_network_torch

Row = dict[str, Any]


def measure(engine: str, n: int, steps: int, dtype: str, repeats: int) -> Row:
    """The original measurement: ``spikebridge.simulate`` of uncoupled HH neurons."""
    times = []
    spikes = 0
    for _ in range(repeats):
        options = {"device": "cpp_standalone"} if engine == "brian2" else {"device": "cpu"}
        result = sb.simulate(
            "hh",
            engine=engine,
            n=n,
            n_steps=steps,
            dtype=dtype,
            record=(),
            parameters={"I": 10 * sb.uamp / sb.cm**2},
            **options,
        )
        times.append(float(result.metadata["loop_seconds"]))
        spikes = len(result.spike_steps())
    median = statistics.median(times)
    return {
        "section": "simulate",
        "engine": engine,
        "neurons": n,
        "steps": steps,
        "dtype": dtype,
        "loop_seconds": times,
        "median_seconds": median,
        "neuron_steps_per_second": n * steps / median,
        "spread": (max(times) - min(times)) / median if median > 0 else 0.0,
        "spikes": spikes,
    }


def simulate_section(sizes: list[int], steps: int, dtypes: list[str], repeats: int) -> list[Row]:
    torch.set_num_threads(1)
    rows: list[Row] = []
    for dtype in dtypes:
        for n in sizes:
            pair = {e: measure(e, n, steps, dtype, repeats) for e in ("brian2", "torch")}
            ratio = (
                pair["torch"]["neuron_steps_per_second"] / pair["brian2"]["neuron_steps_per_second"]
            )
            rows += [pair["brian2"], {**pair["torch"], "torch_over_brian2": ratio}]
            print(
                f"[simulate] {dtype} n={n}: "
                f"brian2 {pair['brian2']['neuron_steps_per_second']:.3g}, "
                f"torch {pair['torch']['neuron_steps_per_second']:.3g} neuron-steps/s "
                f"(torch/brian2 = {ratio:.2f})",
                flush=True,
            )
    return rows


def network_row(
    result: NetworkResult,
    *,
    kind: str,
    contender: str,
    threads: int | None,
    build_s: float,
    synapses: int,
) -> Row:
    times = list(result.loop_seconds)
    median = statistics.median(times)
    counts = result.spike_counts("neurons")[0]
    return {
        "section": "network",
        "network": kind,
        "contender": contender,
        "engine": result.engine,
        "threads": threads,
        "neurons": result.neurons,
        "steps": result.n_steps,
        "dtype": result.dtype,
        "synapses": synapses,
        "loop_seconds": times,
        "median_seconds": median,
        "neuron_steps_per_second": result.neurons * result.n_steps / median,
        "neuron_steps_per_second_per_thread": (
            result.neurons * result.n_steps / median / threads if threads else None
        ),
        "spread": (max(times) - min(times)) / median if median > 0 else 0.0,
        "spikes": int(counts.sum()),
        "build_or_compile_seconds": build_s,
        "metadata": dict(result.metadata),
        "_counts": counts,  # removed before writing
    }


def skipped_row(kind: str, contender: str, n: int, dtype: str, reason: str) -> Row:
    return {
        "section": "network",
        "network": kind,
        "contender": contender,
        "neurons": n,
        "dtype": dtype,
        "skipped": reason,
    }


def gpu_reason() -> str | None:
    """Why there is no GPU for torch here, or None."""
    if torch.cuda.is_available():
        return None
    build = "a CPU-only build of torch" if torch.version.cuda is None else "no CUDA device"
    return f"torch.cuda.is_available() is False ({build}, torch {torch.__version__})"


def brian2cuda_reason() -> str | None:
    """Why Brian2's cuda_standalone cannot run here (what is missing), or None."""
    from spikebridge.brian.devices import check_device
    from spikebridge.errors import DeviceUnavailableError

    try:
        check_device("cuda_standalone")
    except DeviceUnavailableError as exc:
        return str(exc)
    return None


def timed(function: Callable[[], NetworkResult]) -> tuple[NetworkResult, float]:
    """Run ``function``; the wall time outside the measured loops (build, compile, set-up)."""
    began = time.perf_counter()
    result = function()
    return result, time.perf_counter() - began - sum(result.loop_seconds)


def network_section(args: argparse.Namespace, out: Callable[[list[Row]], None]) -> list[Row]:
    cores = os.cpu_count() or 1
    thread_counts = sorted({1, cores})
    gpu_skip, b2cuda_skip = gpu_reason(), brian2cuda_reason()
    cpu_sizes = [int(s) for s in args.sizes.split(",") if s]
    gpu_sizes = [int(s) for s in args.gpu_sizes.split(",") if s] if gpu_skip is None else []
    rows: list[Row] = []
    for dtype in args.dtypes.split(","):
        for n in sorted(set(cpu_sizes) | set(gpu_sizes)):
            for kind in ("uncoupled", "coupled"):
                coupling: dict[str, Any] = {}
                if kind == "coupled":
                    k = min(args.in_degree, n - 1)
                    coupling = {"in_degree": k, "weight": args.weight * brian2.mV, "seed": 0}
                low, high = (float(x) for x in args.drive.split(","))
                drive = {"I": np.linspace(low, high, n) * sb.uamp / sb.cm**2}
                network = coupled_population("hh", n, parameters=drive, **coupling)
                plan = prepare_run(plan_network(network), n_steps=args.steps)
                new: list[Row] = []
                if n in cpu_sizes:
                    new += cpu_contenders(plan, kind, dtype, thread_counts, args)
                if n in gpu_sizes:
                    new += gpu_contenders(plan, kind, dtype, args, b2cuda_skip)
                elif n == max(cpu_sizes):
                    reason = gpu_skip or "size not in --gpu-sizes"
                    new.append(skipped_row(kind, "torch-cuda", n, dtype, reason))
                    if b2cuda_skip or gpu_skip:
                        reason = b2cuda_skip or gpu_skip or ""
                        new.append(skipped_row(kind, "brian2-cuda_standalone", n, dtype, reason))
                check_counts(new)
                rows += new
                out(rows)
    return rows


def cpu_contenders(
    plan: Any, kind: str, dtype: str, thread_counts: list[int], args: argparse.Namespace
) -> list[Row]:
    rows = []
    synapses = sum(p.size for p in plan.plan.projections.values())
    for threads in thread_counts:
        result, build = timed(
            lambda t=threads: run_network_brian2(  # type: ignore[misc]
                plan,
                device="cpp_standalone",
                dtype=dtype,
                threads=0 if t == 1 else t,  # 1 thread: Brian2 without OpenMP
                repeats=args.repeats,
            )
        )
        rows.append(
            network_row(
                result,
                kind=kind,
                contender="brian2-cpp_standalone",
                threads=threads,
                build_s=build,
                synapses=synapses,
            )
        )
        report(rows[-1])
        modes = (False, True) if args.compile else (False,)
        for compiled in modes:
            torch.set_num_threads(threads)
            result, build = timed(
                lambda c=compiled, t=threads: run_network_torch(  # type: ignore[misc]
                    plan,
                    device="cpu",
                    dtype=dtype,
                    synapses="event",
                    compile="step" if c else False,
                    compile_options={"cpp.threads": t} if c else None,
                    repeats=args.repeats,
                )
            )
            contender = "torch-cpu-compiled" if compiled else "torch-cpu-eager"
            rows.append(
                network_row(
                    result,
                    kind=kind,
                    contender=contender,
                    threads=threads,
                    build_s=build,
                    synapses=synapses,
                )
            )
            report(rows[-1])
    return rows


def gpu_contenders(
    plan: Any, kind: str, dtype: str, args: argparse.Namespace, b2cuda_skip: str | None
) -> list[Row]:
    rows = []
    n = plan.plan.populations["neurons"].n
    synapses = sum(p.size for p in plan.plan.projections.values())
    if b2cuda_skip is None:
        result, build = timed(
            lambda: run_network_brian2(
                plan, device="cuda_standalone", dtype=dtype, repeats=args.repeats
            )
        )
        rows.append(
            network_row(
                result,
                kind=kind,
                contender="brian2-cuda_standalone",
                threads=None,
                build_s=build,
                synapses=synapses,
            )
        )
        report(rows[-1])
    else:
        rows.append(skipped_row(kind, "brian2-cuda_standalone", n, dtype, b2cuda_skip))
    for compiled in (False, True) if args.compile else (False,):
        result, build = timed(
            lambda c=compiled: run_network_torch(  # type: ignore[misc]
                plan,
                device="cuda",
                dtype=dtype,
                synapses="scatter",
                compile="step" if c else False,
                repeats=args.repeats,
            )
        )
        contender = "torch-cuda-compiled" if compiled else "torch-cuda-eager"
        rows.append(
            network_row(
                result,
                kind=kind,
                contender=contender,
                threads=None,
                build_s=build,
                synapses=synapses,
            )
        )
        report(rows[-1])
    return rows


def check_counts(rows: list[Row]) -> None:
    """Per-neuron spike counts of every contender equal to Brian2's (same network)?"""
    counts = {id(row): row.pop("_counts") for row in rows if "_counts" in row}
    reference = next(
        (counts[id(r)] for r in rows if id(r) in counts and r["contender"].startswith("brian2")),
        None,
    )
    if reference is None:
        return
    for row in rows:
        if id(row) in counts:
            row["spike_counts_equal_brian2"] = bool(np.array_equal(counts[id(row)], reference))
            row["spike_counts_max_abs_diff"] = int(np.abs(counts[id(row)] - reference).max())


def report(row: Row) -> None:
    print(
        f"[network] {row['dtype']} {row['network']:9s} n={row['neurons']:>7} "
        f"{row['contender']:22s} threads={row['threads']}: "
        f"{row['neuron_steps_per_second']:.3g} neuron-steps/s (spread {row['spread']:.2f}, "
        f"{row['spikes']} spikes, build/compile {row['build_or_compile_seconds']:.1f} s)",
        flush=True,
    )


def ratios(rows: list[Row]) -> list[Row]:
    """torch / Brian2 throughput for every network, size, dtype and thread count."""
    measured = [r for r in rows if r.get("section") == "network" and "skipped" not in r]
    out = []
    for r in measured:
        if not r["contender"].startswith("torch"):
            continue
        brian_contender = (
            "brian2-cuda_standalone" if "cuda" in r["contender"] else "brian2-cpp_standalone"
        )
        for b in measured:
            same = all(b[key] == r[key] for key in ("network", "neurons", "dtype", "threads"))
            if same and b["contender"] == brian_contender:
                out.append(
                    {
                        "network": r["network"],
                        "neurons": r["neurons"],
                        "dtype": r["dtype"],
                        "threads": r["threads"],
                        "torch": r["contender"],
                        "brian2": brian_contender,
                        "torch_over_brian2": r["neuron_steps_per_second"]
                        / b["neuron_steps_per_second"],
                    }
                )
    return out


def profile_step(n: int, steps: int) -> Row:
    """Where an eager step's time goes: aten operations per step and the most expensive ones."""
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(1)

    def planned(size: int, drive: Any = None) -> Any:
        parameters = {} if drive is None else {"I": drive}
        network = coupled_population("hh", size, parameters=parameters)
        return prepare_run(plan_network(network), n_steps=steps)

    plan = planned(n, 10 * sb.uamp / sb.cm**2)
    run_network_torch(plan)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        result = run_network_torch(plan)
    events = prof.key_averages()
    aten = [e for e in events if e.key.startswith("aten::")]
    calls = sum(e.count for e in aten)
    top = sorted(aten, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    per_step = result.median_loop_seconds / steps
    small = run_network_torch(planned(10))
    return {
        "neurons": n,
        "steps": steps,
        "threads": 1,
        "aten_calls_per_step": calls / steps,
        "ms_per_step": per_step * 1e3,
        "ms_per_step_10_neurons": small.median_loop_seconds / steps * 1e3,
        "us_per_aten_call_10_neurons": small.median_loop_seconds / steps / (calls / steps) * 1e6,
        "top_self_cpu": [
            {
                "op": e.key,
                "calls_per_step": e.count / steps,
                "self_cpu_ms": e.self_cpu_time_total / 1e3,
            }
            for e in top
        ],
        "note": "profiled loop (profiler overhead included); ms_per_step from the same run",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="network sizes on the CPU")
    parser.add_argument("--gpu-sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtypes", default="float64", help="network section dtypes")
    parser.add_argument("--in-degree", type=int, default=100)
    parser.add_argument("--weight", type=float, default=0.2, help="synaptic jump in mV")
    parser.add_argument("--drive", default="8,14", help="drive range, uA/cm2")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--simulate-sizes", default="100,1000,10000", help="'' skips the section")
    parser.add_argument("--simulate-steps", type=int, default=1000)
    parser.add_argument("--simulate-dtypes", default="float64,float32")
    parser.add_argument("--profile", type=int, default=10000, help="profile size; 0: none")
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_start = os.getloadavg()
    document: Row = {
        "benchmark": "simulation_throughput",
        "date": time.strftime("%Y-%m-%d"),
        "started": started,
        "command": "benchmarks/simulation_throughput.py "
        + " ".join(f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()),
        "hardware": {
            "platform": platform.platform(),
            "processor": platform.processor() or cpu_model(),
            "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "brian2_openmp_threads": "0 for 1 thread, cpu_count for all",
        },
        "versions": {
            "spikebridge": sb.__version__,
            "brian2": brian2.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "gcc": compiler_version(),
        },
        "settings": {
            "model": "hh",
            "method": "exponential_euler",
            "dt_ms": 0.01,
            "network_steps": args.steps,
            "repeats": args.repeats,
            "network_sizes_cpu": args.sizes,
            "network_sizes_gpu": args.gpu_sizes,
            "in_degree": args.in_degree,
            "weight_mV": args.weight,
            "drive_uA_per_cm2": args.drive,
            "simulate_sizes": args.simulate_sizes,
            "simulate_steps": args.simulate_steps,
        },
        "load_average_start": load_start,
    }
    path = Path(args.out)
    simulate_rows: list[Row] = []

    def save(network_rows: list[Row]) -> None:
        document["results"] = simulate_rows + network_rows
        document["ratios"] = ratios(network_rows)
        document["load_average_now"] = os.getloadavg()
        write_json(path, document)

    sim_sizes = [int(s) for s in args.simulate_sizes.split(",") if s]
    simulate_rows += simulate_section(
        sim_sizes, args.simulate_steps, args.simulate_dtypes.split(","), args.repeats
    )
    save([])
    network_rows = network_section(args, save)
    if args.profile:
        document["profile"] = profile_step(args.profile, 100)
        print(f"[profile] {document['profile']}", flush=True)
    document["load_average_end"] = os.getloadavg()
    document["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    save(network_rows)
    print(f"wrote {path}", flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def compiler_version() -> str:
    try:
        out = subprocess.run(["g++", "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.splitlines()[0] if out.stdout else ""


if __name__ == "__main__":
    main()
