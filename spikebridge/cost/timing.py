"""CPU timings of the networks: inference and training step, measured round-robin."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from ..checks import count, index
from ..learning.train import task_loss
from ..nets import NETS, STEPS, build_net
from ..nets.specs import IMAGE_SIZE
from .counts import _ratio


def time_summary(samples: list[float]) -> dict[str, Any]:
    """Median, extremes and spread ((max - min) / median) of repeated timings in seconds."""
    median = statistics.median(samples)
    return {
        "median_s": median,
        "min_s": min(samples),
        "max_s": max(samples),
        "spread": (max(samples) - min(samples)) / median if median > 0 else 0.0,
        "samples_s": samples,
    }


def timing_table(
    names: Sequence[str] = tuple(NETS),
    *,
    batch: int = 128,
    repeats: int = 5,
    warmup: int = 1,
    steps: int = STEPS,
    seed: int = 0,
    threads: int | None = None,
    synapse: str = "multiply",
) -> dict[str, Any]:
    """CPU seconds per batch: inference (forward, no grad) and one training step; ``synapse``:
    the nets' input layer (see :func:`spikebridge.nets.build_net`).

    A training step is forward + CE(task 1) + CE(task 2) + backward + an Adam step with
    the net's learning rate and weight decay. The models are measured round-robin:
    ``warmup`` unrecorded rounds, then ``repeats`` rounds, each timing every model once,
    so slow drifts of the machine hit all models alike (odd rounds run the models in
    reverse order). ``spread`` is (max - min) / median. Ratios HH/s-LIF2HH of the medians
    are given where both nets of a body were measured. ``threads`` sets torch's CPU
    threads for the run (default: leave them as they are).
    """
    batch, repeats, warmup = (
        count(batch, "batch"),
        count(repeats, "repeats"),
        index(warmup, "warmup"),
    )
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            images = torch.rand(batch, 1, IMAGE_SIZE, IMAGE_SIZE) * 255
            labels = torch.randint(0, 10, (batch, 2))
            nets = {
                name: build_net(name, steps=steps, seed=seed, synapse=synapse) for name in names
            }
        optimisers = {
            name: torch.optim.Adam(
                net.parameters(),
                lr=net.spec.optimiser.lr,
                weight_decay=net.spec.optimiser.weight_decay,
            )
            for name, net in nets.items()
        }
        samples: dict[str, dict[str, list[float]]] = {
            name: {"inference": [], "train": []} for name in names
        }
        for round_index in range(warmup + repeats):
            order = list(nets) if round_index % 2 == 0 else list(reversed(nets))
            for name in order:
                net = nets[name]
                net.eval()
                start = time.perf_counter()
                with torch.no_grad():
                    net(images)
                inference = time.perf_counter() - start
                net.train()
                optimiser = optimisers[name]
                start = time.perf_counter()
                optimiser.zero_grad(set_to_none=True)
                task_loss(net(images), labels).backward()
                optimiser.step()
                train = time.perf_counter() - start
                if round_index >= warmup:
                    samples[name]["inference"].append(inference)
                    samples[name]["train"].append(train)
    finally:
        torch.set_num_threads(previous_threads)
    models = {
        name: {"inference": time_summary(s["inference"]), "train": time_summary(s["train"])}
        for name, s in samples.items()
    }
    medians = {
        name: {key: value["median_s"] for key, value in m.items()} for name, m in models.items()
    }
    ratios = {
        f"hh_over_slif2hh_{body}": {
            key: _ratio(medians, key, f"hh-{body}", f"s-lif2hh-{body}")
            for key in ("inference", "train")
        }
        for body in ("fc", "conv")
        if f"hh-{body}" in medians and f"s-lif2hh-{body}" in medians
    }
    return {
        "device": "cpu",
        "threads": threads if threads is not None else previous_threads,
        "batch": batch,
        "steps": steps,
        "repeats": repeats,
        "warmup": warmup,
        "models": models,
        "ratios": ratios,
    }
