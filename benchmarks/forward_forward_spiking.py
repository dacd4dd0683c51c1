"""Spiking Forward-Forward against backpropagation through time, per neuron model, and the
Brian2 bridge of the Forward-Forward-trained network.

For each model of ``--models`` (default: the paper's deep-learning LIF and HH), the network
``spikebridge.learning.forward_forward_spiking.preset_network`` (``--widths`` populations,
``--steps`` steps, Fashion-MNIST's 60,000 training and 10,000 test images) is trained

* by Forward-Forward (``train_spiking_forward_forward``, its defaults: spike-count
  goodness, Adam 1e-3, batch 100) for ``--epochs``, with both predictions (goodness over
  the ten labels, linear read-out on the neutral label);
* by backpropagation through time, the baseline: the same description, initial weights
  and optimiser, the raw image (no label), a linear head with bias on every layer's spike
  counts divided by the steps, cross-entropy, surrogate gradients through both layers,
  for the same epochs;

and the Forward-Forward-trained description runs in Brian2 (``validate_forward_forward``,
``--bridge-images`` test images x 10 labels, cpp_standalone) beside the torch engine.
Writes curves, errors, wall times, hardware and settings to one JSON file; a stopped
Forward-Forward run resumes from its ``--out`` folder.

    .venv/bin/python benchmarks/forward_forward_spiking.py --threads 1 --models lif_dl \\
        --json benchmarks/results/forward-forward-spiking-lif-cpu.json
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from spikebridge.bridge.validate_forward_forward import validate_forward_forward
from spikebridge.io import write_json
from spikebridge.learning.epoch_order import epoch_order
from spikebridge.learning.ff_networks import FF_SETTINGS, preset_network
from spikebridge.learning.forward_forward import FFConfig, Split, load_images
from spikebridge.learning.forward_forward_spiking import (
    SpikingFFConfig,
    train_spiking_forward_forward,
)
from spikebridge.network import Network
from spikebridge.torch.network import SpikingNetwork


def backprop(
    network: Network, config: SpikingFFConfig, train: Split, test: Split
) -> list[dict[str, float]]:
    """The baseline (module docstring)."""
    torch.manual_seed(config.seed + 7)
    net = SpikingNetwork(network, synapses="matrix", dtype=torch.float32)
    names = network.population_names
    sizes = [net.plan.populations[n].n for n in names]
    head = nn.Linear(sum(sizes), 10)
    optimiser = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=config.lr)

    def logits(x: torch.Tensor) -> torch.Tensor:
        out = net({"image": x}, n_steps=config.steps).spikes
        return head(torch.cat([out[n].mean(0) for n in names], -1))

    rows = []
    for epoch in range(config.epochs):
        began = time.perf_counter()
        order = epoch_order(config.seed, epoch, len(train.labels))
        size = config.batch_size
        for start in range(0, len(order) - size + 1, size):
            chosen = order[start : start + size]
            loss = F.cross_entropy(logits(train.images[chosen]), train.labels[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        trained = time.perf_counter() - began
        with torch.no_grad():
            wrong = sum(
                int(
                    (
                        logits(test.images[s : s + 1000]).argmax(-1) != test.labels[s : s + 1000]
                    ).sum()
                )
                for s in range(0, len(test.labels), 1000)
            )
        rows.append(
            {
                "epoch": epoch + 1,
                "test_error": wrong / len(test.labels),
                "train_seconds": trained,
                "seconds": time.perf_counter() - began,
            }
        )
        print(rows[-1], flush=True)
    return rows


def one_model(model: str, args: argparse.Namespace, train: Split, test: Split) -> dict[str, Any]:
    widths = tuple(int(w) for w in args.widths.split(","))
    config = SpikingFFConfig(steps=args.steps, epochs=args.epochs, seed=args.seed, data=args.data)
    torch.manual_seed(config.seed)
    network = preset_network(model, widths, config.steps)
    run = train_spiking_forward_forward(
        network,
        config,
        Path(args.out) / model,
        resume=True,
        train=train,
        test=test,
        progress=lambda r: print(model, r, flush=True),
    )
    bp = backprop(network, config, train, test)
    bridge = validate_forward_forward(
        run.network,
        test.images[: args.bridge_images].numpy(),
        test.labels[: args.bridge_images].numpy(),
        device=args.device,
    )
    print(model, "bridge", bridge, flush=True)
    final = run.metrics[-1]
    return {
        "network": {"model": model, "widths": widths, **FF_SETTINGS.get(model, {})},
        "forward_forward": {
            "settings": asdict(config),
            "epochs": run.metrics,
            "final_goodness_error": final["goodness_error"],
            "final_readout_error": final["readout_error"],
            "seconds": sum(r["seconds"] for r in run.metrics),
        },
        "backprop_through_time": {
            "epochs": bp,
            "final_error": bp[-1]["test_error"],
            "best_error": min(r["test_error"] for r in bp),
            "seconds": sum(r["seconds"] for r in bp),
        },
        "brian2_bridge": bridge,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lif_dl,hh_dl")
    parser.add_argument("--widths", default="500,500")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bridge-images", type=int, default=100)
    parser.add_argument("--device", default="cpp_standalone", help="Brian2 device")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--data", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="runs/forward-forward-spiking", help="run folder")
    parser.add_argument(
        "--json", default="benchmarks/results/forward-forward-spiking-fashion-cpu.json"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images = FFConfig(data=args.data)
    train, test = load_images(images, "train"), load_images(images, "test")
    began = time.perf_counter()
    results = {m: one_model(m, args, train, test) for m in args.models.split(",")}
    write_json(
        Path(args.json),
        {
            "hardware": {
                "machine": platform.machine(),
                "processor": platform.processor(),
                "cpus": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "torch": torch.__version__,
            },
            "dataset": "fashion-mnist (60,000 train, 10,000 test)",
            "models": results,
            "wall_seconds_this_call": time.perf_counter() - began,
        },
    )


if __name__ == "__main__":
    main()
