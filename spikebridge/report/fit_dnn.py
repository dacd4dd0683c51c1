"""Report of the Fit-DNN study: ``report.md`` and seaborn figures.

``figures/accuracy_vs_nodes.png``: test accuracy against N per data set, in the training
mode and with the same weights in the other modes; ``figures/accuracy_by_epoch.png``: test
accuracy per epoch and N; ``figures/agreement_vs_theta.png``: network-trained weights in the
delay system, arg-max agreement and both accuracies against theta.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure


def write_fit_dnn_report(out: str | Path, results: dict[str, Any]) -> Path:
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    figures = []
    trained = {d: runs for d, runs in results["classify"].items() if "skipped" not in runs}
    if trained:
        save_figure(_accuracy_vs_nodes(trained), out / "figures" / "accuracy_vs_nodes.png")
        save_figure(_by_epoch(trained), out / "figures" / "accuracy_by_epoch.png")
        figures += ["accuracy_vs_nodes", "accuracy_by_epoch"]
    if results.get("agreement"):
        save_figure(_agreement(results["agreement"]), out / "figures" / "agreement_vs_theta.png")
        figures.append("agreement_vs_theta")
    return write_text(out / "report.md", _markdown(results, figures))


def _accuracy_vs_nodes(trained: dict[str, Any]) -> Any:
    rows = [
        {"data set": d, "N": int(n), "mode": m, "test accuracy (%)": 100 * acc}
        for d, runs in trained.items()
        for n, run in runs.items()
        for m, acc in run["accuracy_by_mode"].items()
    ]
    grid = sns.relplot(
        data=pd.DataFrame(rows), x="N", y="test accuracy (%)", hue="mode", col="data set",
        kind="line", marker="o", height=3.2, aspect=1.2,
    )  # fmt: skip
    grid.set(xscale="log")
    for ax in grid.axes.flat:
        _log_ticks(ax, sorted({r["N"] for r in rows}))
    return grid.figure


def _log_ticks(ax: Any, values: list[float]) -> None:
    """Ticks at the measured values only (matplotlib's minor log labels overlap)."""
    ax.minorticks_off()
    ax.set_xticks(values)
    ax.set_xticklabels([f"{v:g}" for v in values])


def _by_epoch(trained: dict[str, Any]) -> Any:
    rows = [
        {
            "data set": d,
            "N": str(n),
            "epoch": h["epoch"],
            "test accuracy (%)": 100 * h["test_accuracy"],
        }
        for d, runs in trained.items()
        for n, run in runs.items()
        for h in run["history"]
    ]
    grid = sns.relplot(
        data=pd.DataFrame(rows), x="epoch", y="test accuracy (%)", hue="N", col="data set",
        kind="line", height=3.2, aspect=1.2,
    )  # fmt: skip
    return grid.figure


def _agreement(rows: list[dict[str, Any]]) -> Any:
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    ax.plot(frame["theta"], 100 * frame["agreement"], "o-", label="dde vs network predictions")
    ax.plot(frame["theta"], 100 * frame["accuracy_network"], "s--", label="accuracy, network")
    ax.plot(frame["theta"], 100 * frame["accuracy_dde"], "^--", label="accuracy, dde")
    ax.set_xscale("log")
    _log_ticks(ax, list(frame["theta"]))
    ax.set_xlabel("node separation theta (element time units)")
    ax.set_ylabel("%")
    ax.set_title("network-trained weights in the delay system")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _markdown(results: dict[str, Any], figures: list[str]) -> str:
    s = results["settings"]
    net, tr = s["network"], s["training"]
    lines = [
        f"# Fit-DNN: {s['name']}",
        "",
        f"One delay element, L = {net['layers']} hidden layers of N nodes, D = {net['loops']} "
        f"delay loops ({net['diagonal_choice']} diagonals, seed {net['seed']}), theta = "
        f"{net['theta']}, {net['substeps']} integration steps per node (element "
        f"'{net['element']}'). Training: Adam lr {tr['lr']} ({tr['schedule']}), batch "
        f"{tr['batch']}, input noise {tr['input_noise']}; "
        f"{s['train_samples'] or 'all'} training and {s['test_samples'] or 'all'} test images.",
        "",
    ]
    for dataset, runs in results["classify"].items():
        if "skipped" in runs:
            lines += [f"**{dataset}**: skipped: {runs['skipped']}", ""]
            continue
        lines += [
            f"## Classification: {dataset}",
            "",
            "| N | trained in | epochs | test accuracy (%) | same weights: dde / network / "
            "decoupled (%) | train time (s) |",
            "|---|---|---|---|---|---|",
        ]
        for n, run in runs.items():
            acc = run["accuracy_by_mode"]
            mode = run["training"]["mode"]
            lines.append(
                f"| {n} | {mode} | {run['training']['epochs']} | {100 * acc[mode]:.2f} | "
                f"{100 * acc['dde']:.2f} / {100 * acc['network']:.2f} / "
                f"{100 * acc['decoupled']:.2f} | {run['train_seconds']:.0f} |"
            )
        lines.append("")
    if results.get("agreement"):
        lines += [
            "## The equivalent network and the delay system",
            "",
            "Trained in `network` mode, run through the delay system (`dde`):",
            "",
            "| theta | accuracy network (%) | accuracy dde (%) | prediction agreement (%) | "
            "mean abs logit difference |",
            "|---|---|---|---|---|",
        ]
        for r in results["agreement"]:
            lines.append(
                f"| {r['theta']:g} | {100 * r['accuracy_network']:.2f} | "
                f"{100 * r['accuracy_dde']:.2f} | {100 * r['agreement']:.2f} | "
                f"{r['mean_abs_logit_difference']:.3f} |"
            )
        lines.append("")
    if results.get("denoise"):
        d = results["denoise"]
        lines += [
            "## Denoising",
            "",
            f"Pixel noise N(0, {d['training']['noise']}), {d['training']['epochs']} epochs in "
            f"`{d['training']['mode']}` mode, N = {d['network']['nodes']}: test MSE per pixel "
            f"**{d['history'][-1]['test_mse']:.4f}** (noisy input clipped to [0, 1]: "
            f"{d['noisy_input_mse']:.4f}; the training mean image: {d['mean_image_mse']:.4f}).",
            "",
        ]
    if results.get("bridge"):
        b = results["bridge"]
        lines += [
            "## Bridge: the trained classifier in Brian2",
            "",
            f"N = {b['settings']['nodes']}, {b['samples']} test images, one Brian2 delay element "
            f"per image ({b['settings']['device']}): prediction agreement with the torch `dde` "
            f"mode **{100 * b['agreement']:.2f} %**, accuracy Brian2 "
            f"{100 * b['brian2_accuracy']:.2f} % vs torch {100 * b['torch_accuracy']:.2f} %, max "
            f"|logit difference| {b['max_abs_logit_difference']:.2e}, Brian2 run "
            f"{b['brian2_seconds']:.1f} s.",
            "",
        ]
    lines += [f"![{name}](figures/{name}.png)\n" for name in figures]
    return "\n".join(lines)
