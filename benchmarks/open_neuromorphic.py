"""The Open Neuromorphic SNN-library benchmark shape with our LIF and HH layers and snnTorch.

The published benchmark (open-neuromorphic.org, "Spiking Neural Network (SNN) Library
Benchmarks", 2023-08, revised 2024-02; figures in ../shared/research/anchors.md section 6.2)
times forward + backward of one ``Linear(n, n)`` and one LIF layer, batch 16, 500 time
steps, n = 16,384 neurons, fp32, on a GPU (snnTorch 0.7.0: 3.08 s; SpikingJelly-CuPy
0.118 s; compiled Norse 0.109 s). Here, side by side in one process, round-robin
(``training_step.round_robin``):

* ``lif``: :class:`~spikebridge.torch.SpikingNeurons` of ``lif_dl`` with lif-fc's settings,
* ``hh``: ``hh_dl`` with hh-fc's settings (dt 0.01 ms),
* ``leaky``: ``snntorch.Leaky`` with lif-fc's dynamics (as in ``training_step.py``),
* ``leaky-indexed``: the same, reading the input sequence by ``current[t]`` per step,

ours eager and compiled (``compile_mode`` ``"step"`` and ``"loop"``), snnTorch eager and with
its per-step ``Leaky`` module ``torch.compile``-d. One call = ``Linear`` on the whole
sequence (``--no-linear``: the layer alone), the layer over T steps, ``spikes.sum()``,
backward. Runs on CUDA when available, else CPU. ``--memory``: peak memory of one call per
eager contender (with and without ``--checkpoint-every``), each in a fresh subprocess, as in
``training_step.py``.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/open_neuromorphic.py --threads 2 \\
        --no-linear --repeats 3 --out benchmarks/results/open-neuromorphic-cpu.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from spikebridge.io import write_json
from spikebridge.nets import net_spec
from spikebridge.nets.fc import spiking_neurons
from spikebridge.torch import SpikingNeurons, rectangular

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_step import (
    MEMORY_ENV,
    _reset_peak_rss,
    _status_bytes,
    load_average,
    round_robin,
    run_header,
    synchronize,
)

PUBLISHED = {
    "source": "open-neuromorphic.github.io blog 'Spiking Neural Network (SNN) Library "
    "Benchmarks' (framework-benchmarking-16k.json), GPU, fwd+bwd seconds; "
    "see shared/research/anchors.md 6.2",
    "snntorch_0.7.0_s": 3.078,
    "spikingjelly_cupy_0.0.15_s": 0.118,
    "norse_1.0.0_torch_compile_s": 0.109,
    "spyx_fp16_s": 0.047,
}
NETS = {"lif": "lif-fc", "hh": "hh-fc"}


class LeakyLayer(nn.Module):
    """``snntorch.Leaky`` over a sequence, lif-fc's dynamics; ``compiled``: the per-step
    module through ``torch.compile``. The sequence is unbound once (``indexed``: indexed
    ``current[t]`` per step, as in snnTorch's tutorials, which makes autograd allocate a
    zero tensor of the whole sequence per step in the backward pass)."""

    def __init__(self, compiled: bool, indexed: bool = False) -> None:
        import snntorch as snn

        super().__init__()
        spec = net_spec("lif-fc")
        self.lif = snn.Leaky(
            beta=spec.parameters["decay"],
            threshold=spec.parameters["theta"],
            reset_mechanism="zero",
            spike_grad=rectangular(spec.surrogate_width),
        )
        self.step = torch.compile(self.lif) if compiled else self.lif
        self.indexed = indexed

    def forward(self, current: Tensor) -> Tensor:
        mem = self.lif.reset_mem()
        out = []
        steps = [current[t] for t in range(current.shape[0])] if self.indexed else current.unbind(0)
        for value in steps:
            spk, mem = self.step(value, mem)
            out.append(spk)
        return torch.stack(out)


def make_layer(name: str, mode: str, n: int, seed: int, device: str) -> nn.Module:
    if name.startswith("leaky"):
        return LeakyLayer(mode == "compiled", indexed=name == "leaky-indexed").to(device)
    layer: SpikingNeurons = spiking_neurons(net_spec(NETS[name]), n, seed).to(device)
    layer.compile_mode = None if mode == "eager" else mode
    return layer


def call(
    name: str,
    layer: nn.Module,
    linear: nn.Module | None,
    x: Tensor,
) -> Callable[[], None]:
    """One forward + backward: Linear (optional), the layer over T steps, sum of spikes."""

    def run() -> None:
        for p in [*layer.parameters(), *(linear.parameters() if linear else [])]:
            p.grad = None
        x.grad = None
        current = linear(x) if linear is not None else x
        spikes = layer(current) if name.startswith("leaky") else layer(current)[0]
        spikes.sum().backward()

    return run


def _inputs(args: argparse.Namespace) -> tuple[Tensor, nn.Module | None]:
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.rand(args.steps, args.batch, args.neurons, generator=generator)
    x = x.to(args.device).requires_grad_()
    linear = None
    if args.linear:
        torch.manual_seed(args.seed)
        linear = nn.Linear(args.neurons, args.neurons).to(args.device)
    return x, linear


def memory_child(spec: str, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of one call of ``name:mode:checkpoint_every`` after a warm-up call."""
    name, mode, every_text = spec.split(":")
    every = None if every_text == "none" else int(every_text)
    torch.set_num_threads(args.threads)
    layer = make_layer(name, mode, args.neurons, args.seed, args.device)
    if every is not None:
        layer.checkpoint_every = every  # type: ignore[assignment]
    x, linear = _inputs(args)
    run = call(name, layer, linear, x[:1])
    run()  # warm-up on one step
    run = call(name, layer, linear, x)
    synchronize(args.device)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(args.device)
        before = torch.cuda.memory_allocated(args.device)
    else:
        before = _reset_peak_rss()
    start = time.perf_counter()
    run()
    synchronize(args.device)
    elapsed = time.perf_counter() - start
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated(args.device) - before
    else:
        peak = _status_bytes("VmHWM") - before
    return {"contender": spec, "peak_mb": peak / 2**20, "call_s": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contenders", default="lif,hh,leaky,leaky-indexed")
    parser.add_argument("--modes", default="eager,step,loop", help="modes of our layers")
    parser.add_argument("--leaky-modes", default="eager,compiled")
    parser.add_argument("--neurons", type=int, default=16384)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--linear", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="benchmarks/results/open-neuromorphic.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args)))
        return

    load_start = load_average()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"load average at start: {load_start}", flush=True)
    x, linear = _inputs(args)
    contenders: dict[str, Callable[[], None]] = {}
    for name in args.contenders.split(","):
        modes = {"leaky": args.leaky_modes, "leaky-indexed": "eager"}.get(name, args.modes)
        for mode in modes.split(","):
            layer = make_layer(name, mode, args.neurons, args.seed, args.device)
            contenders[f"{name}:{mode}"] = call(name, layer, linear, x)
    print(f"contenders: {', '.join(contenders)}", flush=True)
    models = round_robin(contenders, warmup=args.warmup, repeats=args.repeats, device=args.device)
    neuron_steps = args.neurons * args.batch * args.steps
    for key, result in models.items():
        if "wall" in result:
            median = result["wall"]["median_s"]
            result["neuron_steps_per_s"] = neuron_steps / median
            print(
                f"{key}: median {median:.3f} s (spread {result['wall']['spread']:.2f}, "
                f"first call {result['first_call_s']:.1f} s, {neuron_steps / median:.3g} "
                "neuron-steps/s)",
                flush=True,
            )
    load_end = load_average()
    ratios: dict[str, float | None] = {}
    for key in models:
        for leaky_mode in args.leaky_modes.split(","):
            ref = models.get(f"leaky:{leaky_mode}", {})
            if key.startswith("leaky:") or "wall" not in ref or "wall" not in models[key]:
                continue
            ratios[f"{key}_over_leaky:{leaky_mode}"] = (
                models[key]["wall"]["median_s"] / ref["wall"]["median_s"]
            )
    memory = None
    if args.memory:
        rows = []
        for name in args.contenders.split(","):
            if name == "leaky-indexed":
                continue
            mode = "eager"
            everies = [None] if name.startswith("leaky") else [None, args.checkpoint_every]
            for every in everies:
                spec = f"{name}:{mode}:{'none' if every is None else every}"
                command = [sys.executable, __file__, "--memory-child", spec]
                command += [a for a in sys.argv[1:] if a != "--memory"]
                done = subprocess.run(
                    command, capture_output=True, text=True, check=False, env=MEMORY_ENV
                )
                if done.returncode != 0:
                    row: dict[str, Any] = {
                        "contender": spec,
                        "error": done.stderr.strip().splitlines()[-1:],
                    }
                else:
                    row = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  memory {spec}: {row.get('peak_mb', row)}", flush=True)
                rows.append(row)
        memory = {
            "rows": rows,
            "measure": "CUDA: max_memory_allocated - memory_allocated before the call; CPU: "
            "peak RSS during the call (VmHWM reset via /proc/self/clear_refs) - RSS before, "
            "glibc MALLOC_MMAP_THRESHOLD_=65536, fresh subprocess, after a 1-step warm-up",
        }
    result = {
        **run_header("open_neuromorphic", started, args.device, load_start, load_end),
        "settings": {
            "neurons": args.neurons,
            "batch": args.batch,
            "steps": args.steps,
            "linear": args.linear,
            "dtype": "float32",
            "repeats": args.repeats,
            "warmup": args.warmup,
            "call": ("Linear(n, n) on [T, B, n] + " if args.linear else "")
            + "layer over T steps + spikes.sum().backward()",
            "lif": "lif_dl, lif-fc settings (decay 0.2, theta 0.3, rectangular 0.5)",
            "hh": "hh_dl, hh-fc settings (dt 0.01 ms, theta 0.2, rectangular 0.3)",
            "leaky": "snntorch.Leaky(beta=0.2, threshold=0.3, reset_mechanism='zero', "
            "spike_grad=rectangular(0.5)) over current.unbind(0); 'compiled': torch.compile "
            "of the Leaky module; leaky-indexed: over current[t] per step",
            "command": " ".join(sys.argv),
        },
        "models": models,
        "ratios": ratios,
        "memory": memory,
        "published": PUBLISHED,
    }
    path = write_json(Path(args.out), result)
    print(json.dumps(ratios, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
