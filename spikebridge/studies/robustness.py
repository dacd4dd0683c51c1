"""Robustness study (the paper's Fig. 4h, extended to the simulator side).

Two parts, each a grid run through :mod:`spikebridge.sweeps` (one result file per point,
so an interrupted study resumes where it stopped):

* **Training noise** (the paper's protocol): a fixed Gaussian pattern ``A * N(0, 1)``
  (``learning.train.noise_pattern``) is added to every training and test image and the
  network is retrained; grid ``net x A x seed``, result: test accuracy per task.
* **Simulation perturbations**: each network trained without noise (``A = 0``) is bridged
  into Brian2 and run under the perturbations of :mod:`spikebridge.bridge.perturb`
  (membrane noise with ``xi``, input noise, weight perturbation, spike deletion), all
  levels of one ``(net, seed)`` in a single Brian2 build; grid ``net x seed``, result:
  accuracy per task at each level. The clean level is checked against the torch network
  spike for spike (``clean_spike_train_agreement``, expected 1.0 in float64).

Membrane-noise strengths are in units of each membrane variable's standard deviation in
the clean network (over samples, steps and neurons), so that ``s = 0.5`` means the same
signal-to-noise ratio for LIF, HH and s-LIF2HH whose membranes live on different scales.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..bridge.perturb import KINDS, NoiseSchedule, delete_spikes, network_perturbations
from ..bridge.validate import brian2_rasters, readout, torch_rasters
from ..checks import count, index, non_negative
from ..errors import InputError
from ..io import write_json
from ..learning.checkpoint import load_trained
from ..learning.train import TrainConfig, run_test_data, train
from ..nets import SpikingFC
from ..nets.specs import NETS
from ..sweeps import run_sweep

TASKS = ("task1", "task2")

PAPER_STRENGTHS: dict[str, tuple[float, ...]] = {
    "membrane": (0.25, 0.5, 1.0, 2.0),
    "input": (25.0, 50.0, 100.0, 200.0),
    "weight": (0.1, 0.25, 0.5, 1.0),
    "deletion": (0.1, 0.25, 0.5, 0.75),
}


@dataclass(frozen=True)
class RobustnessSettings:
    """Everything that determines a robustness study (saved with its results)."""

    nets: tuple[str, ...] = ("lif-fc", "hh-fc", "s-lif2hh-fc")
    amplitudes: tuple[float, ...] = (0.0, 25.0, 50.0, 75.0)
    seeds: tuple[int, ...] = (1, 2, 3)
    dataset: str = "multi-fashion"
    epochs: int | None = None  # None: the paper's 40
    subset: int | None = None  # training composites (None: all)
    test_subset: int | None = None  # test composites for the training part (None: all)
    samples: int = 1000  # test composites per level in Brian2
    strengths: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: dict(PAPER_STRENGTHS)
    )
    device: str = "cpp_standalone"
    threads: int = 0
    train_device: str = "cpu"
    data_root: str | None = None

    @classmethod
    def quick(cls) -> RobustnessSettings:
        """Minutes on 2 cores: small subsets, 2 epochs, 2 seeds, 2 levels per kind."""
        return cls(
            amplitudes=(0.0, 75.0),
            seeds=(1, 2),
            epochs=2,
            subset=3000,
            test_subset=1000,
            samples=100,
            strengths={k: v[1::2] for k, v in PAPER_STRENGTHS.items()},
        )

    def checked(self) -> RobustnessSettings:
        for net in self.nets:
            if net not in NETS:
                raise InputError(f"Unknown network '{net}'; choose from {', '.join(NETS)}.")
            if not NETS[net].spiking or NETS[net].body != "fc":
                raise InputError(
                    f"'{net}': the simulation perturbations are built for spiking fc "
                    "networks (lif-fc, hh-fc, s-lif2hh-fc, 4lif-fc)."
                )
        if 0.0 not in self.amplitudes:
            raise InputError(
                "amplitudes must include 0: the simulation perturbations run on the networks "
                "trained without noise."
            )
        for kind in self.strengths:
            if kind not in KINDS:
                raise InputError(f"Unknown perturbation '{kind}'; choose from {', '.join(KINDS)}.")
        if not self.seeds:
            raise InputError("Give at least one seed.")
        for seed in self.seeds:
            index(seed, "seeds")
        for amplitude in self.amplitudes:
            non_negative(amplitude, "amplitudes")
        for kind, values in self.strengths.items():
            for value in values:
                non_negative(value, f"{kind} strengths")
        for name in ("epochs", "subset", "test_subset", "samples"):
            if getattr(self, name) is not None:
                count(getattr(self, name), name)
        index(self.threads, "threads")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["strengths"] = {k: list(v) for k, v in self.strengths.items()}
        return data


# -- the simulation perturbations of one trained network ----------------------------------


def membrane_scales(net: SpikingFC, images: torch.Tensor) -> dict[str, float]:
    """Standard deviation of each membrane variable of ``net``'s layer on ``images``."""
    model = net.network.plan.populations["hidden"].model
    with torch.no_grad():
        mem = net.layer(images)[1]
    per_variable = mem.reshape(*mem.shape[:-1], len(model.membrane), -1)
    return {var: float(per_variable[..., k, :].std()) for k, var in enumerate(model.membrane)}


