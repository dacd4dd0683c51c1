"""The Fit-DNN study: a deep network folded onto one delay element, trained and bridged.

A study file (``spikebridge/fitdnn/presets/*.toml``; :func:`load_fit_dnn_study`) sets the
network and training defaults and four parts, each optional:

``[classify]``
    Per data set and per N in ``nodes``: train in ``mode`` (default ``dde``, through the
    delay system itself), test accuracy per epoch, and the trained weights' accuracy in the
    other two modes.
``[agreement]``
    Per theta in ``thetas``: train in ``network`` mode (the paper's equivalent network) and
    run the same weights through the delay system (``dde``): arg-max agreement on the test
    set, mean |logit difference|, both accuracies. The equivalence holds only as theta
    grows; this measures how far it holds.
``[denoise]``
    The reference code's denoising task (pixel noise ``noise``, outputs clipped to [0, 1],
    test MSE per pixel).
``[bridge]``
    The classifier of N = ``nodes`` run in Brian2 (one delay element per sample,
    :mod:`spikebridge.fitdnn.brian_delay`) on ``samples`` test images: prediction agreement
    with the torch ``dde`` mode, both accuracies, max |logit difference|.

Every training run keeps an atomic per-epoch checkpoint under ``out/runs/``, the bridge its
result in ``out/bridge.json``; ``resume`` continues an interrupted study.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomllib
import torch

from ..data.sources import MissingDataError, load_split
from ..errors import InputError
from ..fitdnn.config import FitDNNConfig
from ..fitdnn.folded import MODES
from ..fitdnn.training import (
    ImageData,
    TrainConfig,
    denoising_test_noise,
    evaluate,
    train_fitdnn,
)
from ..io import write_json

FIT_DNN_PRESETS = Path(__file__).resolve().parent.parent / "fitdnn" / "presets"
DATASETS = ("fashion-mnist", "mnist")
_PARTS = ("classify", "agreement", "denoise", "bridge")


@dataclass(frozen=True)
class FitDNNStudy:
    name: str
    datasets: tuple[str, ...] = ("fashion-mnist",)
    train_samples: int | None = None  # a prefix of the training split (None: all)
    test_samples: int | None = None
    network: FitDNNConfig = field(default_factory=FitDNNConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    classify: Mapping[str, Any] | None = None
    agreement: Mapping[str, Any] | None = None
    denoise: Mapping[str, Any] | None = None
    bridge: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in self.datasets:
            if name not in DATASETS:
                raise InputError(f"Fit-DNN study: unknown data set '{name}'; use {DATASETS}.")
        if self.bridge is not None and self.classify is None:
            raise InputError("Fit-DNN study: [bridge] validates a [classify] network; add one.")
        if self.bridge is not None and self.bridge["nodes"] not in self.classify_nodes:
            raise InputError(
                f"Fit-DNN study: [bridge] nodes = {self.bridge['nodes']} is not among the "
                f"[classify] nodes {list(self.classify_nodes)}."
            )

    @property
    def classify_nodes(self) -> tuple[int, ...]:
        return tuple(self.classify["nodes"]) if self.classify else ()

    def quick(self) -> FitDNNStudy:
        """A smoke size of this study (CI, tutorials): 2,000 training and 500 test images,
        N <= 32, 8 integration steps per node, 2 epochs at lr 5e-3 and batch 32 (on so few
        images the paper's 1e-3 barely moves in 2 epochs), 16 images bridged."""
        network = replace(self.network, substeps=8, loops=min(self.network.loops, 15))

        def part(p: Mapping[str, Any] | None, **changes: Any) -> dict[str, Any] | None:
            return None if p is None else {**p, **changes}

        return replace(
            self,
            name=f"{self.name}-quick",
            train_samples=2000,
            test_samples=500,
            network=network,
            training=replace(self.training, epochs=2, lr=5e-3, batch=32),
            classify=part(self.classify, nodes=[16, 32]),
            agreement=part(self.agreement, nodes=16, thetas=[0.5, 4.0], epochs=2),
            denoise=part(self.denoise, nodes=16, epochs=1),
            bridge=part(self.bridge, nodes=16, samples=16),
        )

    def settings(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datasets": list(self.datasets),
            "train_samples": self.train_samples,
            "test_samples": self.test_samples,
            "network": self.network.to_dict(),
            "training": asdict(self.training),
            **{p: dict(getattr(self, p)) if getattr(self, p) else None for p in _PARTS},
        }


def fit_dnn_preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FIT_DNN_PRESETS.glob("*.toml")))


