"""Adder synapses against multiplying ones: LeNet-5-BN on Fashion-MNIST (AdderNet's setting).

Trains ``spikebridge.nets.lenet.lenet5_bn("adder")`` and ``lenet5_bn("multiply")`` with
one recipe (SGD momentum 0.9, lr 0.1 falling to 0 on a cosine schedule as AdderNet's
``main.py`` sets it, ``0.05 (1 + cos(pi e / E))``, weight decay 5e-4, batch 128,
``--epochs`` epochs; images standardised with Fashion-MNIST's mean 0.2860 and std 0.3530),
on the 60,000 training and 10,000 test images, and writes both learning curves, the test
accuracies, the wall times, the operation counts (``spikebridge.cost.layer_ops``), the
hardware and the settings to one JSON file.

    .venv/bin/python benchmarks/adder_lenet.py --threads 1 \\
        --json benchmarks/results/adder-lenet5-fashion-lr0.1-cpu-1thread.json
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spikebridge.cost.layer_ops import layer_operations
from spikebridge.data.sources import load_split
from spikebridge.io import write_json
from spikebridge.learning.epoch_order import epoch_order
from spikebridge.nets.lenet import lenet5_bn

MEAN, STD = 0.2860, 0.3530


def images(split: str, data: str | None, subset: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_split("fashion-mnist", split, root=data)  # type: ignore[arg-type]
    if subset is not None:
        x, y = x[:subset], y[:subset]
    pixels = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return (pixels - MEAN) / STD, torch.from_numpy(y.astype(np.int64))


def train_one(synapse: str, args: argparse.Namespace, train: Any, test: Any) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    net = lenet5_bn(synapse)
    optimiser = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    steps = len(train[1]) // args.batch
    total = steps * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda k: 0.5 * (1 + math.cos(math.pi * k / total))
    )
    rows = []
    for epoch in range(args.epochs):
        began = time.perf_counter()
        net.train()
        order = epoch_order(args.seed, epoch, len(train[1]))
        for step in range(steps):
            chosen = order[step * args.batch : (step + 1) * args.batch]
            loss = F.cross_entropy(net(train[0][chosen]), train[1][chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        trained = time.perf_counter() - began
        net.eval()
        with torch.no_grad():
            correct = sum(
                int((net(test[0][s : s + 1000]).argmax(-1) == test[1][s : s + 1000]).sum())
                for s in range(0, len(test[1]), 1000)
            )
        rows.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss.item(),
                "test_accuracy": correct / len(test[1]),
                "train_seconds": trained,
                "seconds": time.perf_counter() - began,
            }
        )
        print(synapse, rows[-1], flush=True)
    return {
        "epochs": rows,
        "final_accuracy": rows[-1]["test_accuracy"],
        "seconds": sum(r["seconds"] for r in rows),
        "operations": layer_operations(net, (1, 28, 28)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subset", type=int, default=None, help="training images (all)")
    parser.add_argument("--synapses", default="adder,multiply")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--data", default=None, help="folder with the IDX files")
    parser.add_argument("--json", default="benchmarks/results/adder-lenet5-fashion-lr0.1-cpu.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test = images("train", args.data, args.subset), images("test", args.data, None)
    results = {s: train_one(s, args, train, test) for s in args.synapses.split(",")}
    report: dict[str, Any] = {
        "hardware": {
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "settings": {
            "network": "LeNet-5-BN (spikebridge.nets.lenet)",
            "optimiser": "SGD momentum 0.9, weight decay 5e-4, cosine",
            **{k: getattr(args, k) for k in ("epochs", "lr", "batch", "seed", "subset")},
        },
        "results": results,
    }
    if {"adder", "multiply"} <= set(results):
        report["adder_minus_multiply_points"] = 100 * (
            results["adder"]["final_accuracy"] - results["multiply"]["final_accuracy"]
        )
    write_json(Path(args.json), report)


if __name__ == "__main__":
    main()
