"""Report of the compute-cost study: ``report.md`` and seaborn figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure


def write_cost_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Write ``figures/operations.png`` (and ``figures/timing.png``) and ``report.md``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    save_figure(_operations(results), out / "figures" / "operations.png")
    if "timing" in results:
        save_figure(_timing(results["timing"]), out / "figures" / "timing.png")
    return write_text(out / "report.md", _markdown(results))


def _operations(results: dict[str, Any]) -> Any:
    rows = [
        {"net": name, "counter": counter, "M operations": row[key]}
        for name, row in results["models"].items()
        for counter, key in (("paper", "paper_ops_m"), ("corrected", "ops_m"))
    ]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(pd.DataFrame(rows), x="net", y="M operations", hue="counter", ax=ax)
    ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def _timing(timing: dict[str, Any]) -> Any:
    rows = [
        {"net": name, "phase": phase, "ms per batch": 1e3 * sample}
        for name, entry in timing["models"].items()
        for phase in ("inference", "train")
        for sample in entry[phase]["samples_s"]
    ]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(pd.DataFrame(rows), x="net", y="ms per batch", hue="phase", errorbar=None, ax=ax)
    ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=30)
    ax.set_title(f"batch {timing['batch']}, T = {timing['steps']}, {timing['threads']} threads")
    fig.tight_layout()
    return fig


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Compute cost",
        "",
        f"Operations per image over T = {results['steps']} steps ({results['unit']}); the "
        "paper's counter (`paper_ops_m`, its quirks included) and the corrected count "
        "(`ops_m`).",
        "",
        "| net | trainable params | paper M ops | M ops |",
        "|---|---:|---:|---:|",
    ]
    for name, row in results["models"].items():
        lines.append(
            f"| {name} | {row['params']:,} | {row['paper_ops_m']:.3f} | {row['ops_m']:.3f} |"
        )
    lines += ["", "Ratios:", ""]
    for body, ratios in results["ratios"].items():
        cells = ", ".join(f"{k} {v:.3f}" for k, v in ratios.items() if v is not None)
        lines.append(f"- {body}: {cells}")
    lines += ["", "![operations](figures/operations.png)", ""]
    if "timing" in results:
        timing = results["timing"]
        hw = timing["hardware"]
        lines += [
            "## Timing",
            "",
            f"{hw['platform']}; {hw['processor']}; {hw['cpu_count']} CPUs; torch {hw['torch']}, "
            f"{timing['threads']} threads; batch {timing['batch']}, T = {timing['steps']}; "
            f"median of {timing['repeats']} round-robin repeats after {timing['warmup']} "
            "warm-up.",
            "",
            "| net | inference (ms) | training step (ms) | spread (train) |",
            "|---|---:|---:|---:|",
        ]
        for name, entry in timing["models"].items():
            lines.append(
                f"| {name} | {1e3 * entry['inference']['median_s']:.1f} | "
                f"{1e3 * entry['train']['median_s']:.1f} | {entry['train']['spread']:.2f} |"
            )
        lines += ["", "HH / s-LIF2HH time ratios (medians):", ""]
        for body, ratio in timing["ratios"].items():
            cells = ", ".join(f"{k} {v:.2f}" for k, v in ratio.items() if v is not None)
            lines.append(f"- {body}: {cells}")
        lines += ["", "![timing](figures/timing.png)", ""]
    return "\n".join(lines) + "\n"
