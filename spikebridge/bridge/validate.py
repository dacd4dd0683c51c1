"""Validate a trained multi-task network in Brian2: same inputs, both engines, compared.

The checkpoint's network is an instance of the network description
(:mod:`spikebridge.nets`); its trained description (``net.network.to_network()``) is built
in Brian2 by the general engine (:mod:`spikebridge.brian.network`) and runs the first
``samples`` test composites of its dataset (with the training run's noise pattern, if any)
as trials back to back. The torch network runs the same samples in float64. Both engines'
spike rasters go through the torch network's own readout, so the comparison measures the
spiking dynamics alone:

* ``spike_train_agreement``: fraction of samples whose whole rasters (step x neuron, every
  spiking layer) are identical; ``spike_count_agreement``: fraction of (sample, neuron) spike
  counts of the last spiking layer that are equal;
* ``prediction_agreement``: per task, fraction of samples with the same predicted label;
* ``accuracy_torch`` / ``accuracy_brian2``: per task, against the true labels.

A checkpoint of ``spikebridge train NET --rule forward-forward`` predicts by goodness
instead of a read-out: :func:`validate` hands it to
:func:`~.validate_forward_forward.validate_forward_forward_checkpoint`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checks import count, index
from ..errors import InputError
from ..learning.checkpoint import checkpoint_format, load_trained
from ..learning.forward_forward_spiking import KIND as FORWARD_FORWARD
from ..learning.train import run_test_data
from ..nets import SpikingConv, SpikingFC
from ..nets.specs import IMAGE_SIZE
from ..network.result import NetworkResult

SpikingNet = SpikingFC | SpikingConv


def layers(net: SpikingNet) -> tuple[str, ...]:
    """The spiking populations of a paper network, input to output."""
    return tuple(net.network.plan.populations)


def readout(net: SpikingNet, raster: np.ndarray) -> np.ndarray:
    """Logits ``[samples, 2, 10]`` of the network's own readout, from the last spiking layer's
    raster ``[samples, T, n_events * n]`` (the layout of :func:`torch_rasters`)."""
    spikes = torch.from_numpy(raster).to(next(net.parameters()).dtype)
    with torch.no_grad():
        if isinstance(net, SpikingFC):
            logits = net.logits_from_spikes(spikes.transpose(0, 1))
        else:
            maps = net._maps(spikes.transpose(0, 1), IMAGE_SIZE // 2)
            logits = net.logits_from_spikes(maps)
    return logits.cpu().numpy()


def torch_rasters(net: SpikingNet, images: torch.Tensor, batch_size: int = 250) -> list[np.ndarray]:
    """Spikes ``[samples, T, n_events * n]`` of each spiking layer of the torch network."""
    chunks: list[list[np.ndarray]] = []
    names = layers(net)
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].flatten(1)
            out = net.network({"pixels": batch}, n_steps=net.steps).spikes
            chunks.append([out[name].transpose(0, 1).cpu().numpy() > 0 for name in names])
    return [np.concatenate(parts) for parts in zip(*chunks, strict=True)]


def rasters_of(net: SpikingNet, result: NetworkResult) -> list[np.ndarray]:
    """A network result's spikes as ``[trials, T, n_events * n]`` booleans per layer (events in
    the model's order, as the torch network lays them out)."""
    out = []
    for name in layers(net):
        plan = net.network.plan.populations[name]
        raster = np.zeros((result.trials, result.n_steps, len(plan.model.events) * plan.n), bool)
        for k, event in enumerate(plan.model.event_names):
            rows = result.events(name, event)
            raster[rows[:, 0], rows[:, 1], k * plan.n + rows[:, 2]] = True
        out.append(raster)
    return out


def brian2_rasters(
    net: SpikingNet, images: np.ndarray, device: str, threads: int = 0, **options: Any
) -> list[np.ndarray]:
    """Spikes ``[samples, T, n_events * n]`` of each spiking layer of the network rebuilt in
    Brian2 (``options``: of :func:`spikebridge.brian.network.run_network_brian2`)."""
    from ..brian.network import run_network_brian2
    from ..network import plan_network, prepare_run

    plan = plan_network(net.network.to_network())
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    run = prepare_run(plan, n_steps=net.steps, trials=len(flat), inputs={"pixels": flat})
    result = run_network_brian2(run, device=device, threads=threads, **options)
    return rasters_of(net, result)


def validate(
    checkpoint: str | Path,
    *,
    device: str = "cpp_standalone",
    samples: int | None = None,
    export: str | Path | None = None,
    nir: str | Path | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Run the bridge comparison; returns the JSON-ready summary. ``samples``: test
    composites (default 1000; 100 for Forward-Forward, whose images run once per task and
    label); ``export`` writes the trained description (a network file); ``nir`` the NIR
    graph of a LIF network."""
    threads = index(threads, "threads")
    if checkpoint_format(checkpoint) == FORWARD_FORWARD:
        samples = 100 if samples is None else count(samples, "samples")
        if nir is not None or threads:
            raise InputError(
                "--nir and threads apply to backpropagation checkpoints; leave them out for "
                "a Forward-Forward checkpoint."
            )
        from .validate_forward_forward import validate_forward_forward_checkpoint

        return validate_forward_forward_checkpoint(
            checkpoint, device=device, samples=samples, export=export
        )
    samples = 1000 if samples is None else count(samples, "samples")
    net, data = load_trained(checkpoint, dtype=torch.float64)
    config = data["config"]
    spec = net.spec
    if not spec.spiking:
        raise InputError(f"'{spec.name}' has no spiking layer: only spiking networks are bridged.")
    assert isinstance(net, SpikingFC | SpikingConv)
    if export is not None:
        from ..network import save_network

        save_network(export, net.network.to_network())
    if nir is not None:
        from .nir_export import save_nir

        save_nir(nir, net)
    test = run_test_data(config, samples)
    images = test.images.to(torch.float64)
    labels = test.labels.numpy()

    began = time.perf_counter()
    layers_torch = torch_rasters(net, images)
    torch_seconds = time.perf_counter() - began
    began = time.perf_counter()
    layers_brian = brian2_rasters(net, images.numpy(), device, threads)
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
        "synapse": config.get("synapse", "multiply"),
        "checkpoint": str(checkpoint),
        "epoch": data["epoch"],
        "dataset": config["dataset"],
        "train_subset": config["subset"],
        "engine": "brian2",
        "device": device,
        "dtype": "float64",
        "samples": len(labels),
        "steps": net.steps,
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
