"""Validate a Forward-Forward-trained network in Brian2: its goodness prediction on both engines.

A network trained by :mod:`spikebridge.learning.forward_forward_spiking` predicts, for each
task, the label whose embedding in the image (the other tasks' blocks neutral) gives the
largest goodness. :func:`validate_forward_forward` runs each of ``samples`` images once per
task and label (``10 x tasks x samples`` trials) in Brian2 and on
the torch engine (:func:`~.validate_network.run_both_engines`), computes every trial's
goodness from each engine's own spikes (or membranes) and reports

* ``spike_train_agreement``: the fraction of trials with identical rasters;
* ``goodness_agreement``: the fraction of trials whose goodness is equal (to 1e-9 of its
  size) on the two engines;
* ``prediction_agreement``: the fraction of (image, task) pairs given the same label, and
  with ``labels`` the accuracy on each engine (averaged over the tasks).

:func:`validate_forward_forward_checkpoint` is ``spikebridge validate`` of a run of
``spikebridge train NET --rule forward-forward``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checks import count
from ..errors import InputError
from ..learning.ff_layers import GOODNESS, check_feed_forward
from ..learning.label_embedding import CLASSES, candidates, embed_labels
from ..network.description import Network
from ..network.file import save_network
from ..network.plan import plan_network
from ..network.result import NetworkResult
from .validate_network import run_both_engines


def trial_goodness(
    result: NetworkResult, network: Network, kind: str, layers: tuple[int, ...]
) -> np.ndarray:
    """``[trials]``: the goodness summed over ``layers`` (0-based population indices)."""
    total = np.zeros(result.trials)
    for k in layers:
        population = network.populations[k].name
        if kind == "spike_count":
            total += (result.spike_counts(population).astype(np.float64) ** 2).sum(-1)
        else:
            names = [n for n in result.traces if n.partition(".")[0] == population]
            for name in names:
                total += (result.traces[name].mean(1) ** 2).sum(-1)
    return total


def validate_forward_forward(
    network: Network,
    images: Any,
    labels: Any = None,
    *,
    goodness: str = "spike_count",
    tasks: int | None = None,
    prediction_layers: tuple[int, ...] | None = None,
    samples: int | None = None,
    n_steps: int | None = None,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    synapses: str = "matrix",
) -> dict[str, Any]:
    """Run ``samples`` images ``[N, pixels]`` in [0, 1], each with every label of every task
    embedded, on both engines and compare their
    goodness predictions (module docstring); JSON-ready. ``labels``: ``[N]`` or ``[N,
    tasks]``; ``tasks``: default from ``labels`` (else 1); ``prediction_layers``: 1-based
    layers whose goodness is summed (default: all); ``synapses``: the torch engine's
    delivery (``matrix``, as the network trains: its memory does not grow with synapses x
    trials as ``event``'s does, which ran out of memory at 2,000 trials of lif-fc)."""
    if goodness not in GOODNESS:
        raise InputError(f"goodness must be one of {', '.join(GOODNESS)}, got {goodness!r}.")
    source = check_feed_forward(network)
    pictures = torch.as_tensor(np.asarray(images), dtype=torch.float64).flatten(1)
    samples = len(pictures) if samples is None else count(samples, "samples")
    if samples > len(pictures):
        raise InputError(f"samples must be from 1 to {len(pictures)} (the images given).")
    pictures = pictures[:samples]
    chosen = prediction_layers or tuple(range(1, len(network.populations) + 1))
    for k in chosen:
        if not 1 <= k <= len(network.populations):
            raise InputError(
                f"prediction_layers names layer {k}; the network has "
                f"{len(network.populations)} layers."
            )
    layers = tuple(k - 1 for k in chosen)
    truth = None if labels is None else np.asarray(labels)[:samples]
    if truth is not None and truth.ndim == 1:
        truth = truth[:, None]
    tasks = count(tasks if tasks is not None else 1 if truth is None else truth.shape[1], "tasks")
    if truth is not None and truth.shape[1] != tasks:
        raise InputError(f"labels give {truth.shape[1]} tasks; tasks is {tasks}.")
    per_image = tasks * CLASSES
    trials = torch.stack(
        [
            embed_labels(pictures, candidates(samples, task, label, tasks))
            for task in range(tasks)
            for label in range(CLASSES)
        ],
        dim=1,
    ).reshape(samples * per_image, -1)  # trial = (image * tasks + task) * 10 + label
    plan = plan_network(network)
    record: tuple[str, ...] = ()
    if goodness == "membrane":
        record = tuple(
            f"{network.populations[k].name}.{v}"
            for k in layers
            for v in plan.populations[network.populations[k].name].model.membrane
        )
    both = run_both_engines(
        plan,
        {source: trials.numpy()},
        n_steps=n_steps,
        device=device,
        dtype=dtype,
        synapses=synapses,
        record=record,
    )
    good_b = trial_goodness(both.brian2, network, goodness, layers)
    good_t = trial_goodness(both.torch, network, goodness, layers)
    scale = np.maximum(np.abs(good_b), 1.0)
    predicted_b = good_b.reshape(samples, tasks, CLASSES).argmax(-1)
    predicted_t = good_t.reshape(samples, tasks, CLASSES).argmax(-1)
    report = both.report()
    report.update(
        samples=samples,
        trials=both.run.trials,
        tasks=tasks,
        goodness=goodness,
        prediction_layers=list(chosen),
        goodness_agreement=float((np.abs(good_b - good_t) <= 1e-9 * scale).mean()),
        prediction_agreement=float((predicted_b == predicted_t).mean()),
    )
    if truth is not None:
        report.update(
            accuracy_brian2=float((predicted_b == truth).mean()),
            accuracy_torch=float((predicted_t == truth).mean()),
        )
    return report


def validate_forward_forward_checkpoint(
    checkpoint: str | Path,
    *,
    device: str = "cpp_standalone",
    samples: int = 100,
    export: str | Path | None = None,
) -> dict[str, Any]:
    """``spikebridge validate`` of a Forward-Forward run of a paper net: its trained
    description on the run's first ``samples`` test composites, both engines; ``export``
    writes the trained description."""
    from ..learning.forward_forward_nets import forward_forward_test_data, load_forward_forward

    samples = count(samples, "samples")
    net, network, data = load_forward_forward(checkpoint)
    if export is not None:
        save_network(export, network)
    test = forward_forward_test_data(data, samples)
    config = data["config"]
    report = validate_forward_forward(
        network,
        test.images.numpy(),
        test.labels.numpy(),
        goodness=config["goodness"],
        prediction_layers=config["prediction_layers"],
        device=device,
    )
    with torch.no_grad():  # the trained (float32) module's own prediction, for reference
        own = net.goodness(test.images).argmax(-1).numpy()
    report.update(
        net=data["about"]["net"],
        rule="forward-forward",
        checkpoint=str(checkpoint),
        epoch=data["epoch"],
        dataset=data["about"]["dataset"],
        accuracy_trained_float32=float((own == test.labels.numpy()).mean()),
    )
    return report
