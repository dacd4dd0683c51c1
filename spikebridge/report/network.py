"""Outputs of ``spikebridge network run``: spikes, rates and a raster figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..io import write_atomic, write_json
from ..network.result import NetworkResult
from .demo import save_figure


def summary(result: NetworkResult) -> dict[str, Any]:
    """Rates, spike counts and timings of a run (JSON-ready)."""
    populations = {}
    for key, rows in result.spikes.items():
        pop, _, event = key.partition(".")
        populations[key] = {
            "population": pop,
            "event": event,
            "neurons": result.sizes[pop],
            "spikes": len(rows),
            "rate_hz": result.rate(pop, event),
        }
    return {
        "network": result.network,
        "engine": result.engine,
        "dtype": result.dtype,
        "dt_ms": result.dt * 1e3,
        "n_steps": result.n_steps,
        "duration_ms": result.n_steps * result.dt * 1e3,
        "trials": result.trials,
        "events": populations,
        "loop_seconds": list(result.loop_seconds),
        "metadata": dict(result.metadata),
    }


def raster_figure(result: NetworkResult, trial: int = 0, limit: int = 200) -> Any:
    """Spike raster of one trial: up to ``limit`` neurons per population, stacked."""
    sns.set_theme(context="paper", style="white")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    offset = 0
    palette = sns.color_palette("deep", len(result.spikes))
    ticks, labels = [], []
    for colour, (key, rows) in zip(palette, result.spikes.items(), strict=False):
        pop = key.partition(".")[0]
        shown = min(result.sizes[pop], limit)
        mine = rows[(rows[:, 0] == trial) & (rows[:, 2] < shown)]
        ax.scatter(
            mine[:, 1] * result.dt * 1e3,
            mine[:, 2] + offset,
            s=1.5,
            color=colour,
            label=f"{key} ({result.rate(*key.split('.', 1)):.1f} Hz)",
        )
        ticks.append(offset + shown / 2)
        labels.append(key)
        offset += shown
    ax.set_xlim(0, result.n_steps * result.dt * 1e3)
    ax.set_ylim(-1, max(offset, 1))
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{result.network} on {result.engine} ({result.dtype})")
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    fig.tight_layout()
    return fig


def write_run(out: str | Path, result: NetworkResult) -> dict[str, Path]:
    """``spikes.npz`` (rows per event), ``result.json`` and ``raster.png`` in ``out``."""
    out = Path(out)
    arrays = {key: np.asarray(rows) for key, rows in result.spikes.items()}

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]

    paths = {
        "spikes": write_atomic(out / "spikes.npz", write),
        "result": write_json(out / "result.json", summary(result)),
        "raster": out / "raster.png",
    }
    save_figure(raster_figure(result), paths["raster"])
    return paths