def perturbation_curves(
    checkpoint: str | Path,
    strengths: Mapping[str, Sequence[float]],
    *,
    samples: int,
    seed: int,
    device: str = "cpp_standalone",
    threads: int = 0,
) -> dict[str, Any]:
    """Accuracy of a trained fc network in Brian2 at every perturbation level (one build)."""
    net, data = load_trained(checkpoint, dtype=torch.float64)
    config = data["config"]
    if not isinstance(net, SpikingFC):
        raise InputError(
            f"{checkpoint} holds '{net.spec.name}'; the simulation perturbations are built "
            "for spiking fc networks."
        )
    test = run_test_data(config, samples)
    images, labels = test.images.to(torch.float64), test.labels.numpy()
    samples = len(labels)
    scales = membrane_scales(net, images)
    schedule = NoiseSchedule.from_strengths(strengths, samples, scales)
    began = time.perf_counter()
    tiled = np.tile(images.numpy(), (len(schedule.levels), 1, 1, 1))
    raster = brian2_rasters(
        net, tiled, device, threads, perturbations=network_perturbations(schedule, net, seed)
    )[-1]
    seconds = time.perf_counter() - began
    if schedule.uses("deletion"):
        raster = delete_spikes(raster, schedule.per_window("deletion"), seed)
    clean = torch_rasters(net, images)[0]
    agreement = float(np.all(raster[:samples] == clean, axis=(1, 2)).mean())
    predictions = readout(net, raster).argmax(-1).reshape(len(schedule.levels), samples, 2)
    counts = raster.reshape(len(schedule.levels), samples, -1).sum(-1)
    levels = [
        {
            "kind": level.kind,
            "strength": level.strength,
            **{
                f"accuracy_{task}": float((predictions[k, :, t] == labels[:, t]).mean())
                for t, task in enumerate(TASKS)
            },
            "mean_spikes": float(counts[k].mean()),
        }
        for k, level in enumerate(schedule.levels)
    ]
    return {
        "net": net.spec.name,
        "seed": seed,
        "samples": samples,
        "device": device,
        "clean_spike_train_agreement": agreement,
        "membrane_scale": scales,
        "levels": levels,
        "brian2_seconds": seconds,
    }


# -- grid points (top-level functions: they run in worker processes) ---------------------


def _run_name(net: str, amplitude: float, seed: int) -> str:
    return f"{net}-A{amplitude:g}-seed{seed}"


