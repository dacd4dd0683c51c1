"""Described networks on both engines: simulation throughput, and a recurrent training step.

Three sections, every contender measured in this one run (JSON with hardware, versions,
settings, load average, every repeat and the spread (max - min) / median):

* ``coba``: the catalogue's Vogels-Abbott COBA network (``networks/coba.py``, 4,000 LIF
  neurons, p = 0.02, 1 s at 0.1 ms) and
* ``sparse``: the CUBA network scaled to 1e5 neurons with p = 0.001 (in-degree ~100;
  ``--sparse-ms`` of simulated time), each on Brian2 ``cpp_standalone`` with 1 thread (no
  OpenMP) and all cores (OpenMP), ``cuda_standalone`` where brian2cuda and a GPU are present,
  and the torch engine (one trial, float64): event delivery eager and with the step compiled
  (``torch.compile``, the graph breaks at the spike-dependent gather), scatter delivery
  compiled (every synapse each step, one graph), with 1 and all threads, CUDA where present.
  Loop time only (Brian2's binary timer; the torch loop's wall clock, compilation and code
  generation excluded); per-population spike counts of every contender checked equal to
  Brian2's (float64: the same network, Brian2's order of accumulation).
* ``training``: the training step (forward, snnTorch's spike-count cross-entropy, backward,
  Adam) of the catalogue's recurrent classifier (``networks/recurrent_classifier.py``:
  64 inputs, 128 recurrent LIF, 10 LIF outputs, T = 25, batch 128) against the same network
  in snnTorch (``nn.Linear`` -> ``RLeaky`` -> ``nn.Linear`` -> ``Leaky``, beta 0.2, threshold
  0.3, reset to zero, the same weights, the recurrent bias 0), both eager and both
  ``torch.compile``-d as whole modules, round-robin; the spikes of both are compared.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/network_simulation.py \\
        --out benchmarks/results/network-simulation-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from training_step import load_average, round_robin, run_header

from spikebridge.brian.network import run_network_brian2
from spikebridge.io import write_json
from spikebridge.network import NetworkResult, network_from, plan_network, prepare_run
from spikebridge.network.run import NetworkRun
from spikebridge.torch import rectangular
from spikebridge.torch.network import SpikingNetwork, run_network_torch

Row = dict[str, Any]


def _counts(result: NetworkResult) -> dict[str, int]:
    return {key: len(rows) for key, rows in result.spikes.items()}


def _row(
    section: str, contender: str, threads: int | None, result: NetworkResult, build_s: float
) -> Row:
    times = list(result.loop_seconds)
    median = statistics.median(times)
    return {
        "section": section,
        "contender": contender,
        "engine": result.engine,
        "threads": threads,
        "neurons": result.neurons,
        "steps": result.n_steps,
        "dtype": result.dtype,
        "loop_seconds": times,
        "median_seconds": median,
        "neuron_steps_per_second": result.neurons * result.n_steps / median,
        "spread": (max(times) - min(times)) / median if median > 0 else 0.0,
        "spikes": _counts(result),
        "build_or_compile_seconds": build_s,
        "metadata": dict(result.metadata),
    }


def _timed(function: Callable[[], NetworkResult]) -> tuple[NetworkResult, float]:
    began = time.perf_counter()
    result = function()
    return result, time.perf_counter() - began - sum(result.loop_seconds)


def simulation_section(name: str, run: NetworkRun, args: argparse.Namespace) -> list[Row]:
    cores = os.cpu_count() or 1
    rows: list[Row] = []
    for threads in sorted({1, cores}):
        result, build = _timed(
            lambda t=threads: run_network_brian2(  # type: ignore[misc]
                run, device="cpp_standalone", threads=0 if t == 1 else t, repeats=args.repeats
            )
        )
        rows.append(_row(name, "brian2-cpp_standalone", threads, result, build))
        _report(rows[-1])
        torch.set_num_threads(threads)
        for contender, synapses, compiled in (
            ("torch-event-eager", "event", False),
            ("torch-event-compiled", "event", "step"),
            ("torch-scatter-compiled", "scatter", "step"),
        ):
            if contender == "torch-event-eager" and not args.eager:
                continue
            try:
                result, build = _timed(
                    lambda s=synapses, c=compiled, t=threads: run_network_torch(  # type: ignore[misc]
                        run,
                        synapses=s,
                        compile=c,
                        compile_options={"cpp.threads": t} if c else None,
                        repeats=args.repeats,
                    )
                )
            except Exception as error:  # record and go on
                rows.append(
                    {
                        "section": name,
                        "contender": contender,
                        "threads": threads,
                        "error": f"{type(error).__name__}: {error}"[:500],
                    }
                )
                continue
            rows.append(_row(name, contender, threads, result, build))
            _report(rows[-1])
    if torch.cuda.is_available():
        for contender, synapses in (("torch-cuda-scatter", "scatter"),):
            result, build = _timed(
                lambda s=synapses: run_network_torch(  # type: ignore[misc]
                    run, device="cuda", synapses=s, compile="step", repeats=args.repeats
                )
            )
            rows.append(_row(name, contender, None, result, build))
            _report(rows[-1])
    _check_counts(rows)
    return rows


def _check_counts(rows: list[Row]) -> None:
    reference = next(
        (r["spikes"] for r in rows if r.get("contender", "").startswith("brian2")), None
    )
    for row in rows:
        if "spikes" in row and reference is not None:
            row["spike_counts_equal_brian2"] = row["spikes"] == reference


def _report(row: Row) -> None:
    print(
        f"[{row['section']}] {row['contender']:24s} threads={row['threads']}: "
        f"{row['neuron_steps_per_second']:.3g} neuron-steps/s, loop {row['median_seconds']:.2f} s "
        f"(spread {row['spread']:.2f}, {sum(row['spikes'].values())} spikes, set-up "
        f"{row['build_or_compile_seconds']:.1f} s)",
        flush=True,
    )


# -- the training step ----------------------------------------------------------------------
class SnnTorchClassifier(nn.Module):
    """The recurrent classifier in snnTorch: input Linear -> RLeaky -> readout Linear -> Leaky."""

    def __init__(self, net: SpikingNetwork, steps: int) -> None:
        import snntorch as snn

        super().__init__()
        plan = net.plan
        hidden, out = plan.populations["hidden"], plan.populations["output"]
        lif = {
            "beta": 0.2,
            "threshold": 0.3,
            "reset_mechanism": "zero",
            # reset in the step of the spike: the next step starts from 0, which is lif_dl's
            # lazy reset (the default delayed reset of RLeaky also zeroes that next step's
            # input, a different neuron)
            "reset_delay": False,
            "spike_grad": rectangular(hidden.model.surrogate_width),
        }
        self.steps = steps
        self.input = nn.Linear(plan.projections["input"].n_pre, hidden.n)
        self.hidden = snn.RLeaky(linear_features=hidden.n, **lif)
        self.readout = nn.Linear(hidden.n, out.n)
        self.output = snn.Leaky(**lif)
        with torch.no_grad():  # the same weights as ours
            self.input.weight.copy_(net.get_parameter("input__W").T)
            self.input.bias.copy_(net.get_parameter("input__b"))
            self.hidden.recurrent.weight.copy_(net.get_parameter("recurrent__W").T)
            self.hidden.recurrent.bias.zero_()
            self.readout.weight.copy_(net.get_parameter("readout__W").T)
            self.readout.bias.copy_(net.get_parameter("readout_bias__W")[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        current = self.input(x)
        spk, mem = self.hidden.init_rleaky()
        mem_out = self.output.init_leaky()
        out = []
        for _ in range(self.steps):
            spk, mem = self.hidden(current, spk, mem)
            spk_out, mem_out = self.output(self.readout(spk), mem_out)
            out.append(spk_out)
        return torch.stack(out)


class OursClassifier(nn.Module):
    """The description's module with the classifier's input convention (x -> output spikes)."""

    def __init__(self, net: SpikingNetwork, steps: int) -> None:
        super().__init__()
        self.net, self.steps = net, steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net({"pixels": x}, n_steps=self.steps).spikes["output"]


def training_section(args: argparse.Namespace) -> dict[str, Any]:
    import snntorch.functional as SF

    torch.set_num_threads(os.cpu_count() or 1)
    steps, batch = args.train_steps, args.batch
    network = network_from("recurrent_classifier", {"steps": steps, "seed": 1})
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 64, generator=generator) * 2
    labels = torch.randint(0, 10, (batch,), generator=generator)
    loss_fn = SF.ce_count_loss()

    def contender(kind: str, compiled: bool) -> Callable[[], Any]:
        ours = SpikingNetwork(network, synapses="matrix", dtype=torch.float32)
        module: nn.Module = (
            OursClassifier(ours, steps) if kind == "ours" else SnnTorchClassifier(ours, steps)
        )
        run = torch.compile(module) if compiled else module
        optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)

        def step() -> None:
            spikes = run(x)
            loss = loss_fn(spikes, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        return step

    with torch.no_grad():  # the two implementations' spikes (same weights, before training)
        ours = SpikingNetwork(network, synapses="matrix", dtype=torch.float32)
        a = OursClassifier(ours, steps)(x)
        b = SnnTorchClassifier(ours, steps)(x)
    contenders = {
        f"{kind}-{'compiled' if compiled else 'eager'}": contender(kind, compiled)
        for kind in ("ours", "snntorch")
        for compiled in (False, True)
    }
    timings = round_robin(contenders, warmup=args.warmup, repeats=args.repeats_train, device="cpu")
    ratio = None
    if "wall" in timings.get("ours-compiled", {}) and "wall" in timings.get(
        "snntorch-compiled", {}
    ):
        ratio = (
            timings["ours-compiled"]["wall"]["median_s"]
            / timings["snntorch-compiled"]["wall"]["median_s"]
        )
    return {
        "settings": {
            "batch": batch,
            "steps": steps,
            "inputs": 64,
            "hidden": 128,
            "classes": 10,
            "threads": torch.get_num_threads(),
        },
        "spikes_equal": int((a == b).sum()),
        "spikes_total": int(a.numel()),
        "spike_count_ours": int(a.sum()),
        "spike_count_snntorch": int(b.sum()),
        "timings": timings,
        "ours_compiled_over_snntorch_compiled": ratio,
        "target": {"ours_compiled_over_snntorch_compiled": 1.0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coba-n", type=int, default=4000)
    parser.add_argument("--coba-ms", type=float, default=1000.0)
    parser.add_argument("--sparse-n", type=int, default=100_000)
    parser.add_argument("--sparse-ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--no-eager",
        dest="eager",
        action="store_false",
        help="skip the eager event contender (slow at large sizes)",
    )
    parser.add_argument("--sections", default="coba,sparse,training")
    parser.add_argument("--train-steps", type=int, default=25)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats-train", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the sections already in --out (written section by section) and run the rest",
    )
    args = parser.parse_args()
    started, load_start = time.strftime("%H:%M:%S"), load_average()
    sections = args.sections.split(",")
    result: dict[str, Any] = {"settings": vars(args), "rows": []}
    if args.resume and Path(args.out).exists():
        previous = json.loads(Path(args.out).read_text())
        kept = sorted({r["section"] for r in previous["rows"]} | ({"training"} & previous.keys()))
        result["rows"] = previous["rows"]
        if "training" in previous:
            result["training"] = previous["training"]
        result["resumed"] = {"sections_kept": kept, "from_run_started": previous["started"]}
        sections = [s for s in sections if s not in kept]

    def write() -> None:
        header = run_header("network_simulation", started, "cpu", load_start, load_average())
        write_json(args.out, {**header, **result})

    if "coba" in sections:
        net = network_from("coba", {"n": args.coba_n, "duration_ms": args.coba_ms})
        result["rows"] += simulation_section("coba", prepare_run(plan_network(net)), args)
        write()
    if "sparse" in sections:
        net = network_from(
            "cuba", {"n": args.sparse_n, "p": 100 / args.sparse_n, "duration_ms": args.sparse_ms}
        )
        result["rows"] += simulation_section("sparse", prepare_run(plan_network(net)), args)
        write()
    if "training" in sections:
        result["training"] = training_section(args)
        write()
    ratios = {}
    for section in ("coba", "sparse"):
        rows = [r for r in result["rows"] if r["section"] == section and "median_seconds" in r]
        brian = {r["threads"]: r for r in rows if r["contender"] == "brian2-cpp_standalone"}
        for r in rows:
            if r["contender"].startswith("torch") and r["threads"] in brian:
                ratios[f"{section}/{r['contender']}/threads={r['threads']}"] = (
                    r["neuron_steps_per_second"] / brian[r["threads"]]["neuron_steps_per_second"]
                )
    result["torch_over_brian2"] = ratios
    result["targets"] = {
        "coba/torch-event-compiled/threads=1": 1.0,
        "sparse/torch-event-compiled/threads=1": 1.5,
    }
    write()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
