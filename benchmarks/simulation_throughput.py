"""Simulation throughput of uncoupled HH networks: Brian2 cpp_standalone vs the torch engine.

Both run the ``hh`` model (exponential Euler, dt = 0.01 ms) for the same number of steps and
neurons under a constant suprathreshold input, recording only spikes' summary. Reported:
neuron-steps per second of the simulation loop (Brian2: the binary's own loop timer, so code
generation and compilation are excluded; torch: the eager loop), median and spread over
repeats, and the torch/Brian2 ratio per size.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import brian2
import torch

import spikebridge as sb
from spikebridge.io import write_json


def measure(engine: str, n: int, steps: int, dtype: str, repeats: int) -> dict[str, object]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for dtype in ("float64", "float32"):
        for n in (int(s) for s in args.sizes.split(",")):
            pair = {e: measure(e, n, args.steps, dtype, args.repeats) for e in ("brian2", "torch")}
            ratio = (
                pair["torch"]["neuron_steps_per_second"] / pair["brian2"]["neuron_steps_per_second"]
            )  # type: ignore[operator]
            rows += [pair["brian2"], {**pair["torch"], "torch_over_brian2": ratio}]
            print(
                f"{dtype} n={n}: brian2 {pair['brian2']['neuron_steps_per_second']:.3g}, "
                f"torch {pair['torch']['neuron_steps_per_second']:.3g} neuron-steps/s "
                f"(torch/brian2 = {ratio:.2f})",
                flush=True,
            )
    write_json(
        Path(args.out),
        {
            "benchmark": "simulation_throughput",
            "date": time.strftime("%Y-%m-%d"),
            "hardware": {
                "platform": platform.platform(),
                "processor": platform.processor(),
                "cpu_count": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "brian2_openmp_threads": 0,
            },
            "versions": {
                "spikebridge": sb.__version__,
                "brian2": brian2.__version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
            "settings": {
                "model": "hh",
                "method": "exponential_euler",
                "dt_ms": 0.01,
                "steps": args.steps,
                "repeats": args.repeats,
            },
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()