def load_fit_dnn_study(path: str | Path) -> FitDNNStudy:
    """Read a Fit-DNN study file (TOML), or a preset by name."""
    path = Path(path)
    if not path.is_file() and str(path) in fit_dnn_preset_names():
        path = FIT_DNN_PRESETS / f"{path}.toml"
    if not path.is_file():
        raise InputError(
            f"No Fit-DNN study file '{path}'; the presets are: {', '.join(fit_dnn_preset_names())}."
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Fit-DNN study file '{path}' is not valid TOML: {exc}.") from None
    return fit_dnn_study_from_dict(data, str(path))


_PART_KEYS = {
    "classify": {"nodes", "mode", "epochs"},
    "agreement": {"nodes", "thetas", "epochs"},
    "denoise": {"nodes", "epochs", "noise", "mode"},
    "bridge": {"nodes", "samples", "device", "threads"},
}
_PART_REQUIRED = {
    "classify": {"nodes"},
    "agreement": {"nodes", "thetas"},
    "denoise": {"nodes"},
    "bridge": {"nodes", "samples"},
}


def fit_dnn_study_from_dict(data: Mapping[str, Any], where: str = "Fit-DNN study") -> FitDNNStudy:
    sections = {"study", "network", "training", *_PARTS}
    unknown = set(data) - sections
    if unknown:
        raise InputError(f"{where}: unknown sections {sorted(unknown)}; use {sorted(sections)}.")
    study = dict(data.get("study", {}))
    name = study.pop("name", Path(where).stem)
    allowed = {"datasets", "train_samples", "test_samples"}
    if set(study) - allowed:
        raise InputError(f"{where} [study]: unknown keys {sorted(set(study) - allowed)}.")
    if "datasets" in study:
        study["datasets"] = tuple(study["datasets"])
    try:
        network = FitDNNConfig(**data.get("network", {}))
        training = TrainConfig(**data.get("training", {}))
    except TypeError as exc:
        raise InputError(f"{where} [network] or [training]: {exc}.") from None
    parts: dict[str, Any] = {}
    for part in _PARTS:
        if part not in data:
            continue
        values = dict(data[part])
        bad = set(values) - _PART_KEYS[part]
        missing = _PART_REQUIRED[part] - set(values)
        if bad or missing:
            raise InputError(
                f"{where} [{part}]: unknown keys {sorted(bad)}, missing {sorted(missing)}; "
                f"allowed: {sorted(_PART_KEYS[part])}."
            )
        if values.get("mode", "dde") not in MODES:
            raise InputError(f"{where} [{part}]: mode must be one of {MODES}.")
        parts[part] = values
    return FitDNNStudy(name=name, network=network, training=training, **study, **parts)


# -- running -------------------------------------------------------------------------------------
def _data(study: FitDNNStudy, dataset: str) -> ImageData:
    train = load_split(dataset, "train")
    test = load_split(dataset, "test")
    n, m = study.train_samples, study.test_samples
    return ImageData.from_arrays((train[0][:n], train[1][:n]), (test[0][:m], test[1][:m]))


def _train(
    out: Path,
    run: str,
    network: FitDNNConfig,
    training: TrainConfig,
    data: ImageData,
    progress: bool,
    log: Callable[[str], None],
) -> tuple[Any, dict[str, Any]]:
    began = time.perf_counter()

    def report(record: Mapping[str, float]) -> None:
        if progress:
            metric = {k: v for k, v in record.items() if k.startswith("test_")}
            log(f"{run} epoch {record['epoch']}: {metric} ({record['seconds']:.1f} s)")

    model, result = train_fitdnn(
        network,
        training,
        data,
        checkpoint=out / "runs" / f"{run}.pt",
        resume=True,
        on_epoch=report,
    )
    entry = result.to_dict()
    entry["train_seconds"] = sum(h["seconds"] for h in result.history)
    entry["wall_seconds_this_run"] = time.perf_counter() - began
    return model, entry


def run_fit_dnn_study(
    out: str | Path,
    study: FitDNNStudy,
    *,
    progress: bool = True,
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``study`` into ``out``: ``results.json``, ``report.md``, ``figures/``."""
    from ..fitdnn.brian_delay import run_in_brian2
    from ..report.fit_dnn import write_fit_dnn_report

    out = Path(out)
    if not resume and (out / "runs").exists():
        raise InputError(
            f"'{out}' already holds a Fit-DNN study; pass --resume (resume=True) to continue "
            "it, or give another --out folder."
        )
    results: dict[str, Any] = {"settings": study.settings(), "classify": {}}
    fashion: ImageData | None = None
    for dataset in study.datasets:
        try:
            data = _data(study, dataset)
        except MissingDataError as exc:
            results["classify"][dataset] = {"skipped": str(exc)}
            log(f"{dataset}: skipped ({exc})")
            continue
        if dataset == "fashion-mnist":
            fashion = data
        if study.classify is None:
            continue
        runs: dict[str, Any] = {}
        models = {}
        for nodes in study.classify_nodes:
            network = replace(study.network, nodes=nodes)
            training = replace(
                study.training,
                mode=study.classify.get("mode", study.training.mode),
                epochs=study.classify.get("epochs", study.training.epochs),
            )
            run = f"{dataset}-classify-N{nodes}"
            model, entry = _train(out, run, network, training, data, progress, log)
            entry["accuracy_by_mode"] = {m: evaluate(model, data, training, m) for m in MODES}
            runs[str(nodes)] = entry
            models[nodes] = model
        results["classify"][dataset] = runs
        if study.bridge is not None and dataset == study.datasets[0]:
            results["bridge"] = _bridge(
                out, study, models[study.bridge["nodes"]], data, run_in_brian2, resume
            )
    if fashion is None and (study.agreement or study.denoise):
        raise InputError("The [agreement] and [denoise] parts use Fashion-MNIST; it is missing.")
    if study.agreement is not None:
        assert fashion is not None
        results["agreement"] = _agreement(study, out, fashion, progress, log)
    if study.denoise is not None:
        assert fashion is not None
        d = study.denoise
        network = replace(study.network, nodes=d["nodes"], outputs=fashion.train_x.shape[1])
        training = replace(
            study.training,
            task="denoise",
            mode=d.get("mode", "network"),
            epochs=d.get("epochs", 10),
            noise=d.get("noise", 1.0),
            input_noise=0.0,
        )
        _, entry = _train(out, "denoise", network, training, fashion, progress, log)
        clean, noise = fashion.test_x, training.noise
        noisy = (clean + denoising_test_noise(fashion, noise, training.seed)).clamp(0, 1)
        entry["noisy_input_mse"] = float(((noisy - clean) ** 2).mean())
        entry["mean_image_mse"] = float(((fashion.train_x.mean(0) - clean) ** 2).mean())
        results["denoise"] = entry
    write_json(out / "results.json", results)
    write_fit_dnn_report(out, results)
    return results


def _agreement(
    study: FitDNNStudy, out: Path, data: ImageData, progress: bool, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    assert study.agreement is not None
    a = study.agreement
    rows = []
    for theta in a["thetas"]:
        network = replace(study.network, nodes=a["nodes"], theta=float(theta))
        training = replace(
            study.training, mode="network", epochs=a.get("epochs", study.training.epochs)
        )
        run = f"agreement-theta{theta:g}"
        model, entry = _train(out, run, network, training, data, progress, log)
        with torch.no_grad():
            net_logits = torch.cat([model(x, "network") for x in data.test_x.split(1000)])
            dde_logits = torch.cat([model(x, "dde") for x in data.test_x.split(1000)])
        rows.append(
            {
                "theta": float(theta),
                "nodes": a["nodes"],
                "trained_in": "network",
                "accuracy_network": float((net_logits.argmax(1) == data.test_y).float().mean()),
                "accuracy_dde": float((dde_logits.argmax(1) == data.test_y).float().mean()),
                "agreement": float((net_logits.argmax(1) == dde_logits.argmax(1)).float().mean()),
                "mean_abs_logit_difference": float((net_logits - dde_logits).abs().mean()),
                "train_seconds": entry["train_seconds"],
            }
        )
    return rows


def _bridge(
    out: Path,
    study: FitDNNStudy,
    model: Any,
    data: ImageData,
    run_in_brian2: Callable[..., Any],
    resume: bool,
) -> dict[str, Any]:
    assert study.bridge is not None
    b = study.bridge
    path = out / "bridge.json"
    settings = {"nodes": b["nodes"], "samples": b["samples"], "device": b.get("device")}
    if resume and path.is_file():
        import json

        saved = json.loads(path.read_text())
        if saved.get("settings") == settings:
            return dict(saved)
    x, y = data.test_x[: b["samples"]], data.test_y[: b["samples"]]
    model = model.double()
    torch_logits = model(x.double(), "dde").detach().numpy()
    run = run_in_brian2(
        model,
        x.double(),
        device=b.get("device", "cpp_standalone"),
        threads=b.get("threads", 0),
    )
    model.float()
    brian_pred, torch_pred = run.logits.argmax(1), torch_logits.argmax(1)
    entry = {
        "settings": settings,
        "samples": len(y),
        "agreement": float(np.mean(brian_pred == torch_pred)),
        "brian2_accuracy": float(np.mean(brian_pred == y.numpy())),
        "torch_accuracy": float(np.mean(torch_pred == y.numpy())),
        "max_abs_logit_difference": float(np.abs(run.logits - torch_logits).max()),
        "brian2_seconds": run.wall_seconds,
    }
    write_json(path, entry)
    return entry
