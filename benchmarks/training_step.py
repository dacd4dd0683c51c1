"""Training-step time of the paper's fc nets and an snnTorch ``Leaky`` net, eager and compiled.

Contenders (batch 128, T = 15, images 36x36 -> 1296 -> 512 spiking neurons -> the shared
readout ``TaskHeads``, the paper's fc shape): ``lif-fc``, ``hh-fc``, ``s-lif2hh-fc`` from
:func:`spikebridge.nets.build_net`, each eager (the generated step as it is), compiled
(``SpikingNeurons.compile_mode`` ``"step"`` and ``"loop"``) and ``"module"`` (the whole net
through :func:`spikebridge.torch.compiled.compile_net`), and ``leaky``: the same net
with ``snntorch.Leaky`` as the spiking layer (beta 0.2, threshold 0.3, reset to zero, the
rectangular surrogate of width 0.5: the forward dynamics of lif-fc's ``lif_dl``), eager and
``torch.compile``-d as a whole module.

A training step is forward + CE(task 1) + CE(task 2) + backward + an Adam step. All
contenders are measured side by side in one process, round-robin (odd rounds in reverse
order), ``--warmup`` rounds unrecorded (compilation happens there; the first call's time is
recorded as ``first_call_s``), then ``--repeats`` rounds; wall time (perf_counter) and
process CPU time (process_time) per sample, median and spread (max - min)/median. The
machine may be shared: the load average at start and end is recorded.

``--memory``: peak memory of one training step against T, with and without gradient
checkpointing (``checkpoint_every``), each point in a fresh subprocess: the process's peak
resident set size during one training step at T (Linux ``VmHWM``, reset just before the
step through ``/proc/self/clear_refs``) minus its resident set size before it, after a
warm-up step at T = 1, with glibc's mmap threshold fixed at 64 KiB so that the resident set
follows the live tensors (on CUDA: ``torch.cuda.max_memory_allocated``).
``--profile``: ``torch.profiler`` operator tables of chosen contenders.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/training_step.py --threads 2 \\
        --memory --profile lif-fc:eager,leaky:eager \\
        --out benchmarks/results/training-step-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import spikebridge as sb
from spikebridge.cost.timing import time_summary
from spikebridge.io import write_json
from spikebridge.learning.train import task_loss
from spikebridge.nets import build_net, net_spec
from spikebridge.nets.heads import TaskHeads
from spikebridge.nets.specs import IMAGE_SIZE, STEPS
from spikebridge.torch import rectangular
from spikebridge.torch.compiled import compile_net

OUR_NETS = ("lif-fc", "hh-fc", "s-lif2hh-fc")
OUR_MODES = ("eager", "step", "loop", "module")
LEAKY_MODES = ("eager", "compiled")
TARGETS = {"hh_over_lif": 1.3, "lif_over_leaky": 0.7}
#: The memory subprocesses fix glibc's mmap threshold, so that freed tensors go back to the
#: OS at once and the resident set follows the live tensors (glibc otherwise raises the
#: threshold after the first frees and keeps freed blocks, hiding later peaks).
MEMORY_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}


# -- shared helpers (also used by open_neuromorphic.py) --------------------------------------
def environment(device: str) -> dict[str, Any]:
    """Hardware and library versions of this run."""
    import brian2
    import snntorch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    hardware: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "device": device,
    }
    if device.startswith("cuda"):
        hardware["gpu"] = torch.cuda.get_device_name(device)
    try:
        compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True, check=True)
        hardware["cxx"] = compiler.stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        hardware["cxx"] = None
    versions = {
        "spikebridge": sb.__version__,
        "torch": torch.__version__,
        "snntorch": snntorch.__version__,
        "brian2": brian2.__version__,
        "python": platform.python_version(),
    }
    return {"hardware": hardware, "versions": versions}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_header(
    benchmark: str, started: str, device: str, load_start: list[float], load_end: list[float]
) -> dict[str, Any]:
    """The first fields of a result JSON: name, date, start, hardware, versions, load."""
    return {
        "benchmark": benchmark,
        "date": time.strftime("%Y-%m-%d"),
        "started": started,
        **environment(device),
        "load_average": {"start": load_start, "end_of_timing": load_end, "end": load_average()},
    }


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def round_robin(
    contenders: dict[str, Callable[[], Any]],
    *,
    warmup: int,
    repeats: int,
    device: str,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Time every contender once per round, ``warmup`` rounds unrecorded, then ``repeats``.

    A contender that raises is dropped and its error recorded.
    """
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    first: dict[str, float] = {}
    errors: dict[str, str] = {}
    for round_index in range(warmup + repeats):
        names = [n for n in contenders if n not in errors]
        for name in names if round_index % 2 == 0 else reversed(names):
            synchronize(device)
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                contenders[name]()
            except Exception as error:  # record, drop, go on with the others
                errors[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:500]}"
                log(f"  {name}: failed ({errors[name]})")
                continue
            synchronize(device)
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            first.setdefault(name, elapsed)
            if round_index >= warmup:
                wall[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
        log(f"  round {round_index + 1}/{warmup + repeats} done, load {load_average()}")
    results: dict[str, dict[str, Any]] = {}
    for name in contenders:
        if name in errors:
            results[name] = {"error": errors[name]}
        else:
            results[name] = {
                "wall": time_summary(wall[name]),
                "cpu": time_summary(cpu[name]),
                "first_call_s": first[name],
            }
    return results


def profile_table(run: Callable[[], Any], calls: int, rows: int = 15) -> dict[str, Any]:
    """``torch.profiler`` CPU operator table of ``calls`` calls of ``run``, per call."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            run()
    events = prof.key_averages()
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]
    aten = [e for e in events if e.key.startswith("aten::")]
    return {
        "calls": calls,
        "self_cpu_ms_per_call": sum(e.self_cpu_time_total for e in events) / 1e3 / calls,
        "aten_op_calls_per_call": sum(e.count for e in aten) / calls,
        "top": [
            {
                "op": e.key,
                "calls_per_call": e.count / calls,
                "self_cpu_ms_per_call": e.self_cpu_time_total / 1e3 / calls,
            }
            for e in top
        ],
    }


# -- the contenders --------------------------------------------------------------------------
class LeakyFC(nn.Module):
    """lif-fc with ``snntorch.Leaky`` as its spiking layer: same shape, same forward dynamics
    (u_t = beta u_{t-1} (1 - s_{t-1}) + I_t, s_t = H(u_t - theta)); snnTorch detaches the reset."""

    def __init__(self, steps: int = STEPS, width: int = 512) -> None:
        import snntorch as snn

        super().__init__()
        spec = net_spec("lif-fc")
        self.steps = steps
        self.projection = nn.Linear(IMAGE_SIZE * IMAGE_SIZE, width)
        self.lif = snn.Leaky(
            beta=spec.parameters["decay"],
            threshold=spec.parameters["theta"],
            reset_mechanism="zero",
            spike_grad=rectangular(spec.surrogate_width),
        )
        self.readout = TaskHeads(width)

    def spikes(self, images: Tensor) -> Tensor:
        current = self.projection(images.flatten(1))
        mem = self.lif.reset_mem()
        out = []
        for _ in range(self.steps):
            spk, mem = self.lif(current, mem)
            out.append(spk)
        return torch.stack(out)

    def forward(self, images: Tensor) -> Tensor:
        return self.readout(self.spikes(images).mean(0))


def make_net(name: str, mode: str, steps: int, seed: int, device: str) -> nn.Module:
    """Contender ``name`` in ``mode``; weights from torch's RNG seeded with ``seed``."""
    torch.manual_seed(seed)
    if name == "leaky":
        net: nn.Module = LeakyFC(steps).to(device)
        return torch.compile(net) if mode == "compiled" else net  # type: ignore[return-value]
    net = build_net(name, steps=steps, seed=seed).to(device)
    # "module": the whole net through torch.compile (as the Leaky "compiled"), with the loop
    # mode's bounded inlining (inductor's default takes minutes for hh-fc's T = 15)
    return compile_net(net, {"eager": "none", "module": "net"}.get(mode, mode))


def training_step(
    net: nn.Module, images: Tensor, labels: Tensor, lr: float, wd: float
) -> Callable[[], None]:
    optimiser = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        task_loss(net(images), labels).backward()
        optimiser.step()

    return step


def _data(batch: int, seed: int, device: str) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch, 1, IMAGE_SIZE, IMAGE_SIZE, generator=generator) * 255
    labels = torch.randint(0, 10, (batch, 2), generator=generator)
    return images.to(device), labels.to(device)


