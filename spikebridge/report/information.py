"""Report of the information study: ``report.md`` and seaborn figures from its results.

The bounds (bits; :mod:`spikebridge.studies.information` derives them)::

    I(X;Z)   <= E_x KL(N(mu, sigma^2) || N(0, I)) / ln 2
    I(Z;Y)   >= log2 10 - (CE_1 + CE_2) / ln 2          the paper's combined form
    I(Z;Y_k) >= log2 10 - CE_k / ln 2                   per task

The paper's qualitative claims (Fig. 5d) are checked on the measured numbers: I(X;Z) of HH
close to LIF's and well below s-LIF2HH's; I(Z;Y) of HH close to s-LIF2HH's and above LIF's.
"Close to A, not B" is read as |HH - A| < |HH - B|.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..io import write_text
from .demo import save_figure

ORDER = ("lif", "hh", "s-lif2hh")


def write_information_report(out: str | Path, results: dict[str, Any]) -> Path:
    """Write ``figures/information_plane.png``, ``figures/curves.png`` and ``report.md``."""
    out = Path(out)
    sns.set_theme(context="paper", style="whitegrid")
    figures = out / "figures"
    save_figure(_plane(results), figures / "information_plane.png")
    save_figure(_curves(results), figures / "curves.png")
    return write_text(out / "report.md", _markdown(results))


def _encoders(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    entries: dict[str, dict[str, Any]] = results["encoders"]
    names = [n for n in ORDER if n in entries] + [n for n in entries if n not in ORDER]
    return [(name, entries[name]) for name in names]


def _palette(results: dict[str, Any]) -> dict[str, Any]:
    labels = [entry["label"] for _, entry in _encoders(results)]
    return dict(zip(labels, sns.color_palette("deep", len(labels)), strict=True))


def history_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per encoder, epoch and split (train/test): the per-epoch values."""
    samples = results["settings"]["samples"]
    rows = []
    for _, entry in _encoders(results):
        for record in entry["history"]:
            for split in ("train", "test"):
                values = record[split]
                rows.append(
                    {
                        "encoder": entry["label"],
                        "epoch": record["epoch"],
                        "split": split,
                        "I(X;Z) (bits)": values["I_XZ_bits"],
                        "I(Z;Y) paper (bits)": values["I_ZY_bits"],
                        "I(Z;Y1) (bits)": values["I_ZY_task1_bits"],
                        "I(Z;Y2) (bits)": values["I_ZY_task2_bits"],
                        "accuracy": values.get(
                            f"accuracy_{samples}",
                            (values["accuracy_1_task1"] + values["accuracy_1_task2"]) / 2,
                        ),
                    }
                )
    return pd.DataFrame(rows)


