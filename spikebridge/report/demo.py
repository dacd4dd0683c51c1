"""The main job: every model on both engines under one input, with a parity table and figures.

For every model in ``equations/`` and its declared method, :func:`write_demo_report`
runs the parity stimulus (:func:`spikebridge.parity.parity_inputs`) on Brian2
(``cpp_standalone`` by default) and on the generated torch step in float64 and float32,
checks the tv-LIF2HH identity against HH over the paper's 80 ms, and writes
``results.json``, ``report.md`` and seaborn figures into the output folder. Every file
is written atomically.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import seaborn as sns
from brian2 import second
from tqdm import tqdm

from .. import __version__
from ..identity import tv_lif2hh_vs_hh
from ..io import write_atomic, write_json, write_text
from ..model import NeuronModel, list_models, load_model
from ..parity import parity_run
from ..results import SimulationResult
from ..tolerances import TOLERANCES

DTYPES = ("float64", "float32")


def write_demo_report(
    out: str | Path = "reports",
    *,
    device: str = "cpp_standalone",
    models: list[str] | None = None,
    identity_ms: float = 80.0,
) -> dict[str, Any]:
    """Run the demo study and write ``out/results.json``, ``out/report.md`` and ``out/figures/``."""
    out = Path(out)
    figures = out / "figures"
    sns.set_theme(context="paper", style="whitegrid")
    started = time.time()
    names = models or list_models()
    rows: list[dict[str, Any]] = []
    for name in tqdm(names, desc="models", unit="model"):
        model = load_model(name)
        for dtype in DTYPES:
            report, brian, torch_result = parity_run(model, dtype=dtype, device=device)
            rows.append(report.to_dict())
            if dtype == "float64":
                save_figure(_trace_figure(model, brian, torch_result), figures / f"{name}.png")
    identity, hh, tv = tv_lif2hh_vs_hh(duration=identity_ms * 1e-3 * second, device=device)
    save_figure(_identity_figure(hh, tv), figures / "tv_lif2hh_vs_hh.png")
    save_figure(_parity_figure(rows), figures / "parity.png")
    results = {
        "spikebridge": __version__,
        "device": device,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "seconds": round(time.time() - started, 1),
        "parity": rows,
        "tv_lif2hh_vs_hh": identity.to_dict(),
    }
    write_json(out / "results.json", results)
    write_text(out / "report.md", _markdown(results))
    return results


def save_figure(fig: Any, path: Path) -> None:
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))
    plt.close(fig)


def _trace_figure(
    model: NeuronModel, brian: SimulationResult, torch_result: SimulationResult
) -> Any:
    scale = model.membrane_scale
    unit = model.membrane_unit_name
    fig, axes = plt.subplots(
        2, 1, figsize=(7, 4.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    t_ms = brian.t * 1e3
    palette = sns.color_palette("viridis", brian.n)
    var = model.membrane[-1]
    for j in range(brian.n):
        axes[0].plot(t_ms, brian.traces[var][:, j] / scale, color=palette[j], lw=1.4)
        axes[0].plot(t_ms, torch_result.traces[var][:, j] / scale, color="k", lw=0.6, ls="--")
    axes[0].set_ylabel(f"{var} ({unit})")
    axes[0].set_title(
        f"{model.name} ({brian.method}): Brian2 {brian.engine.split(':')[1]} "
        "(colour) vs torch (dashed)"
    )
    for k, event in enumerate(model.event_names):
        for engine, result, marker in (("Brian2", brian, "|"), ("torch", torch_result, "x")):
            rows = result.spikes[event]
            offset = 0.15 if engine == "torch" else -0.15
            axes[1].scatter(
                rows[:, 0] * result.dt * 1e3,
                rows[:, 1] + offset + 0.05 * k,
                marker=marker,
                s=12,
                color="k" if engine == "torch" else palette[-1],
                label=engine if k == 0 else None,
            )
    axes[1].set_ylabel("neuron")
    axes[1].set_xlabel("time (ms)")
    axes[1].legend(loc="upper right", fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def _identity_figure(hh: SimulationResult, tv: SimulationResult) -> Any:
    fig, axes = plt.subplots(2, 1, figsize=(7, 4.2), sharex=True)
    t_ms = hh.t * 1e3
    axes[0].plot(t_ms, hh.traces["v"][:, 0] * 1e3, lw=1.6, label="HH")
    axes[0].plot(t_ms, tv.traces["v"][:, 0] * 1e3, lw=0.8, ls="--", color="k", label="tv-LIF2HH")
    axes[0].set_ylabel("V (mV)")
    axes[0].legend(loc="upper right", fontsize=7)
    axes[0].set_title(f"tv-LIF2HH vs HH ({hh.method}, dt = {hh.dt * 1e3:g} ms)")
    axes[1].plot(t_ms, (tv.traces["v"][:, 0] - hh.traces["v"][:, 0]) * 1e3, lw=0.8)
    axes[1].set_ylabel("ΔV (mV)")
    axes[1].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def _parity_figure(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["relative deviation"] = frame["max_abs_v"] / frame["membrane_range"].clip(lower=1.0)
    frame["relative deviation"] = frame["relative deviation"].clip(lower=1e-17)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(frame, x="model", y="relative deviation", hue="dtype", ax=ax)
    ax.set_yscale("log")
    for dtype, ls in (("float64", ":"), ("float32", "--")):
        ax.axhline(TOLERANCES[dtype].membrane_rtol, color="gray", ls=ls, lw=0.8)
    ax.set_ylabel("max |ΔV| / range")
    ax.set_title("Brian2 vs torch: largest membrane deviation (lines: tolerance)")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# spikebridge: one model definition, two engines",
        "",
        f"spikebridge {results['spikebridge']}, Brian2 device `{results['device']}`, "
        f"{results['platform']}, Python {results['python']}; ran in {results['seconds']} s.",
        "",
        "Every model of `equations/` with its declared method, 4 neurons under the parity "
        "stimulus (the model's example input, scaled 0.6x to 1.5x per neuron and modulated "
        "by 25 % in time), simulated by Brian2 code generation and by the torch step "
        "generated from Brian2's own state-update code.",
        "",
        "## Parity table",
        "",
        "| model | method | dtype | steps | max abs ΔV | unit | spikes Brian2 | spikes torch "
        "| spike steps equal | max shift | within tolerance |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["parity"]:
        lines.append(
            f"| {row['model']} | {row['method']} | {row['dtype']} | {row['n_steps']} | "
            f"{row['max_abs_v']:.3g} | {row['membrane_unit']} | {row['spikes_brian2']} | "
            f"{row['spikes_torch']} | {row['spike_steps_equal']} | {row['max_spike_shift']} | "
            f"{row['within_tolerance']} |"
        )
    identity = results["tv_lif2hh_vs_hh"]
    lines += [
        "",
        "![parity](figures/parity.png)",
        "",
        "## tv-LIF2HH reproduces HH",
        "",
        f"Constant input {identity['input_uA_per_cm2']:g} uA/cm2, {identity['method']}, dt = "
        f"{identity['dt_ms']:g} ms, {identity['duration_ms']:g} ms: max |V_tvLIF2HH - V_HH| = "
        f"**{identity['max_abs_dv_mV']:.3g} mV**; spike steps equal: "
        f"{identity['spike_steps_equal']} ({len(identity['spikes_hh'])} spikes).",
        "",
        "![identity](figures/tv_lif2hh_vs_hh.png)",
        "",
        "## Traces",
        "",
    ]
    seen: set[str] = set()
    for row in results["parity"]:
        if row["model"] not in seen:
            seen.add(row["model"])
            lines += [
                f"### {row['model']}",
                "",
                f"![{row['model']}](figures/{row['model']}.png)",
                "",
            ]
    return "\n".join(lines) + "\n"


def summary(results: dict[str, Any]) -> str:
    """One line per parity row, for the terminal."""
    return (
        "\n".join(
            f"{r['model']:<12} {r['method']:<18} {r['dtype']}  max|dV|={r['max_abs_v']:.2e} "
            f"{r['membrane_unit']:<3} spikes {r['spikes_brian2']}/{r['spikes_torch']} "
            f"equal={r['spike_steps_equal']}"
            for r in results["parity"]
        )
        + f"\ntv_lif2hh vs hh: max|dV| = {results['tv_lif2hh_vs_hh']['max_abs_dv_mV']:.2e} mV"
    )