def leaky_agreement(batch: int, steps: int, seed: int) -> dict[str, Any]:
    """Spikes of lif-fc and the Leaky net given the same weights (float64, forward)."""
    torch.manual_seed(seed)
    ours = build_net("lif-fc", steps=steps, seed=seed, dtype=torch.float64)
    leaky = LeakyFC(steps).double()
    with torch.no_grad():  # lif-fc's input projection: W [1296, 512] of its description
        leaky.projection.weight.copy_(ours.get_submodule("network").get_parameter("input_0__W").T)
        leaky.projection.bias.copy_(ours.get_submodule("network").get_parameter("input_0__b"))
    images, _ = _data(batch, seed, "cpu")
    with torch.no_grad():
        a = ours.spikes(images.double())  # type: ignore[operator]
        b = leaky.spikes(images.double())
    return {
        "spikes_lif_fc": int(a.sum()),
        "spikes_leaky": int(b.sum()),
        "fraction_equal": float((a == b).double().mean()),
    }


# -- memory against T (one subprocess per point) ------------------------------------------------
def _status_bytes(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak_rss() -> int:
    """Reset the peak RSS (Linux >= 4.0) and return the current RSS in bytes; where that is
    not possible, return minus the lifetime peak (``ru_maxrss``) instead."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS")
    except (OSError, KeyError):
        return -resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(spec: str, batch: int, seed: int, threads: int, device: str) -> dict[str, Any]:
    """Peak memory growth of one training step of ``net:mode:steps:checkpoint_every``."""
    name, mode, steps_text, every_text = spec.split(":")
    steps, every = int(steps_text), None if every_text == "none" else int(every_text)
    torch.set_num_threads(threads)
    net = make_net(name, mode, 1, seed, device)
    if every is not None:
        net.network.checkpoint_every = every  # type: ignore[union-attr]
    images, labels = _data(batch, seed, device)
    step = training_step(net, images, labels, 1e-4, 1e-5)
    step()  # warm-up at T = 1: lazy initialisations, Adam state, compilation
    net.steps = steps  # type: ignore[assignment]
    synchronize(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    else:
        before = _reset_peak_rss()
    start = time.perf_counter()
    step()
    synchronize(device)
    elapsed = time.perf_counter() - start
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated(device) - before
        how = "torch.cuda.max_memory_allocated - memory_allocated before the step"
    elif before >= 0:
        peak = _status_bytes("VmHWM") - before
        how = "peak RSS during the step (VmHWM, reset via /proc/self/clear_refs) - RSS before"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + before
        how = "growth of getrusage(RUSAGE_SELF).ru_maxrss over the step"
    return {
        "net": name,
        "mode": mode,
        "steps": steps,
        "checkpoint_every": every,
        "peak_mb": peak / 2**20,
        "step_s": elapsed,
        "measure": how,
    }


def memory_table(
    nets: Sequence[str],
    steps_list: Sequence[int],
    every: int,
    modes: Sequence[str],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    rows = []
    for name in nets:
        for mode in modes:
            for steps in steps_list:
                for checkpoint in (None, every):
                    spec = f"{name}:{mode}:{steps}:{'none' if checkpoint is None else checkpoint}"
                    command = [sys.executable, __file__, "--memory-child", spec]
                    command += ["--batch", str(args.batch), "--seed", str(args.seed)]
                    command += ["--threads", str(args.threads), "--device", args.device]
                    done = subprocess.run(
                        command, capture_output=True, text=True, check=False, env=MEMORY_ENV
                    )
                    if done.returncode != 0:
                        row = {"spec": spec, "error": done.stderr.strip().splitlines()[-1:]}
                    else:
                        row = json.loads(done.stdout.strip().splitlines()[-1])
                    print(f"  memory {spec}: {row.get('peak_mb', row)}", flush=True)
                    rows.append(row)
    return rows


def _slope(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Least-squares MB per time step of each (net, mode, checkpointing) series."""
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if "peak_mb" in row:
            key = f"{row['net']}:{row['mode']}:checkpoint_every={row['checkpoint_every']}"
            series.setdefault(key, []).append((row["steps"], row["peak_mb"]))
    out = {}
    for key, points in series.items():
        if len(points) >= 2:
            xs, ys = zip(*points, strict=True)
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
            out[key] = {"mb_per_step": slope, "points": points}
    return out


# -- main ------------------------------------------------------------------------------------
def _ratio(models: dict[str, Any], a: str, b: str) -> float | None:
    if "wall" not in models.get(a, {}) or "wall" not in models.get(b, {}):
        return None
    return float(models[a]["wall"]["median_s"] / models[b]["wall"]["median_s"])


def _judged(models: dict[str, Any], a: str, b: str, target: str) -> dict[str, Any]:
    """The wall-time ratio ``a / b`` with its target and whether it is met."""
    value, limit = _ratio(models, a, b), TARGETS[target]
    return {"ratio": value, "target": limit, "met": None if value is None else value <= limit}


def ratios(models: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in OUR_MODES:
        out[f"hh_fc_over_lif_fc:{mode}"] = _judged(
            models, f"hh-fc:{mode}", f"lif-fc:{mode}", "hh_over_lif"
        )
        for leaky_mode in LEAKY_MODES:
            out[f"lif_fc:{mode}_over_leaky:{leaky_mode}"] = _judged(
                models, f"lif-fc:{mode}", f"leaky:{leaky_mode}", "lif_over_leaky"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join((*OUR_NETS, "leaky")))
    parser.add_argument("--modes", default=",".join(OUR_MODES), help="modes of our nets")
    parser.add_argument("--leaky-modes", default=",".join(LEAKY_MODES))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--memory", action="store_true", help="also peak memory against T")
    parser.add_argument("--no-timing", action="store_true", help="skip the timing rounds")
    parser.add_argument("--memory-nets", default=",".join(OUR_NETS))
    parser.add_argument("--memory-modes", default="eager")
    parser.add_argument("--memory-steps", default="15,60,240")
    parser.add_argument("--memory-checkpoint", type=int, default=5)
    parser.add_argument("--profile", default="", help="contenders to profile, e.g. lif-fc:eager")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="benchmarks/results/training-step.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        row = memory_child(args.memory_child, args.batch, args.seed, args.threads, args.device)
        print(json.dumps(row))
        return

    load_start = load_average()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"load average at start: {load_start}", flush=True)
    images, labels = _data(args.batch, args.seed, args.device)
    contenders: dict[str, Callable[[], None]] = {}
    nets: dict[str, nn.Module] = {}
    for name in [] if args.no_timing else args.nets.split(","):
        modes = args.leaky_modes if name == "leaky" else args.modes
        for mode in modes.split(","):
            net = make_net(name, mode, args.steps, args.seed, args.device)
            optimiser = net_spec("lif-fc" if name == "leaky" else name).optimiser
            key = f"{name}:{mode}"
            nets[key] = net
            contenders[key] = training_step(
                net, images, labels, optimiser.lr, optimiser.weight_decay
            )
    print(f"contenders: {', '.join(contenders)}", flush=True)
    models = round_robin(contenders, warmup=args.warmup, repeats=args.repeats, device=args.device)
    for key, result in models.items():
        if "wall" in result:
            print(
                f"{key}: median {result['wall']['median_s'] * 1e3:.1f} ms "
                f"(spread {result['wall']['spread']:.2f}, "
                f"first call {result['first_call_s']:.1f} s)"
            )
    load_end = load_average()
    profiles = {}
    for key in filter(None, args.profile.split(",")):
        if key in contenders and "wall" in models.get(key, {}):
            profiles[key] = profile_table(contenders[key], calls=3)
            print(f"profiled {key}: {profiles[key]['aten_op_calls_per_call']:.0f} aten calls/step")
    memory = None
    if args.memory:
        steps_list = [int(s) for s in args.memory_steps.split(",")]
        rows = memory_table(
            args.memory_nets.split(","),
            steps_list,
            args.memory_checkpoint,
            args.memory_modes.split(","),
            args,
        )
        memory = {
            "rows": rows,
            "slopes": _slope(rows),
            "environment": {"MALLOC_MMAP_THRESHOLD_": MEMORY_ENV["MALLOC_MMAP_THRESHOLD_"]},
        }
    result = {
        **run_header("training_step", started, args.device, load_start, load_end),
        "settings": {
            "batch": args.batch,
            "steps": args.steps,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "seed": args.seed,
            "shape": "36x36 image -> 1296 -> 512 spiking (T steps) -> mean rate -> TaskHeads",
            "training_step": "zero_grad + forward + CE(task 1) + CE(task 2) + backward + Adam",
            "leaky": "snntorch.Leaky(beta=0.2, threshold=0.3, reset_mechanism='zero', "
            "spike_grad=rectangular(0.5))",
            "modes": {
                "eager": "the generated step as it is",
                "step": "SpikingNeurons compile_mode='step' (torch.compile of the step)",
                "loop": "SpikingNeurons compile_mode='loop' (torch.compile of the unrolled loop)",
                "module": "torch.compile(net, options=LOOP_OPTIONS) (the whole net, eager "
                "neurons inside)",
                "compiled": "torch.compile(LeakyFC) (whole module, default options)",
            },
            "command": " ".join(sys.argv),
        },
    }
    if not args.no_timing:
        result["models"] = models
        result["ratios"] = ratios(models)
        result["leaky_agreement"] = leaky_agreement(args.batch, args.steps, args.seed)
        result["profiles"] = profiles
        print(json.dumps(result["ratios"], indent=1))
    if memory is not None:
        result["memory"] = memory
    path = write_json(Path(args.out), result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
