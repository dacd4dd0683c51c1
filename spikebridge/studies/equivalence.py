"""The equivalence study: HH vs tv-LIF2HH vs s-LIF2HH vs LIF under the paper's waveforms.

Protocol (the paper's Fig. 3d, made into a reusable study):

1. Conditions: the five waveforms at amplitude levels (scalings of the paper's waveform),
   split into training and held-out levels.
2. HH references: the paper's two-layer HH chain (rest-0 HH, Euler, dt = 0.001 ms, 80 ms),
   and tv-LIF2HH (the same constants) against HH1's voltage.
3. Fits (torch engine, scipy differential evolution; see :mod:`.fitting`): the s-LIF2HH unit
   per waveform (``fitted``) and one set for all waveforms (``fitted_shared``), and the LIF
   baseline per waveform and for all waveforms, each on the training levels of the layer-2
   output.
4. Evaluation on Brian2 (``cpp_standalone`` by default) and on torch: every chain on every
   condition; metrics on the held-out levels.
5. Generalisation (:mod:`.generalisation`): the shared fits and the paper's constants on
   input families no fit sees (OU noise at two correlation times, chirps).

Every stage is cached in ``out/cache`` (atomic writes, keyed by the study settings), so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..io import write_json
from .chains import (
    PAPER_W,
    TORCH,
    ChainResult,
    Engine,
    hh_chain,
    lif_chain,
    spike_times,
    tv_lif2hh_rest0,
    unit_chain,
)
from .fitting import FitResult, as_quantities, fit, paper_value, save_fit, with_units
from .generalisation import run_generalisation, summarise_generalisation
from .summary import Condition, summarise
from .waveforms import WAVEFORMS, bin_means, waveform

#: Part of every cache key: bump it when a stage's procedure changes.
STUDY_VERSION = 6
#: Amplitude levels 0.8, 0.85, ..., 2.0: the full study holds out 0.9, 1.1, ..., 1.9 and
#: trains on the others.
LEVEL_GRID: tuple[float, ...] = tuple(round(0.8 + 0.05 * k, 2) for k in range(25))


@dataclass(frozen=True)
class Settings:
    """Study settings; ``quick`` ones finish in a few minutes on 2 cores."""

    train_levels: tuple[float, ...]
    test_levels: tuple[float, ...]
    popsize: int
    maxiter: int
    torch_hh_levels: tuple[float, ...]  # levels whose HH chain is also run on torch
    duration_ms: float = 80.0
    hh_dt_ms: float = 0.001
    seed: int = 0
    restarts: int = 1  # optimiser runs per fit (seeds seed, seed + 1, ...); lowest loss kept
    waveforms: tuple[str, ...] = WAVEFORMS
    engine: str = "brian2"
    device: str = "cpp_standalone"
    #: seeds of the noise inputs of the generalisation stage (:mod:`.generalisation`)
    novel_seeds: tuple[int, ...] = (1, 2, 3)

    @staticmethod
    def quick(**overrides: Any) -> Settings:
        """The ``--quick`` settings; any field can be overridden."""
        base = Settings(
            train_levels=(0.8, 1.2, 1.6, 2.0),
            test_levels=(1.0, 1.4, 1.8),
            popsize=10,
            maxiter=40,
            torch_hh_levels=(1.0,),
        )
        return replace(base, **overrides)

    @staticmethod
    def full(**overrides: Any) -> Settings:
        """The full study's settings; any field can be overridden."""
        test_levels = (0.9, 1.1, 1.3, 1.5, 1.7, 1.9)
        base = Settings(
            train_levels=tuple(level for level in LEVEL_GRID if level not in test_levels),
            test_levels=test_levels,
            popsize=20,
            maxiter=150,
            torch_hh_levels=(0.9, 1.0, 1.5),
            restarts=2,
            novel_seeds=tuple(range(1, 11)),
        )
        return replace(base, **overrides)

    def key(self) -> str:
        """Cache key: the settings and the study's version (bumped when its procedure changes)."""
        text = json.dumps({"version": STUDY_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def conditions(settings: Settings) -> list[Condition]:
    return [
        Condition(w, level, split)
        for w in settings.waveforms
        for split, levels in (("train", settings.train_levels), ("test", settings.test_levels))
        for level in levels
    ]


def inputs(settings: Settings, conds: list[Condition]) -> tuple[np.ndarray, np.ndarray]:
    """HH-resolution inputs ``(steps, C)`` and their 1-ms bin means ``(80, C)``, uA/cm2."""
    steps = round(settings.duration_ms / settings.hh_dt_ms)
    t = np.arange(steps) * settings.hh_dt_ms
    x = np.stack([waveform(c.waveform, t, level=c.level) for c in conds], axis=1)
    return x, bin_means(x.T, round(1.0 / settings.hh_dt_ms)).T


@dataclass
class Cache:
    """JSON stage results in ``folder``, valid for one settings key."""

    folder: Path
    key: str
    hits: list[str] = field(default_factory=list)

    def get(self, stage: str, compute: Callable[[], Any]) -> Any:
        path = self.folder / f"{stage}.json"
        if path.exists():
            stored = json.loads(path.read_text())
            if stored.get("key") == self.key:
                self.hits.append(stage)
                return stored["value"]
        value = compute()
        write_json(path, {"key": self.key, "value": value})
        return value


def _trains(result: ChainResult) -> dict[str, list[list[float]]]:
    return {
        "layer1": [t.tolist() for t in result.layer1],
        "layer2": [t.tolist() for t in result.layer2],
    }


def run_study(out: str | Path, settings: Settings) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; write ``results.json`` and the fitted parameters."""
    out = Path(out)
    started = time.time()
    cache = Cache(out / "cache", settings.key())
    conds = conditions(settings)
    x, x_bins = inputs(settings, conds)
    engine = Engine(settings.engine, settings.device)
    steps = tqdm(total=7, desc="equivalence", unit="stage")

    def hh_stage() -> dict[str, Any]:
        result = hh_chain(x, engine, settings.hh_dt_ms)
        tv = tv_lif2hh_rest0(x, engine, settings.hh_dt_ms)
        assert result.membrane1 is not None
        dv = np.abs(tv.traces["v"] - result.membrane1).max(axis=0) * 1e3
        tv_trains = spike_times(tv)
        return {
            **_trains(result),
            "tv_lif2hh_max_dv_mV": dv.tolist(),
            "tv_lif2hh_spikes_equal": [
                bool(np.array_equal(a, b)) for a, b in zip(tv_trains, result.layer1, strict=True)
            ],
            "example_v_mV": _examples(conds, result.membrane1, tv.traces["v"], settings),
        }

    hh = cache.get("hh", hh_stage)
    steps.update()

    def torch_hh_stage() -> dict[str, Any]:
        chosen = [i for i, c in enumerate(conds) if c.level in settings.torch_hh_levels]
        if settings.engine == "torch":  # the references already ran on torch
            return {
                "conditions": chosen,
                **{k: [hh[k][i] for i in chosen] for k in ("layer1", "layer2")},
            }
        result = hh_chain(x[:, chosen], TORCH, settings.hh_dt_ms)
        return {"conditions": chosen, **_trains(result)}

    torch_hh = cache.get("torch_hh", torch_hh_stage)
    steps.update()

    def fit_stage() -> dict[str, Any]:
        return _fits(settings, conds, x_bins, hh, out)

    fits = cache.get("fits", fit_stage)
    steps.update()

    def evaluate(run_engine: Engine) -> dict[str, Any]:
        return _evaluate(conds, x_bins, fits, run_engine)

    evaluation = cache.get(f"evaluation_{settings.engine}", lambda: evaluate(engine))
    steps.update()
    torch_evaluation = (
        evaluation
        if settings.engine == "torch"
        else cache.get("evaluation_torch", lambda: evaluate(TORCH))
    )
    steps.update()
    novel = cache.get(
        f"generalisation_{settings.engine}",
        lambda: run_generalisation(
            fits, settings.novel_seeds, settings.duration_ms, settings.hh_dt_ms, engine
        ),
    )
    steps.update()
    results = summarise(asdict(settings), conds, hh, torch_hh, evaluation, torch_evaluation, fits)
    results["generalisation"] = summarise_generalisation(novel, settings.duration_ms)
    results["seconds"] = round(time.time() - started, 1)
    results["cached_stages"] = cache.hits
    write_json(out / "results.json", results)
    steps.update()
    steps.close()
    return results


def _examples(
    conds: list[Condition], hh_v: np.ndarray, tv_v: np.ndarray, settings: Settings
) -> dict[str, Any]:
    """Level-closest-to-1 voltage traces per waveform, every 20th sample, for the figures."""
    examples: dict[str, Any] = {}
    for w in settings.waveforms:
        index = min(
            (i for i, c in enumerate(conds) if c.waveform == w),
            key=lambda i: abs(conds[i].level - 1.0),
        )
        examples[w] = {
            "level": conds[index].level,
            "hh": (hh_v[::20, index] * 1e3).round(4).tolist(),
            "tv_lif2hh": (tv_v[::20, index] * 1e3).round(4).tolist(),
            "stride_ms": 20 * settings.hh_dt_ms,
        }
    return examples


def _fits(
    settings: Settings,
    conds: list[Condition],
    x_bins: np.ndarray,
    hh: dict[str, Any],
    out: Path,
) -> dict[str, Any]:
    train = [i for i, c in enumerate(conds) if c.split == "train"]
    layer1 = [np.asarray(t) for t in hh["layer1"]]
    layer2 = [np.asarray(t) for t in hh["layer2"]]
    jobs: list[tuple[str, str, list[int]]] = []
    for w in settings.waveforms:
        chosen = [i for i in train if conds[i].waveform == w]
        jobs += [("s_lif2hh", w, chosen), ("lif", w, chosen)]
    jobs += [("s_lif2hh", "shared", train), ("lif", "shared", train)]
    results: dict[str, dict[str, FitResult]] = {"s_lif2hh": {}, "lif": {}}
    for model, key, chosen in tqdm(jobs, desc="fits", unit="fit", leave=False):
        results[model][key] = fit(
            model,
            x_bins[:, chosen],
            [layer1[i] for i in chosen],
            [layer2[i] for i in chosen],
            duration=settings.duration_ms,
            popsize=settings.popsize,
            maxiter=settings.maxiter,
            seed=settings.seed,
            restarts=settings.restarts,
        )
    last_seed = settings.seed + settings.restarts - 1
    protocol = {
        "target": "both layers of the two-layer chain vs HH1 and HH2 (the paper's Fig. 3d chain)",
        "train_levels": list(settings.train_levels),
        "test_levels": list(settings.test_levels),
        "optimiser": f"scipy differential_evolution(popsize={settings.popsize}, "
        f"maxiter={settings.maxiter}, seed={settings.seed}, init='sobol'), best of "
        f"{settings.restarts} run(s) (seeds {settings.seed}-{last_seed}) by training loss",
        "loss": "mean |N - N_HH| / max(N_HH, 1) + 0.05 mean (1 - coincidence factor)",
    }
    save_fit(out / "fitted_parameters.json", results, protocol)
    fitted: dict[str, Any] = {
        model: {key: asdict(result) for key, result in by_key.items()}
        for model, by_key in results.items()
    }
    return {**fitted, "protocol": protocol}


def _evaluate(
    conds: list[Condition], x_bins: np.ndarray, fits: dict[str, Any], engine: Engine
) -> dict[str, Any]:
    """Every chain on every condition, with the paper's constants and the fitted ones."""
    per_waveform = [
        as_quantities("s_lif2hh", fits["s_lif2hh"][c.waveform]["values"]) for c in conds
    ]
    shared = as_quantities("s_lif2hh", fits["s_lif2hh"]["shared"]["values"])
    lif = [as_quantities("lif", fits["lif"][c.waveform]["values"]) for c in conds]
    n = len(conds)
    names = list(per_waveform[0][0])
    units = {
        name: np.concatenate(
            [
                _values([p[name] for p, _ in per_waveform]),
                _values([shared[0][name]] * n),
                _values([paper_value(name)] * n),
            ]
        )
        for name in names
    }
    unit_w = np.concatenate([[w for _, w in per_waveform], [shared[1]] * n, [PAPER_W] * n])
    unit_result = unit_chain(np.tile(x_bins, (1, 3)), with_units("s_lif2hh", units), unit_w, engine)
    lif_values = {name: _values([p[name] for p, _ in lif]) for name in lif[0][0]}
    lif_result = lif_chain(
        x_bins, with_units("lif", lif_values), np.array([w for _, w in lif]), engine
    )
    blocks = {
        "fitted": slice(0, n),
        "fitted_shared": slice(n, 2 * n),
        "paper_constants": slice(2 * n, 3 * n),
    }
    out = {
        key: {
            "layer1": [t.tolist() for t in unit_result.layer1[s]],
            "layer2": [t.tolist() for t in unit_result.layer2[s]],
        }
        for key, s in blocks.items()
    }
    out["lif"] = _trains(lif_result)
    return out


def _values(quantities: list[Any]) -> np.ndarray:
    return np.array([float(np.asarray(q)) for q in quantities])
