"""Report of the equivalence study: ``report.md`` and seaborn figures from ``results.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..io import write_text
from ..studies.generalisation import CHAINS
from ..studies.summary import MODELS, PAPER_MRE
from ..studies.waveforms import waveform
from .demo import save_figure

LABELS = {
    "hh": "HH",
    "fitted": "s-LIF2HH fitted (per waveform)",
    "fitted_shared": "s-LIF2HH fitted (shared)",
    "paper_constants": "s-LIF2HH paper constants",
    "lif": "LIF fitted",
    "lif_shared": "LIF fitted (shared)",
}


def write_equivalence_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Write the figures and ``report.md`` of a finished study into ``out``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    figures = out / "figures"
    save_figure(_traces(results), figures / "traces.png")
    save_figure(_rasters(results), figures / "rasters.png")
    save_figure(_f_i(results), figures / "f_i.png")
    save_figure(_errors(results), figures / "errors.png")
    save_figure(_generalisation(results), figures / "generalisation.png")
    return write_text(out / "report.md", _markdown(results))


def _traces(results: dict[str, Any]) -> Any:
    examples = results["example_traces"]
    fig, axes = plt.subplots(2, len(examples), figsize=(3 * len(examples), 4.2), sharex=True)
    for column, (name, example) in enumerate(examples.items()):
        t = np.arange(len(example["hh"])) * example["stride_ms"]
        axes[0, column].plot(t, waveform(name, t, level=example["level"]), lw=1)
        axes[0, column].set_title(f"{name} (level {example['level']:g})")
        axes[1, column].plot(t, example["hh"], lw=1.2, label="HH")
        axes[1, column].plot(t, example["tv_lif2hh"], "k--", lw=0.6, label="tv-LIF2HH")
        axes[1, column].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("input (uA/cm2)")
    axes[1, 0].set_ylabel("V (mV)")
    axes[1, 0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def _rasters(results: dict[str, Any]) -> Any:
    waveforms = results["waveforms"]
    fig, axes = plt.subplots(1, len(waveforms), figsize=(3 * len(waveforms), 3), sharey=True)
    palette = dict(zip(["hh", *MODELS], sns.color_palette("deep", 5), strict=True))
    for ax, (name, entry) in zip(np.atleast_1d(axes), waveforms.items(), strict=True):
        level_index = int(np.argmin(np.abs(np.asarray(entry["levels"]) - 1.0)))
        trains = entry["example_trains"]
        for row, key in enumerate(["hh", *MODELS]):
            times = trains[key][level_index]
            ax.vlines(times, row + 0.6, row + 1.4, color=palette[key], lw=1.2)
        ax.set_title(f"{name} (level {entry['levels'][level_index]:g}, held out)")
        ax.set_xlabel("time (ms)")
        ax.set_xlim(0, results["settings"]["duration_ms"])
    first = np.atleast_1d(axes)[0]
    first.set_yticks(
        range(1, 6), [LABELS[k].replace(" (", "\n(") for k in ["hh", *MODELS]], fontsize=6
    )
    fig.suptitle("Layer-2 spike trains of the two-layer chain")
    fig.tight_layout()
    return fig


def _f_i(results: dict[str, Any]) -> Any:
    f_i = results["f_i"]
    rows = [
        {
            "current (uA/cm2)": current,
            "rate (Hz)": count / (results["settings"]["duration_ms"] / 1e3),
            "model": LABELS[key],
        }
        for key in ["hh", *MODELS]
        for current, count in zip(f_i["current_uA_per_cm2"], f_i[key], strict=True)
    ]
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    sns.lineplot(
        pd.DataFrame(rows), x="current (uA/cm2)", y="rate (Hz)", hue="model", marker="o", ax=ax
    )
    ax.set_title("f-I curves (constant input, single units)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _errors(results: dict[str, Any]) -> Any:
    rows = []
    for name, entry in results["waveforms"].items():
        for key in MODELS:
            hh = np.asarray(entry["hh_counts"], dtype=float)
            model = np.asarray(entry["counts"][key], dtype=float)
            for error in np.abs(model - hh) / np.maximum(hh, 1):
                rows.append({"waveform": name, "model": LABELS[key], "relative count error": error})
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.barplot(
        pd.DataFrame(rows),
        x="waveform",
        y="relative count error",
        hue="model",
        errorbar="se",
        ax=ax,
    )
    for name, value in PAPER_MRE.items():
        position = list(results["waveforms"]).index(name) if name in results["waveforms"] else None
        if position is not None:
            ax.plot([position - 0.4, position + 0.4], [value, value], "k:", lw=1)
    ax.set_title(
        "Spike-count error on held-out levels (mean ± s.e.m.; dotted: paper's reported MRE)"
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _generalisation(results: dict[str, Any]) -> Any:
    """Spike-count error and coincidence factor per novel input family and chain (layer 2)."""
    rows = [
        {
            "family": family,
            "chain": LABELS[chain],
            "metric": label,
            "value": entry["layer2"][chain][key],
        }
        for family, entry in results["generalisation"].items()
        for chain in CHAINS
        for key, label in (
            ("spike_count_mre", "spike-count error"),
            ("coincidence_factor", "coincidence factor"),
        )
    ]
    frame = pd.DataFrame(rows)
    grid = sns.catplot(
        data=frame,
        x="family",
        y="value",
        hue="chain",
        col="metric",
        kind="bar",
        sharey=False,
        height=3,
        aspect=1.5,
    )
    grid.set_titles("{col_name} (inputs never fitted on, layer 2)")
    grid.set_axis_labels("", "")
    return grid.figure


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f} %" if percent else f"{value:.3g}"


def _markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    lines = [
        "# Equivalence study: HH vs tv-LIF2HH vs s-LIF2HH vs LIF",
        "",
        f"Engine {settings['engine']} ({settings['device']}), torch for comparison; "
        f"{settings['duration_ms']:g} ms, HH dt = {settings['hh_dt_ms']:g} ms; "
        f"ran in {results['seconds']} s.",
        "",
        "Protocol: each waveform (the paper's, scaled by an amplitude level) drives the paper's "
        "two-layer chain. Fits on levels "
        f"{', '.join(f'{x:g}' for x in settings['train_levels'])}; metrics on held-out levels "
        f"{', '.join(f'{x:g}' for x in settings['test_levels'])}. Optimiser: "
        f"{results['fits']['protocol']['optimiser']}.",
        "",
        "## Spike-count mean relative error (held-out levels, layer 2)",
        "",
        "| waveform | fitted | fitted (shared) | paper constants | LIF fitted | paper reported "
        "| tv-LIF2HH max ΔV (mV) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["waveforms"].items():
        mre = entry["spike_count_mre"]
        lines.append(
            f"| {name} | {_fmt(mre['fitted'], True)} | {_fmt(mre['fitted_shared'], True)} | "
            f"{_fmt(mre['paper_constants'], True)} | {_fmt(mre['lif'], True)} | "
            f"{_fmt(entry.get('paper_reported_mre'), True)} | {entry['tv_lif2hh_max_dv']:.2g} |"
        )
    lines += [
        "",
        "## Timing (held-out levels, layer 2)",
        "",
        "| waveform | model | coincidence factor | van Rossum (τ = 5 ms) "
        "| normalised spike-time error | ISI difference (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in results["waveforms"].items():
        for key in MODELS:
            lines.append(
                f"| {name} | {LABELS[key]} | {_fmt(entry['coincidence_factor'][key])} | "
                f"{_fmt(entry['van_rossum'][key])} | "
                f"{_fmt(entry['normalised_spike_time_error'][key])} | "
                f"{_fmt(entry['isi_difference_ms'][key])} |"
            )
    engines = results["engines"]
    lines += [
        "",
        "## Engines",
        "",
        f"Brian2 and torch: HH chain spike times identical in "
        f"{100 * engines['hh_chain_spike_times_equal']:.0f} % of "
        f"{engines['hh_chain_conditions_compared']} conditions x 2 layers compared; "
        "s-LIF2HH and LIF chains identical in "
        f"{100 * engines['units_and_lif_spike_times_equal']:.0f} % of trains.",
        "",
        "![traces](figures/traces.png)",
        "",
        "![rasters](figures/rasters.png)",
        "",
        "![f-I](figures/f_i.png)",
        "",
        "![errors](figures/errors.png)",
        "",
        *_generalisation_lines(results),
        "Fitted parameters: `fitted_parameters.json` (load with "
        "`spikebridge.studies.fitting.load_fit`).",
    ]
    return "\n".join(lines) + "\n"


def _generalisation_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Generalisation: inputs no fit has seen (layer 2)",
        "",
        "The shared fits (one parameter set for all waveforms) and the paper's constants on "
        "Ornstein-Uhlenbeck noise at two correlation times and on chirps "
        "(`spikebridge.studies.generalisation`); HH counts are the mean over conditions.",
        "",
        "| family | conditions | HH spikes | chain | spike-count error | coincidence factor "
        "| van Rossum (τ = 5 ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, entry in results["generalisation"].items():
        hh = float(np.mean(entry["layer2"]["hh_counts"]))
        for chain in CHAINS:
            m = entry["layer2"][chain]
            lines.append(
                f"| {family} | {entry['conditions']} | {hh:.1f} | {LABELS[chain]} | "
                f"{_fmt(m['spike_count_mre'], True)} | {_fmt(m['coincidence_factor'])} | "
                f"{_fmt(m['van_rossum'])} |"
            )
    return [*lines, "", "![generalisation](figures/generalisation.png)", ""]
