"""Report of the complexity-probe study: ``report.md`` and seaborn figures.

``figures/auc_vs_depth.png``: test spike AUC per depth and teacher (each depth's student
with the best validation AUC, the curve functional depth is read from; the paper's 1-unit
linear student also as a dashed line); ``figures/soma_ev_vs_depth.png``: the soma's
explained variance of the same students; ``figures/calibration.png``: output rate against
weight gain for the calibrated teachers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure


def write_probe_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Write the figures and ``report.md`` of ``results`` into ``out``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    rows = _rows(results)
    save_figure(_by_depth(rows, "spike AUC", results), out / "figures" / "auc_vs_depth.png")
    save_figure(_by_depth(rows, "soma EV (%)", results), out / "figures" / "soma_ev_vs_depth.png")
    calibrated = {n: t for n, t in results["teachers"].items() if t["calibration"]}
    if calibrated:
        save_figure(_calibration(calibrated), out / "figures" / "calibration.png")
    return write_text(out / "report.md", _markdown(results, bool(calibrated)))


def _rows(results: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "teacher": teacher,
                "student": name,
                "depth": fit["spec"]["depth"],
                "linear": fit["spec"]["linear"],
                "chosen": entry["student_by_depth"][str(fit["spec"]["depth"])] == name,
                "spike AUC": fit["test"]["spike_auc"],
                "soma EV (%)": fit["test"]["soma_ev_percent"],
            }
            for teacher, entry in results["teachers"].items()
            for name, fit in entry["students"].items()
        ]
    )


def _by_depth(rows: pd.DataFrame, metric: str, results: dict[str, Any]) -> Any:
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    sweep = rows[rows["chosen"]]
    sns.lineplot(sweep, x="depth", y=metric, hue="teacher", marker="o", ax=ax)
    palette = dict(zip(sweep["teacher"].unique(), sns.color_palette(), strict=False))
    for _, row in rows[rows["linear"]].iterrows():
        ax.axhline(row[metric], ls="--", lw=1, color=palette.get(row["teacher"], "grey"))
    ax.set_xticks(sorted(sweep["depth"].unique()))
    ax.set_xlabel("TCN depth (layers)")
    ax.set_title(f"{metric} on held-out simulations (dashed: 1-unit linear)")
    fig.tight_layout()
    return fig


def _calibration(teachers: dict[str, Any]) -> Any:
    rows = [
        {"teacher": name, "gain": g, "rate (Hz)": r}
        for name, entry in teachers.items()
        for g, r in zip(
            entry["calibration"]["gains"], entry["calibration"]["rates_hz"], strict=True
        )
    ]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    sns.lineplot(pd.DataFrame(rows), x="gain", y="rate (Hz)", hue="teacher", marker="o", ax=ax)
    ax.set_xscale("log")
    for entry in teachers.values():
        ax.axhline(entry["calibration"]["target_hz"], ls=":", color="grey")
    fig.tight_layout()
    return fig


def _markdown(results: dict[str, Any], calibrated: bool) -> str:
    s = results["settings"]
    lines = [
        f"# Complexity probe: {s['name']}",
        "",
        f"{s['train']} training, {s['valid']} validation and {s['test']} test simulations of "
        f"{s['duration_ms']} ms per teacher ({s['inputs']['n_exc']} excitatory + "
        f"{s['inputs']['n_inh']} inhibitory inputs, seed {s['seed']}); metrics on the test "
        f"simulations from {s['student_config']['burn_in_ms']} ms on. Functional depth D*: the "
        f"smallest depth within {s['tolerance']} AUC of the best depth.",
        "",
        "| teacher | rate (Hz) | gain | student | params | steps (best) | spike AUC | soma EV (%) "
        "| soma RMSE (mV) | fit (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["teachers"].items():
        for student, fit in entry["students"].items():
            t = fit["test"]
            lines.append(
                f"| {name} | {entry['output_rate_hz']:.2f} | {entry['teacher']['gain']:.3g} "
                f"| {student} | {fit['parameters']:,} | {fit['steps']} ({fit['best_step']}) "
                f"| {t['spike_auc']:.4f} | {t['soma_ev_percent']:.1f} | "
                f"{t['soma_rmse_mv']:.2f} | {fit['fit_seconds']:.0f} |"
            )
    lines += [
        "",
        "Per depth, the student with the best validation AUC:",
        "",
        "| teacher | test spike AUC by depth (student) | D* |",
        "|---|---|---|",
    ]
    for name, entry in results["teachers"].items():
        curve = ", ".join(
            f"{d}: {a:.4f} ({entry['student_by_depth'][d]})"
            for d, a in entry["auc_by_depth"].items()
        )
        lines.append(f"| {name} | {curve} | {entry['functional_depth']} |")
    if results["comparisons"]:
        lines += [
            "",
            "| teachers | max AUC difference | same D* | equivalent |",
            "|---|---|---|---|",
        ]
        for c in results["comparisons"]:
            lines.append(
                f"| {' vs '.join(c['teachers'])} | {c['max_auc_difference']:.4f} "
                f"(threshold {c['threshold']}) | {c['same_functional_depth']} | "
                f"{c['equivalent']} |"
            )
    lines += ["", "![AUC vs depth](figures/auc_vs_depth.png)", ""]
    lines += ["![soma EV vs depth](figures/soma_ev_vs_depth.png)", ""]
    if calibrated:
        lines += ["![calibration](figures/calibration.png)", ""]
    return "\n".join(lines)