def _plane(results: dict[str, Any]) -> Any:
    palette = _palette(results)
    frame = history_frame(results)
    test = frame[frame["split"] == "test"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    sns.lineplot(
        test,
        x="I(X;Z) (bits)",
        y="I(Z;Y) paper (bits)",
        hue="encoder",
        palette=palette,
        sort=False,
        estimator=None,
        marker=".",
        alpha=0.45,
        legend=False,
        ax=axes[0],
    )
    for _, entry in _encoders(results):
        colour = palette[entry["label"]]
        axes[0].scatter(
            entry["I_XZ_bits"],
            entry["I_ZY_bits"],
            s=90,
            color=colour,
            edgecolor="black",
            zorder=3,
            label=f"{entry['label']} (epoch {entry['best_epoch']})",
        )
        for task, marker in ((1, "o"), (2, "s")):
            axes[1].scatter(
                entry["I_XZ_bits"],
                entry[f"I_ZY_task{task}_bits"],
                s=70,
                marker=marker,
                color=colour,
                edgecolor="black",
                label=f"{entry['label']} task {task}",
            )
    axes[0].set_title("paper's bound: log2 10 - (CE1 + CE2)/ln 2\n(line: test epochs, dot: best)")
    axes[0].set_xlabel("I(X;Z) upper bound (bits)")
    axes[0].set_ylabel("I(Z;Y) lower bound (bits)")
    axes[0].legend(fontsize=7)
    axes[1].set_title("per-task bounds: log2 10 - CE_k/ln 2 (best epoch)")
    axes[1].set_xlabel("I(X;Z) upper bound (bits)")
    axes[1].set_ylabel("I(Z;Y_k) lower bound (bits)")
    axes[1].legend(fontsize=7)
    fig.suptitle("Information plane of the spiking encoders (test set, EMA weights)")
    fig.tight_layout()
    return fig


def _curves(results: dict[str, Any]) -> Any:
    palette = _palette(results)
    frame = history_frame(results)
    samples = results["settings"]["samples"]
    panels = (
        ("I(X;Z) (bits)", "I(X;Z) upper bound"),
        ("I(Z;Y) paper (bits)", "I(Z;Y) lower bound (paper's form)"),
        ("accuracy", f"accuracy (test: {samples}-sample; train: 1-sample)"),
        ("I(Z;Y2) (bits)", "I(Z;Y_2) lower bound (task 2)"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
    for ax, (column, title) in zip(axes.flat, panels, strict=True):
        sns.lineplot(
            frame,
            x="epoch",
            y=column,
            hue="encoder",
            style="split",
            palette=palette,
            marker="o",
            markersize=3,
            ax=ax,
        )
        ax.set_title(title)
        if ax is not axes.flat[0]:
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
    fig.tight_layout()
    return fig


def paper_claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's two qualitative claims, evaluated on the measured values (all 3 encoders)."""
    entries = results["encoders"]
    if not all(name in entries for name in ORDER):
        return []
    lif, hh, slif = (entries[name] for name in ORDER)
    xz = {name: entries[name]["I_XZ_bits"] for name in ORDER}
    zy = {name: entries[name]["I_ZY_bits"] for name in ORDER}
    below = hh["I_XZ_bits"] < slif["I_XZ_bits"]
    closer_lif = abs(xz["hh"] - xz["lif"]) < abs(xz["hh"] - xz["s-lif2hh"])
    above = hh["I_ZY_bits"] > lif["I_ZY_bits"]
    closer_slif = abs(zy["hh"] - zy["s-lif2hh"]) < abs(zy["hh"] - zy["lif"])
    return [
        {
            "claim": "I(X;Z) of HH is close to LIF's and well below s-LIF2HH's",
            "measured": (
                f"HH {xz['hh']:.2f}, LIF {xz['lif']:.2f}, s-LIF2HH {xz['s-lif2hh']:.2f} bits: "
                f"HH {'below' if below else 'not below'} s-LIF2HH "
                f"(by {xz['s-lif2hh'] - xz['hh']:+.2f}); |HH - LIF| = "
                f"{abs(xz['hh'] - xz['lif']):.2f} vs |HH - s-LIF2HH| = "
                f"{abs(xz['hh'] - xz['s-lif2hh']):.2f}"
            ),
            "holds": bool(below and closer_lif),
        },
        {
            "claim": "I(Z;Y) of HH is close to s-LIF2HH's and above LIF's",
            "measured": (
                f"HH {zy['hh']:.3f}, s-LIF2HH {zy['s-lif2hh']:.3f}, LIF {zy['lif']:.3f} bits: "
                f"HH {'above' if above else 'not above'} LIF "
                f"(by {zy['hh'] - zy['lif']:+.3f}); |HH - s-LIF2HH| = "
                f"{abs(zy['hh'] - zy['s-lif2hh']):.3f} vs |HH - LIF| = "
                f"{abs(zy['hh'] - zy['lif']):.3f}"
            ),
            "holds": bool(above and closer_slif),
        },
    ]


def _markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    samples = settings["samples"]
    lines = [
        "# Information analysis of spiking encoders (the paper's Fig. 5d)",
        "",
        f"Data set `{settings['dataset']}`, {results['train_samples']:,} training / "
        f"{results['test_samples']:,} test composites; {settings['epochs']} epochs, batch "
        f"{settings['batch_size']}, seed {settings['seed']}, T = {settings['steps']}, "
        f"K = {settings['k']}, Adam lr {settings['lr']:g} betas {tuple(settings['betas'])}, "
        f"ExponentialLR {settings['gamma']} every {settings['gamma_every']} epochs, EMA "
        f"{settings['ema_decay']}" + (" (quick setting)." if settings.get("quick") else "."),
        "",
        f"Values from the test epoch with the best {samples}-sample accuracy (mean of the two "
        "tasks), EMA weights, one draw of Z per test image for CE and KL. "
        "`I(X;Z)`: upper bound E KL(N(mu, sigma^2) || N(0, I)) / ln 2. `I(Z;Y)`: the paper's "
        "lower bound log2 10 - (CE_1 + CE_2)/ln 2 (both tasks' CE from one log2 10; equal to "
        "I(Z;Y_1) + I(Z;Y_2) - log2 10). `I(Z;Y_k)`: the per-task bound log2 10 - CE_k/ln 2. "
        "± is the standard error over test images (not over seeds: one seed). "
        "*EMA init. share*: decay^steps, the weight the EMA copy still gives the initial "
        "weights at the reported epoch (large in short runs: the tested copy lags training).",
        "",
        f"| encoder | model | features | best epoch / run | I(X;Z) bits | I(Z;Y) bits (paper) "
        f"| I(Z;Y_1) bits | I(Z;Y_2) bits | acc task 1 / 2 ({samples}-sample) | EMA init. share "
        "| s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, e in _encoders(results):
        lines.append(
            f"| {e['label']} | `{e['model']}` | {e['features']} | {e['best_epoch']} / "
            f"{e['epochs']} | {e['I_XZ_bits']:.2f} ± {e['I_XZ_sem_bits']:.2f} | "
            f"{e['I_ZY_bits']:.3f} ± {e['I_ZY_sem_bits']:.3f} | {e['I_ZY_task1_bits']:.3f} | "
            f"{e['I_ZY_task2_bits']:.3f} | {e[f'accuracy_{samples}_task1']:.3f} / "
            f"{e[f'accuracy_{samples}_task2']:.3f} | {e['ema_initial_weight']:.2f} | "
            f"{e['seconds']:.1f} |"
        )
    lagging = [(n, e) for n, e in _encoders(results) if "last_epoch_trained_weights" in e]
    if lagging:
        lines += [
            "",
            "Last epoch, the EMA copy (the paper's test weights) beside the trained weights "
            "(a diagnostic: the EMA copy lags training by about 1/(1 - decay) steps, so short "
            "runs test weights close to the initial ones):",
            "",
            f"| encoder | epoch | weights | I(X;Z) bits | I(Z;Y) bits (paper) | I(Z;Y_1) | "
            f"I(Z;Y_2) | accuracy ({samples}-sample) | spike rate |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, e in lagging:
            for kind, values in (
                ("EMA", e["history"][-1]["test"]),
                ("trained", e["last_epoch_trained_weights"]),
            ):
                lines.append(
                    f"| {e['label']} | {e['epochs']} | {kind} | {values['I_XZ_bits']:.2f} | "
                    f"{values['I_ZY_bits']:.3f} | {values['I_ZY_task1_bits']:.3f} | "
                    f"{values['I_ZY_task2_bits']:.3f} | {values[f'accuracy_{samples}']:.3f} | "
                    f"{values.get('spike_rate', float('nan')):.3f} |"
                )
    lines += ["", "## The paper's claims, as measured", ""]
    claims = paper_claims(results)
    if not claims:
        lines.append("Not evaluated: they compare all three encoders (lif, hh, s-lif2hh).")
    for claim in claims:
        verdict = "holds" if claim["holds"] else "does not hold"
        lines.append(f"* **{claim['claim']}**: {verdict} here. {claim['measured']}.")
    if claims:
        lines += [
            "",
            "One seed and the settings above; differences smaller than a few standard errors, "
            "or runs much shorter than the paper's 200 epochs, do not settle a claim.",
        ]
    lines += ["", "## Encoders", ""]
    for _, e in _encoders(results):
        rate = e.get("spike_rate")
        lines.append(
            f"* {e['label']}: {e['setup']}; {e['trainable_parameters']:,} trainable parameters"
            + ("." if rate is None else f"; test spike rate {rate:.3f} per train per step.")
        )
    lines += ["", "## Deviations from the paper's run", ""]
    lines += [f"* {note}" for note in results["deviations"]]
    hw = results["hardware"]
    lines += [
        "",
        "## Hardware",
        "",
        f"{hw['platform']}; {hw['processor']}; {hw['cpu_count']} CPUs, torch threads "
        f"{hw['torch_threads']}; device {hw['device']}"
        + (f" ({hw['gpu']})" if hw.get("gpu") else "")
        + f"; Python {hw['python']}, torch {hw['torch']}. Training and testing "
        f"{results['seconds']:.0f} s in all.",
        "",
        "Figures: `figures/information_plane.png` (I(X;Z) vs I(Z;Y) per encoder, test "
        "epochs and the reported epoch; per-task bounds), `figures/curves.png` (per-epoch "
        "bounds and accuracy, train and test).",
        "",
    ]
    return "\n".join(lines)
