"""The paper's learning table (its Fig. 4c): every network, both tasks, several seeds.

Trains each network of ``--nets`` with each seed of ``--seeds`` on ``--dataset`` with the
paper's optimiser settings (``spikebridge train``'s defaults; 40 epochs unless
``--epochs``), one output folder per run under ``--runs``, and writes a summary JSON with
the last epoch's test accuracy per task (the paper's reported figure), mean and spread
over seeds, the hardware and the settings. Runs resume where they stopped: a finished run
is read back, an interrupted one continues from its last checkpoint, and a run trained for
fewer epochs is extended (the learning-rate milestones are absolute epochs, so the first 10
epochs of a 40-epoch run are a 10-epoch run); a summary always reads the accuracy after
``--epochs`` epochs, whatever the folder holds. On a machine with a CUDA GPU the runs use it
(``--device auto``). ``--bridge N`` runs every trained spiking net in Brian2
(``spikebridge validate``) on the first N test composites and adds the agreement to the
table (kept per run and epoch in ``bridge-<epochs>.json``, so it is not redone).
``--synapses multiply,adder`` trains each spiking net with both input layers
(:mod:`spikebridge.nets.input_synapses`; rows ``NET`` and ``NET+adder``) and adds the adder
minus multiply difference per task.

    .venv/bin/python benchmarks/learning_table.py --runs runs/table --epochs 10 \\
        --compile net --bridge 1000 --out benchmarks/results/learning-table.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from spikebridge.bridge.validate import validate
from spikebridge.io import write_json
from spikebridge.learning.train import TrainConfig, train
from spikebridge.nets import NETS, net_spec


def run_one(config: TrainConfig, folder: Path) -> dict[str, Any]:
    """The run's metrics cut to ``config.epochs`` epochs (trained or extended if short)."""
    epochs = config.resolved().epochs or 0
    metrics_file = folder / "metrics.json"
    done = json.loads(metrics_file.read_text()) if metrics_file.exists() else None
    if done is None or len(done["epochs"]) < epochs:
        done = train(config, folder, resume=True, progress=False)
    return {**done, "epochs": done["epochs"][:epochs]}


def bridge_one(folder: Path, epochs: int, samples: int) -> dict[str, Any] | None:
    """Brian2 validation of the run's checkpoint if it holds ``epochs`` epochs (cached)."""
    cached = folder / f"bridge-{epochs}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text()))
    metrics = json.loads((folder / "metrics.json").read_text())
    if len(metrics["epochs"]) != epochs:
        return None  # the checkpoint has moved on: that epoch's weights are gone
    result = validate(folder, device="cpp_standalone", samples=samples, threads=1)
    write_json(cached, result)
    return result


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for net, results in runs.items():
        entry: dict[str, Any] = {"seeds": len(results)}
        for task in ("task1", "task2"):
            values = [r["epochs"][-1][f"test_accuracy_{task}"] for r in results]
            entry[task] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "values": values,
            }
        bridges = [r["bridge"] for r in results if r.get("bridge")]
        if bridges:
            entry["bridge"] = {
                "runs": len(bridges),
                "samples": bridges[0]["samples"],
                "spike_train_agreement_min": min(b["spike_train_agreement"] for b in bridges),
                "prediction_agreement_min": {
                    t: min(b["prediction_agreement"][t] for b in bridges)
                    for t in ("task1", "task2")
                },
                "accuracy_difference_points_max": {
                    t: max(b["accuracy_difference_points"][t] for b in bridges)
                    for t in ("task1", "task2")
                },
            }
        entry["params"] = results[0]["params"]
        entry["epochs"] = len(results[0]["epochs"])
        entry["seconds_per_epoch"] = statistics.fmean(
            e["train_seconds"] for r in results for e in r["epochs"]
        )
        table[net] = entry
    for row, entry in table.items():
        net, _, synapse = row.partition("+")
        if synapse and net in table:
            entry[f"{synapse}_minus_multiply_points"] = {
                t: 100 * (entry[t]["mean"] - table[net][t]["mean"]) for t in ("task1", "task2")
            }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated networks")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--dataset", default="multi-fashion")
    parser.add_argument("--epochs", type=int, default=None, help="default: the paper's 40")
    parser.add_argument("--subset", type=int, default=None, help="training composites")
    parser.add_argument("--test-subset", type=int, default=None, help="test composites (all)")
    parser.add_argument(
        "--synapses", default="multiply", help="input layers: multiply, adder or both (a,b)"
    )
    parser.add_argument("--noise", type=float, default=0.0, help="robustness pattern amplitude")
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda")
    parser.add_argument(
        "--compile", default="none", help="none, step, loop, net (speed only, same dynamics)"
    )
    parser.add_argument(
        "--bridge", type=int, default=0, help="validate each spiking run in Brian2 on N samples"
    )
    parser.add_argument("--runs", default="runs/learning-table", help="folder of the runs")
    parser.add_argument("--out", default="benchmarks/results/learning-table.json")
    args = parser.parse_args()

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {}
    began = time.perf_counter()
    synapses = [s.strip() for s in args.synapses.split(",") if s.strip()]
    for net, synapse in ((n, s) for n in nets for s in synapses):
        if synapse != "multiply" and not net_spec(net).spiking:
            continue  # the binary ANNs have no adder variant
        row = net if synapse == "multiply" else f"{net}+{synapse}"
        for seed in seeds:
            config = TrainConfig(
                net=net,
                dataset=args.dataset,
                epochs=args.epochs,
                subset=args.subset,
                test_subset=args.test_subset,
                seed=seed,
                noise_amplitude=args.noise,
                device=device,
                compile=args.compile,
                synapse=synapse,
            )
            folder = Path(args.runs) / f"{row}-seed{seed}"
            result = run_one(config, folder)
            if args.bridge and net_spec(net).spiking:
                result["bridge"] = bridge_one(folder, len(result["epochs"]), args.bridge)
            runs.setdefault(row, []).append(result)
            write_json(args.out, _payload(args, device, runs, began))
            print(f"{row} seed {seed}: {runs[row][-1]['epochs'][-1]}", flush=True)
    print(json.dumps(summarise(runs), indent=1))


def _payload(
    args: argparse.Namespace, device: str, runs: dict[str, list[dict[str, Any]]], began: float
) -> dict[str, Any]:
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else None
    return {
        "benchmark": "learning-table",
        "settings": {
            "dataset": args.dataset,
            "epochs": args.epochs or 40,
            "subset": args.subset,
            "test_subset": args.test_subset,
            "synapses": args.synapses,
            "noise": args.noise,
            "seeds": args.seeds,
            "compile": args.compile,
            "bridge_samples": args.bridge,
            "protocol": "test accuracy per task after the last epoch (the paper's figure)",
        },
        "hardware": {
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": device,
            "gpu": gpu,
        },
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "wall_seconds": time.perf_counter() - began,
        "table": summarise(runs),
    }


if __name__ == "__main__":
    main()
