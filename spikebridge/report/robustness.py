"""Report of the robustness study: ``report.md`` and seaborn figures from ``results.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure


def write_robustness_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Write ``figures/training_noise.png``, ``figures/simulation.png`` and ``report.md``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    save_figure(_training_figure(results), out / "figures" / "training_noise.png")
    save_figure(_simulation_figure(results), out / "figures" / "simulation.png")
    return write_text(out / "report.md", _markdown(results))


def _mean_accuracy(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["accuracy"] = (frame["task1"] + frame["task2"]) / 2
    return frame


def _training_figure(results: dict[str, Any]) -> Any:
    frame = _mean_accuracy(results["training_runs"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    sns.barplot(frame, x="amplitude", y="accuracy", hue="net", errorbar="sd", ax=ax)
    ax.set_xlabel("noise pattern amplitude A (pixel units)")
    ax.set_ylabel("test accuracy (mean of tasks)")
    ax.set_title("retrained on noisy images (the paper's protocol)")
    fig.tight_layout()
    return fig


def _simulation_figure(results: dict[str, Any]) -> Any:
    frame = _mean_accuracy(results["simulation_runs"])
    kinds = list(dict.fromkeys(frame["kind"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3), sharey=True)
    for ax, kind in zip(np.atleast_1d(axes), kinds, strict=True):
        sns.lineplot(
            frame[frame["kind"] == kind],
            x="strength",
            y="accuracy",
            hue="net",
            marker="o",
            errorbar="sd",
            ax=ax,
        )
        ax.set_title(kind)
        ax.set_xlabel(results["perturbations"][kind], fontsize=6)
    np.atleast_1d(axes)[0].set_ylabel("accuracy in Brian2 (mean of tasks)")
    fig.tight_layout()
    return fig


def _pct(entry: dict[str, float]) -> str:
    return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f}"


def _markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    lines = [
        "# Robustness study",
        "",
        f"Dataset {settings['dataset']}; epochs {settings['epochs'] or 40}; training subset "
        f"{settings['subset'] or 'all'}; test subset {settings['test_subset'] or 'all'}; seeds "
        f"{', '.join(str(s) for s in settings['seeds'])}; Brian2 device {settings['device']}, "
        f"{settings['samples']} test composites per perturbation level. Values: accuracy in % "
        "(mean ± std over seeds), task 1 / task 2.",
        "",
        "## Retrained on noisy images (the paper's protocol)",
        "",
        "| net | " + " | ".join(f"A = {a:g}" for a in settings["amplitudes"]) + " |",
        "|---|" + "---|" * len(settings["amplitudes"]),
    ]
    for net, per_amplitude in results["training_noise"].items():
        cells = [f"{_pct(e['task1'])} / {_pct(e['task2'])}" for e in per_amplitude.values()]
        lines.append(f"| {net} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![training noise](figures/training_noise.png)",
        "",
        "## Perturbed in the Brian2 simulation",
        "",
        "The networks trained without noise, bridged into Brian2. Clean-level spike-train "
        "agreement with the torch network (fraction of samples with identical rasters): "
        + ", ".join(f"{n} {a:.3f}" for n, a in results["clean_spike_train_agreement"].items())
        + ".",
        "",
    ]
    for kind, meaning in results["perturbations"].items():
        if not any(kind in curves for curves in results["simulation"].values()):
            continue
        nets = list(results["simulation"])
        strengths = [e["strength"] for e in results["simulation"][nets[0]][kind]]
        lines += [
            f"### {kind}: {meaning}",
            "",
            "| net | " + " | ".join(f"{s:g}" for s in strengths) + " |",
            "|---|" + "---|" * len(strengths),
        ]
        for net in nets:
            cells = [
                f"{_pct(e['task1'])} / {_pct(e['task2'])}" for e in results["simulation"][net][kind]
            ]
            lines.append(f"| {net} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["![simulation perturbations](figures/simulation.png)", ""]
    lines.append(f"Ran in {results['seconds']:.0f} s.")
    return "\n".join(lines) + "\n"