def train_point(point: dict[str, Any], *, out: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Train one ``(net, amplitude, seed)`` (resuming its own checkpoint); test accuracy."""
    run = Path(out) / "runs" / _run_name(point["net"], point["amplitude"], point["seed"])
    config = TrainConfig(
        net=point["net"],
        dataset=settings["dataset"],
        epochs=settings["epochs"],
        subset=settings["subset"],
        test_subset=settings["test_subset"],
        seed=point["seed"],
        noise_amplitude=float(point["amplitude"]),
        device=settings["train_device"],
        data_root=settings["data_root"],
    )
    if point["amplitude"] > 0:
        # The paper's noise runs override the schedule: milestones [10, 20, 30].
        config = replace(config, milestones=(10, 20, 30))
    metrics = train(config, run, resume=(run / "checkpoint.pt").exists(), progress=False)
    last = metrics["epochs"][-1]
    return {
        "checkpoint": str(run / "checkpoint.pt"),
        "epochs": last["epoch"],
        **{f"accuracy_{task}": last[f"test_accuracy_{task}"] for task in TASKS},
        "train_seconds": sum(e["train_seconds"] for e in metrics["epochs"]),
    }


def perturb_point(point: dict[str, Any], *, out: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The perturbation curves of the noise-free network of ``(net, seed)``."""
    run = Path(out) / "runs" / _run_name(point["net"], 0.0, point["seed"])
    return perturbation_curves(
        run / "checkpoint.pt",
        settings["strengths"],
        samples=settings["samples"],
        seed=point["seed"],
        device=settings["device"],
        threads=settings["threads"],
    )


# -- the study -----------------------------------------------------------------------------


def run_robustness_study(
    out: str | Path,
    settings: RobustnessSettings,
    *,
    resume: bool = False,
    progress: bool = True,
    sweep: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run both grids into ``out`` and return the summary (also ``out/results.json``).

    ``sweep`` holds :func:`spikebridge.sweeps.run_sweep` options (engine, workers, address).
    """
    settings = settings.checked()
    out = Path(out)
    stored = out / "settings.json"
    if stored.exists():
        if not resume:
            raise InputError(
                f"{out} already holds a robustness study. Pass --resume to continue it, or "
                "choose another --out (nothing was overwritten)."
            )
        if json.loads(stored.read_text()) != json.loads(json.dumps(settings.to_dict())):
            raise InputError(
                f"{out} holds a study with other settings ({stored}); use another --out."
            )
    write_json(stored, settings.to_dict())
    began = time.perf_counter()
    options = {"workers": 1, **{k: v for k, v in (sweep or {}).items() if v is not None}}
    if settings.train_device.startswith("cuda"):
        options.setdefault("resources", {"num_gpus": 1})
    fixed = {"out": str(out), "settings": settings.to_dict()}
    training = run_sweep(
        train_point,
        {
            "net": list(settings.nets),
            "amplitude": list(settings.amplitudes),
            "seed": list(settings.seeds),
        },
        out / "sweeps" / "training",
        fixed=fixed,
        progress=progress,
        **options,
    )
    simulation = run_sweep(
        perturb_point,
        {"net": list(settings.nets), "seed": list(settings.seeds)},
        out / "sweeps" / "simulation",
        fixed=fixed,
        progress=progress,
        **options,
    )
    for sweep_result in (training, simulation):
        if not sweep_result.complete:
            raise InputError(
                f"The sweep in {sweep_result.out_dir} is incomplete; rerun with --resume."
            )
    results = summarise(
        settings,
        training.points,
        [r for r in training.results if r is not None],
        [r for r in simulation.results if r is not None],
    )
    results["seconds"] = time.perf_counter() - began
    write_json(out / "results.json", results)
    from ..report.robustness import write_robustness_report

    write_robustness_report(out, results)
    return results


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0}


def summarise(
    settings: RobustnessSettings,
    training_points: Sequence[Mapping[str, Any]],
    training_results: Sequence[Mapping[str, Any]],
    simulation_results: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Means and spreads over seeds of both parts (the shape of ``results.json``)."""
    training: dict[str, Any] = {}
    for net in settings.nets:
        training[net] = {}
        for amplitude in settings.amplitudes:
            rows = [
                r
                for p, r in zip(training_points, training_results, strict=True)
                if p["net"] == net and p["amplitude"] == amplitude
            ]
            training[net][f"{amplitude:g}"] = {
                task: _mean_std([r[f"accuracy_{task}"] for r in rows]) for task in TASKS
            } | {"seeds": len(rows), "epochs": rows[0]["epochs"] if rows else None}
    simulation: dict[str, Any] = {}
    agreement: dict[str, float] = {}
    for net in settings.nets:
        runs = [r for r in simulation_results if r["net"] == net]
        agreement[net] = min(r["clean_spike_train_agreement"] for r in runs)
        curves: dict[str, list[dict[str, Any]]] = {}
        for k, level in enumerate(runs[0]["levels"]):
            for kind in [level["kind"]] if level["kind"] != "none" else list(settings.strengths):
                entry = {"strength": level["strength"]}
                for task in TASKS:
                    entry[task] = _mean_std([r["levels"][k][f"accuracy_{task}"] for r in runs])
                entry["mean_spikes"] = _mean_std([r["levels"][k]["mean_spikes"] for r in runs])
                curves.setdefault(kind, []).append(entry)
        simulation[net] = curves
    training_rows = [
        {"net": p["net"], "amplitude": p["amplitude"], "seed": p["seed"]}
        | {task: r[f"accuracy_{task}"] for task in TASKS}
        for p, r in zip(training_points, training_results, strict=True)
    ]
    simulation_rows = [
        {"net": r["net"], "seed": r["seed"], "kind": kind, "strength": level["strength"]}
        | {task: level[f"accuracy_{task}"] for task in TASKS}
        for r in simulation_results
        for level in r["levels"]
        for kind in ([level["kind"]] if level["kind"] != "none" else list(settings.strengths))
    ]
    return {
        "settings": settings.to_dict(),
        "training_runs": training_rows,
        "simulation_runs": simulation_rows,
        "training_noise": training,
        "simulation": simulation,
        "clean_spike_train_agreement": agreement,
        "perturbations": dict(KINDS),
    }
