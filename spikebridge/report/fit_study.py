"""Report of a study-file equivalence study: ``report.md`` and seaborn figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure

METRICS = ("spike_count_error", "gamma_factor", "coincidence_factor", "van_rossum")


def write_fit_study_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Figures (metrics per input family and split, the fits' loss against the budget) and
    ``report.md`` of a finished study in ``out``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    conditions = results["conditions"]
    rows = [
        {
            "candidate": name,
            "family": f"{conditions[i]['entry']}:{conditions[i]['family']}",
            "split": conditions[i]["split"],
            **row,
        }
        for name, entry in results["candidates"].items()
        for i, row in enumerate(entry["per_condition"])
    ]
    data = pd.DataFrame(rows)
    long = data.melt(
        id_vars=["candidate", "family", "split"], value_vars=list(METRICS), var_name="metric"
    )
    grid = sns.catplot(
        data=long,
        x="family",
        y="value",
        hue="candidate",
        col="metric",
        row="split",
        kind="bar",
        errorbar="sd",
        sharey=False,
        height=2.6,
        aspect=1.2,
    )
    grid.set_titles("{row_name}: {col_name}")
    save_figure(grid.figure, out / "figures" / "metrics.png")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, entry in results["candidates"].items():
        trace = pd.DataFrame(entry["fit"]["best_loss_by_candidates"])
        ax.plot(trace["seconds"], trace["loss"], label=name)
    ax.set(xlabel="fit wall time (s)", ylabel="best training loss", yscale="symlog")
    ax.legend()
    save_figure(fig, out / "figures" / "fit_progress.png")
    save_figure(_rasters(results), out / "figures" / "rasters.png")
    save_figure(_traces(results), out / "figures" / "traces.png")
    save_figure(_f_i(results), out / "figures" / "f_i.png")

    lines = [
        f"# Equivalence study: {results['study'].get('study', {}).get('name', 'study')}",
        "",
        f"Reference `{results['reference']['model']}`; inputs sampled every "
        f"{results['settings']['input_dt_ms']:g} ms at the {results['settings']['sample']} of "
        "each step (`start`: Brian2's convention, the input of step k is I(t_k); `end`: the "
        "paper's MATLAB code, I(t_(k+1))); reference and evaluation on "
        f"{results['settings']['engine']} ({results['settings']['device']}), fits batched on "
        f"torch with {results['settings']['optimiser']['method']}.",
        "",
        "| candidate | fitted parameters | training loss | candidates | simulated neurons | "
        "fit seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in results["candidates"].items():
        fit = entry["fit"]
        shown = ", ".join(f"{k} = {v}" for k, v in fit["shown"].items())
        budget = fit["budget"]
        lines.append(
            f"| {name} | {shown} | {fit['loss']:.4f} | {budget['candidates']} | "
            f"{budget['simulated_neurons']} | {budget['seconds']:.1f} |"
        )
    lines += [
        "",
        "| candidate | inputs | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for name, entry in results["candidates"].items():
        for group, values in sorted(entry["summary"].items()):
            cells = " | ".join(f"{values[m]:.3f}" for m in METRICS)
            lines.append(f"| {name} | {group} ({values['conditions']}) | {cells} |")
    lines += [
        "",
        "![metrics](figures/metrics.png)",
        "",
        "![fit progress](figures/fit_progress.png)",
        "",
        "Held-out spike trains (reference and fitted candidates), membrane traces on one "
        "held-out input per entry, and f-I curves (spike counts under constant currents):",
        "",
        "![rasters](figures/rasters.png)",
        "",
        "![traces](figures/traces.png)",
        "",
        "![f-I](figures/f_i.png)",
        "",
    ]
    return write_text(out / "report.md", "\n".join(lines))


def _names(results: dict[str, Any]) -> list[str]:
    return ["reference", *results["candidates"]]


def _rasters(results: dict[str, Any]) -> Any:
    """Held-out conditions top to bottom; per condition one row per model."""
    held_out = [i for i, c in enumerate(results["conditions"]) if c["split"] == "test"]
    names = _names(results)
    trains = {
        "reference": results["reference"]["trains"],
        **{name: entry["trains"] for name, entry in results["candidates"].items()},
    }
    palette = dict(zip(names, sns.color_palette("deep", len(names)), strict=True))
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(held_out) * len(names) + 1.2))
    row = 0.0
    ticks: list[float] = []
    labels: list[str] = []
    for i in held_out:
        condition = results["conditions"][i]
        for name in names:
            times = trains[name][i]
            ax.vlines(times, row + 0.1, row + 0.9, color=palette[name], lw=1)
            row += 1
        ticks.append(row - len(names) / 2)
        labels.append(f"{condition['entry']}:{condition['family']} s{condition['seed']}")
        row += 0.5
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    handles = [plt.Line2D([], [], color=palette[n], lw=2) for n in names]
    ax.legend(handles, names, fontsize=7, loc="upper right")
    ax.set_title("held-out spike trains")
    fig.tight_layout()
    return fig


def _traces(results: dict[str, Any]) -> Any:
    examples = results["examples"]
    count = len(examples["conditions"])
    fig, axes = plt.subplots(2, count, figsize=(3.6 * count, 4.2), sharex="col", squeeze=False)
    for column, label in enumerate(examples["labels"]):
        values = np.asarray(examples["input"]["values"][column])
        t = np.arange(len(values)) * examples["input"]["stride_ms"]
        axes[0, column].plot(t, values, lw=0.8, color="0.3")
        axes[0, column].set_title(label, fontsize=8)
        for name, trace in examples["membrane"].items():
            v = np.asarray(trace["values"][column])
            axes[1, column].plot(
                np.arange(len(v)) * trace["stride_ms"], v, lw=0.8, label=f"{name} ({trace['unit']})"
            )
        axes[1, column].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("membrane")
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _f_i(results: dict[str, Any]) -> Any:
    curves = results["f_i"]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, counts in curves["counts"].items():
        ax.plot(curves["current"], counts, marker="o", ms=3, label=name)
    ax.set(xlabel="constant current (study units)", ylabel="spikes per run", title="f-I")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
