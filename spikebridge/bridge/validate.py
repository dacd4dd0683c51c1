"""Validate a trained network in Brian2: same inputs, both engines, compare spikes and labels.

The checkpoint's network is exported (:mod:`.network_file`), rebuilt in Brian2 from the
same model file, and run on the first ``samples`` test composites of its dataset (with
the training run's noise pattern, if any). The torch network runs the same samples in
float64. Both engines' spike rasters go through the torch network's own readout, so the
comparison measures the spiking dynamics alone:

* ``spike_train_agreement``: fraction of samples whose whole rasters (step x neuron, every
  spiking layer) are identical; ``spike_count_agreement``: fraction of (sample, neuron)
  spike counts of the last spiking layer that are equal;
* ``prediction_agreement``: per task, fraction of samples with the same predicted label;
* ``accuracy_torch`` / ``accuracy_brian2``: per task, against the true labels.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..learning.checkpoint import load_trained
from ..learning.train import run_test_data
from ..nets import SpikingConv, SpikingFC
from ..nets.specs import IMAGE_SIZE
from .brian_conv import run_conv
from .brian_fc import run_fc
from .network_file import NetworkFile, describe, save_network


def readout(net: SpikingFC | SpikingConv, raster: np.ndarray) -> np.ndarray:
    """Logits ``[samples, 2, 10]`` of the network's own readout, from the last spiking layer's
    raster ``[samples, T, n]`` (the layout of :func:`torch_rasters`)."""
    spikes = torch.from_numpy(raster).to(next(net.parameters()).dtype)
    with torch.no_grad():
        if isinstance(net, SpikingFC):
            logits = net.logits_from_spikes(spikes.transpose(0, 1))
        else:
            samples, steps, _ = spikes.shape
            side = IMAGE_SIZE // 2
            maps = spikes.view(samples, steps, net.n_events, net.spec.width, side, side)
            logits = net.logits_from_spikes(maps.permute(1, 2, 0, 3, 4, 5))
    return logits.cpu().numpy()


def torch_rasters(
    net: SpikingFC | SpikingConv, images: torch.Tensor, batch_size: int = 250
) -> list[np.ndarray]:
    """Spikes ``[samples, T, n]`` of each spiking layer of the torch network (its dtype)."""
    chunks: list[list[np.ndarray]] = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            if isinstance(net, SpikingFC):
                layers = [net.spikes(batch).transpose(0, 1)]
            else:
                layers = [spk.permute(2, 0, 1, 3, 4, 5).flatten(2) for spk in net.spikes(batch)]
            chunks.append([layer.cpu().numpy() > 0 for layer in layers])
    return [np.concatenate(parts) for parts in zip(*chunks, strict=True)]


def brian2_rasters(
    network: NetworkFile, images: np.ndarray, device: str, threads: int = 0
) -> list[np.ndarray]:
    """Spikes ``[samples, T, n]`` of each spiking layer of the network rebuilt in Brian2."""
    if network.meta["body"] == "fc":
        return [run_fc(network, images, device=device, threads=threads)]
    return run_conv(network, images, device=device, threads=threads)


def validate(
    checkpoint: str | Path,
    *,
    device: str = "cpp_standalone",
    samples: int = 1000,
    export: str | Path | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Run the bridge comparison; returns the JSON-ready summary."""
    if samples < 1:
        raise InputError(f"--samples must be at least 1, got {samples}.")
    net, data = load_trained(checkpoint, dtype=torch.float64)
    config = data["config"]
    spec = net.spec
    if not spec.spiking:
        raise InputError(f"'{spec.name}' has no spiking layer: only spiking networks are bridged.")
    assert isinstance(net, SpikingFC | SpikingConv)
    network = describe(net, config["seed"])
    if export is not None:
        save_network(export, network)
    test = run_test_data(config, samples)
    images = test.images.to(torch.float64)
    labels = test.labels.numpy()

    began = time.perf_counter()
    layers_torch = torch_rasters(net, images)
    torch_seconds = time.perf_counter() - began
    began = time.perf_counter()
    layers_brian = brian2_rasters(network, images.numpy(), device, threads)
    brian_seconds = time.perf_counter() - began
    raster_torch, raster_brian = layers_torch[-1], layers_brian[-1]
    identical = np.logical_and.reduce(
        [np.all(a == b, axis=(1, 2)) for a, b in zip(layers_torch, layers_brian, strict=True)]
    )

    pred_torch = readout(net, raster_torch).argmax(-1)
    pred_brian = readout(net, raster_brian).argmax(-1)
    counts_torch, counts_brian = raster_torch.sum(1), raster_brian.sum(1)
    acc_torch = (pred_torch == labels).mean(0)
    acc_brian = (pred_brian == labels).mean(0)
    tasks = ("task1", "task2")
    return {
        "net": spec.name,
        "checkpoint": str(checkpoint),
        "epoch": data["epoch"],
        "dataset": config["dataset"],
        "train_subset": config["subset"],
        "engine": "brian2",
        "device": device,
        "dtype": "float64",
        "samples": len(labels),
        "steps": network.meta["steps"],
        "spike_train_agreement": float(identical.mean()),
        "spike_count_agreement": float((counts_torch == counts_brian).mean()),
        "max_spike_count_difference": int(np.abs(counts_torch - counts_brian).max()),
        "prediction_agreement": {
            t: float((pred_torch[:, k] == pred_brian[:, k]).mean()) for k, t in enumerate(tasks)
        },
        "accuracy_torch": {t: float(acc_torch[k]) for k, t in enumerate(tasks)},
        "accuracy_brian2": {t: float(acc_brian[k]) for k, t in enumerate(tasks)},
        "accuracy_difference_points": {
            t: float(100 * abs(acc_torch[k] - acc_brian[k])) for k, t in enumerate(tasks)
        },
        "mean_spikes_per_sample": float(counts_torch.sum(1).mean()),
        "torch_seconds": torch_seconds,
        "brian2_seconds": brian_seconds,
    }
