"""Forward-Forward against backpropagation on the same fully connected ReLU network.

Trains ``spikebridge.learning.forward_forward`` (the loeweX recipe: SGD, peer normalisation,
wrong-label negatives, goodness and linear read-out predictions) for ``--ff-epochs`` and the
same layers with a linear head by backpropagation (Adam 1e-3, batch 100, cross-entropy, the
raw image without a label) for ``--bp-epochs``, on Fashion-MNIST's 60,000 training and
10,000 test images, and writes both learning curves, the test errors, the wall times, the
hardware and the settings to one JSON file. A stopped run resumes (``--out`` folder).
Forward-Forward's seconds include its per-epoch test evaluation (ten passes per image for
the goodness prediction; ``train_seconds`` without it), the baseline's one test pass.

    .venv/bin/python benchmarks/forward_forward.py --threads 1 \\
        --json benchmarks/results/forward-forward-fashion-cpu.json
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from spikebridge.io import write_json
from spikebridge.learning.epoch_order import epoch_order
from spikebridge.learning.forward_forward import FFConfig, Split, load_images, train_forward_forward


def backprop(
    widths: tuple[int, ...], train: Split, test: Split, epochs: int, seed: int
) -> list[dict[str, float]]:
    """The baseline: the same ReLU layers and a linear head trained by backpropagation."""
    torch.manual_seed(seed)
    sizes = (train.images.shape[1], *widths)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(widths[-1], 10))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    rows = []
    for epoch in range(epochs):
        began = time.perf_counter()
        order = epoch_order(seed, epoch, len(train.labels))
        net.train()
        for start in range(0, len(order) - 99, 100):
            chosen = order[start : start + 100]
            loss = F.cross_entropy(net(train.images[chosen]), train.labels[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            error = float((net(test.images).argmax(-1) != test.labels).float().mean())
        rows.append(
            {"epoch": epoch + 1, "test_error": error, "seconds": time.perf_counter() - began}
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ff-epochs", type=int, default=60)
    parser.add_argument("--bp-epochs", type=int, default=10)
    parser.add_argument("--widths", default="1000,1000,1000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--data", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="runs/forward-forward", help="checkpoint folder")
    parser.add_argument("--json", default="benchmarks/results/forward-forward-fashion-cpu.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    widths = tuple(int(w) for w in args.widths.split(","))
    config = FFConfig(widths=widths, epochs=args.ff_epochs, seed=args.seed, data=args.data)
    train, test = load_images(config, "train"), load_images(config, "test")
    began = time.perf_counter()
    run = train_forward_forward(
        config,
        args.out,
        resume=True,
        train=train,
        test=test,
        progress=lambda r: print(r, flush=True),
    )
    ff_seconds = sum(r["seconds"] for r in run.metrics)
    bp = backprop(widths, train, test, args.bp_epochs, args.seed)
    final = run.metrics[-1]
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
            "settings": {
                "forward_forward": asdict(config),
                "backprop": {
                    "widths": widths,
                    "epochs": args.bp_epochs,
                    "optimiser": "Adam 1e-3",
                    "batch": 100,
                    "seed": args.seed,
                },
            },
            "forward_forward": {
                "epochs": run.metrics,
                "final_goodness_error": final["goodness_error"],
                "final_readout_error": final["readout_error"],
                "seconds": ff_seconds,
            },
            "backprop": {
                "epochs": bp,
                "final_error": bp[-1]["test_error"],
                "best_error": min(r["test_error"] for r in bp),
                "seconds": sum(r["seconds"] for r in bp),
            },
            "gap_goodness_minus_backprop": final["goodness_error"] - bp[-1]["test_error"],
            "wall_seconds_this_call": time.perf_counter() - began,
        },
    )
    print(
        f"FF goodness {final['goodness_error']:.4f} readout {final['readout_error']:.4f}; "
        f"BP {bp[-1]['test_error']:.4f}"
    )


if __name__ == "__main__":
    main()
