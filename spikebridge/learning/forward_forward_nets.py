"""Forward-Forward training of the paper's spiking networks on their multi-task datasets.

``spikebridge train NET --rule forward-forward`` trains the spiking part of network ``NET``
(its description from :mod:`spikebridge.nets`, weights drawn from the seed as the
backpropagation run draws them) with :mod:`.forward_forward_spiking`: the composites'
pixel units divided by 255 (Forward-Forward's images lie in [0, 1], its label pixels are 1;
the Brian2 validation gives the network the same values), the labels in the first 20
pixels (a block per task; each sample shows one task, its true or a wrong label, the other
block neutral), goodness and read-out predictions per task. The settings are
:class:`~.forward_forward_spiking.SpikingFFConfig`'s defaults (10 epochs, Adam 1e-3, batch
100), except the network's own steps (T = 15) and surrogate, and membrane goodness by
default: the paper's LIF (decay 0.2, lazy reset) fires all or nothing over the steps, and
with spike-count goodness its layer settles on a few always-on neurons whose goodness sits
at the threshold whatever the label (lif-fc, 20,000 composites, 2 epochs: goodness and
read-out at chance), while membrane goodness learns (goodness error 0.49, read-out 0.39).
HH-fc stays at chance with either in that test: its weights are drawn x0.01 and at dt
0.01 its membranes move by the leak alone within 15 steps, so its goodness barely depends
on the image. ``--epochs``, ``--lr``, ``--batch-size``, ``--subset``, ``--test-subset``,
``--noise`` and ``--device`` apply as in backpropagation training. The paper's task heads
belong to its backpropagation run; Forward-Forward's linear read-out takes their place.
Any spiking net whose description is feed-forward with single-event layers can be
trained (the fc nets, and the LIF and HH conv nets); the s-LIF2HH conv net, whose two
layers share a 3->1 map and emit four events, cannot, and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..nets import build_net, net_spec
from ..network.description import Network
from ..torch.network import SpikingNetwork
from .checkpoint import read_checkpoint
from .data import load_task_data
from .forward_forward import Split
from .forward_forward_spiking import (
    KIND,
    SpikingFFConfig,
    SpikingFFNet,
    SpikingFFRun,
    train_spiking_forward_forward,
)
from .train import TrainConfig, check_run_settings, noise_pattern, run_test_data

PIXEL_UNIT = 255.0  # the multi-task images are in pixel units; Forward-Forward takes [0, 1]


def net_description(name: str, steps: int, seed: int) -> Network:
    """The spiking part of paper network ``name`` as a description, its weights drawn from
    torch's generator seeded with ``seed`` (as :func:`~.train.train` draws them)."""
    spec = net_spec(name)
    if not spec.spiking:
        raise InputError(
            f"'{name}' has no spiking layer; Forward-Forward for ReLU networks is "
            "spikebridge.learning.forward_forward (train_forward_forward)."
        )
    torch.manual_seed(seed)
    spiking = build_net(name, steps=steps, seed=seed).network
    assert isinstance(spiking, SpikingNetwork)
    return spiking.plan.network


def forward_forward_config(config: TrainConfig, goodness: str = "membrane") -> SpikingFFConfig:
    """The Forward-Forward settings of a training run (module docstring)."""
    if config.compile != "none":
        raise InputError("--compile applies to backpropagation training; leave it out.")
    if config.synapse != "multiply":
        raise InputError(
            "--synapse adder applies to backpropagation training (Forward-Forward feeds images "
            "in [0, 1], the adder input layer takes pixel units); leave it out."
        )
    for name in ("weight_decay", "milestones"):
        if getattr(config, name) is not None:
            raise InputError(f"{name} applies to backpropagation training; leave it unset.")
    check_run_settings(config, ("steps",))
    defaults = SpikingFFConfig()
    return SpikingFFConfig(
        steps=config.steps,
        goodness=goodness,
        epochs=config.epochs if config.epochs is not None else defaults.epochs,
        batch_size=config.batch_size if config.batch_size is not None else defaults.batch_size,
        lr=config.lr if config.lr is not None else defaults.lr,
        seed=config.seed,
        subset=config.subset,
        test_subset=config.test_subset,
        dataset=config.dataset,
        data=config.data_root,
        surrogate_width=net_spec(config.net).surrogate_width,
        device=config.device,
    )


def about(config: TrainConfig) -> dict[str, Any]:
    """What a Forward-Forward run of a paper net is: enough to rebuild its net and data."""
    return {
        "rule": "forward-forward",
        "net": config.net,
        "dataset": config.dataset,
        "data_seed": config.data_seed,
        "data_root": config.data_root,
        "noise_amplitude": config.noise_amplitude,
        "seed": config.seed,
    }


def _split(config: TrainConfig, split: str, subset: int | None) -> Split:
    data = load_task_data(
        config.dataset,
        split,  # type: ignore[arg-type]
        seed=config.data_seed,
        subset=subset,
        root=config.data_root,
        noise=noise_pattern(config.noise_amplitude, config.seed),
    )
    return Split(data.images.flatten(1) / PIXEL_UNIT, data.labels)


def train_net_forward_forward(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    goodness: str = "membrane",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> SpikingFFRun:
    """Train paper net ``config.net`` by Forward-Forward into ``out`` (module docstring)."""
    settings = forward_forward_config(config, goodness)
    network = net_description(config.net, config.steps, config.seed)
    return train_spiking_forward_forward(
        network,
        settings,
        out,
        resume=resume,
        train=_split(config, "train", config.subset),
        test=_split(config, "test", config.test_subset),
        progress=on_epoch,
        about=about(config),
    )


def load_forward_forward(
    checkpoint: str | Path,
) -> tuple[SpikingFFNet, Network, dict[str, Any]]:
    """The trained net of a Forward-Forward checkpoint of a paper net, its trained
    description and the checkpoint's data."""
    data = read_checkpoint(checkpoint, kind=KIND)
    facts: Mapping[str, Any] = data.get("about") or {}
    if "net" not in facts:
        raise InputError(
            f"{checkpoint} was trained from a network description, not a paper net; its "
            "trained description is the network.npz beside it."
        )
    saved = dict(data["config"])
    if saved.get("prediction_layers") is not None:
        saved["prediction_layers"] = tuple(saved["prediction_layers"])
    settings = SpikingFFConfig(**{**saved, "device": "cpu"})
    network = net_description(facts["net"], settings.steps, facts["seed"])
    tasks = data["state_dict"]["readout.weight"].shape[0] // 10
    net = SpikingFFNet(network, settings, tasks=tasks)
    net.load_state_dict(data["state_dict"])
    return net, net.layers.to_network(), data


def forward_forward_test_data(data: Mapping[str, Any], samples: int) -> Split:
    """The first ``samples`` test composites of a Forward-Forward run of a paper net."""
    test = run_test_data(data["about"], samples)
    return Split(test.images.flatten(1) / PIXEL_UNIT, test.labels)
