"""The learning table as a figure, a markdown table and a verdict per claim of the paper.

Reads the summary JSON(s) of ``learning_table.py`` and decides each of the paper's Fig. 4c
claims per task from the spread over seeds: for nets A and B with means m and standard
deviations s over seeds, the difference d = m_A - m_B is *within spread* when
|d| <= 2 sqrt(s_A^2 + s_B^2) (two standard deviations of a one-seed difference), else A is
above or below B. A claim of likeness holds when both tasks are within spread; a claim of
an order holds when both tasks are separated in that order, does not hold when either task
is separated the other way, and otherwise cannot be told at this spread (nor with a net
of one seed, which has no spread). "The b-ANN slightly
below" is read as below LIF-fc, the baseline the paper sets the spiking nets against.

    .venv/bin/python benchmarks/learning_table_report.py \\
        benchmarks/results/learning-table-fc-10ep-cpu-1thread.json \\
        --figure docs/images/learning-table.png \\
        --out benchmarks/results/learning-table-verdicts.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

TASKS = ("task1", "task2")
LABELS = {
    "lif-fc": "LIF-fc",
    "4lif-fc": "4LIF-fc",
    "hh-fc": "HH-fc",
    "s-lif2hh-fc": "s-LIF2HH-fc",
    "ann-fc": "b-ANN",
}
#: (claim, net A, relation, net B): relation "alike", "above" or "below"
CLAIMS = (
    ("HH and s-LIF2HH perform alike", "hh-fc", "alike", "s-lif2hh-fc"),
    ("HH clearly better than LIF", "hh-fc", "above", "lif-fc"),
    ("s-LIF2HH clearly better than LIF", "s-lif2hh-fc", "above", "lif-fc"),
    ("4LIF slightly above LIF", "4lif-fc", "above", "lif-fc"),
    ("b-ANN slightly below LIF", "ann-fc", "below", "lif-fc"),
)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The difference of two table entries of one task and whether it is beyond the spread."""
    d = a["mean"] - b["mean"]
    spread = 2 * math.sqrt(a["std"] ** 2 + b["std"] ** 2)
    order = "within spread" if abs(d) <= spread else ("above" if d > 0 else "below")
    return {"difference": d, "two_std": spread, "order": order}


def verdict(relation: str, orders: list[str]) -> str:
    """holds / does not hold / cannot tell, from the per-task orders of A against B."""
    if relation == "alike":
        return "holds" if all(o == "within spread" for o in orders) else "does not hold"
    opposite = "below" if relation == "above" else "above"
    if all(o == relation for o in orders):
        return "holds"
    if any(o == opposite for o in orders):
        return "does not hold"
    return "cannot tell"


def verdicts(table: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for claim, a, relation, b in CLAIMS:
        if a not in table or b not in table:
            rows.append({"claim": claim, "verdict": "not measured", "nets": [a, b]})
            continue
        per_task = {t: compare(table[a][t], table[b][t]) for t in TASKS}
        seeds = [table[a]["seeds"], table[b]["seeds"]]
        decided = verdict(relation, [per_task[t]["order"] for t in TASKS])
        rows.append(
            {
                "claim": claim,
                "nets": [a, b],
                "seeds": seeds,
                "per_task": per_task,
                # one seed has no spread to compare a difference with
                "verdict": decided if min(seeds) >= 2 else "cannot tell (one seed)",
            }
        )
    return rows


def markdown(tables: dict[str, dict[str, Any]], claims: list[dict[str, Any]]) -> str:
    lines = ["| net | " + " | ".join(f"{name}: task 1 / task 2" for name in tables) + " |"]
    lines.append("|---|" + "---|" * len(tables))
    nets = [n for n in LABELS if any(n in t for t in tables.values())]
    for net in nets:
        cells = []
        for table in tables.values():
            entry = table.get(net)
            cells.append(
                "–"
                if entry is None
                else " / ".join(f"{entry[t]['mean']:.3f} ± {entry[t]['std']:.3f}" for t in TASKS)
                + f" ({entry['seeds']} seed{'s' if entry['seeds'] > 1 else ''})"
            )
        lines.append(f"| {LABELS[net]} | " + " | ".join(cells) + " |")
    lines += ["", "| claim | task 1: difference (2 std) | task 2 | verdict |", "|---|---|---|---|"]
    for row in claims:
        if "per_task" not in row:
            lines.append(f"| {row['claim']} | | | {row['verdict']} |")
            continue
        cells = [
            f"{row['per_task'][t]['difference']:+.3f} ({row['per_task'][t]['two_std']:.3f})"
            for t in TASKS
        ]
        lines.append(f"| {row['claim']} | {cells[0]} | {cells[1]} | {row['verdict']} |")
    return "\n".join(lines)


def figure(tables: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    rows = [
        {"table": name, "net": LABELS[net], "task": f"task {t[-1]}", "accuracy": value}
        for name, table in tables.items()
        for net, entry in table.items()
        if net in LABELS
        for t in TASKS
        for value in entry[t]["values"]
    ]
    data = pd.DataFrame(rows)
    grid = sns.catplot(
        data=data,
        x="net",
        y="accuracy",
        hue="task",
        col="table",
        kind="point",
        errorbar="sd",
        dodge=0.3,
        linestyle="none",
        order=[LABELS[n] for n in LABELS if LABELS[n] in set(data.net)],
        height=3.6,
        aspect=1.4,
        capsize=0.1,
    )
    grid.map_dataframe(
        sns.stripplot,
        x="net",
        y="accuracy",
        hue="task",
        dodge=True,
        alpha=0.5,
        size=4,
        palette="dark:k",
        legend=False,
    )
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "test accuracy (last epoch)")
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.savefig(path, dpi=130)
    plt.close("all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", help="summary JSONs of learning_table.py")
    parser.add_argument("--figure", default=None, help="PNG of accuracy per net with spread")
    parser.add_argument("--out", default=None, help="JSON of the verdicts")
    args = parser.parse_args()
    tables: dict[str, dict[str, Any]] = {}
    for path in args.results:
        payload = json.loads(Path(path).read_text())
        epochs = payload["settings"]["epochs"]
        tables[f"{epochs} epochs"] = payload["table"]
    claims = {name: verdicts(table) for name, table in tables.items()}
    for name in tables:
        print(f"## {name}\n")
        print(markdown({name: tables[name]}, claims[name]) + "\n")
    if args.figure:
        figure(tables, Path(args.figure))
    if args.out:
        from spikebridge.io import write_json

        write_json(
            args.out,
            {"rule": __doc__.split("\n\n")[1], "verdicts": claims, "sources": args.results},
        )


if __name__ == "__main__":
    main()
