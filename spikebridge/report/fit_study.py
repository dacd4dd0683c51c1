"""Report of a study-file equivalence study: ``report.md`` and seaborn figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
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
    ]
    return write_text(out / "report.md", "\n".join(lines))
