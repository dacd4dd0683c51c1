"""Fitting optimisers side by side on one study file: which reaches a held-out error fastest.

Runs the study file (``--spec``) once per optimiser of ``--methods`` with the same budget
(``--popsize``, ``--generations``; the study's own when not given), each into a fresh folder,
and reports per candidate: the final training loss, the held-out spike-count error and gamma
factor, the simulations and seconds spent, and the simulations and seconds each optimiser
needed to reach the target loss (``--target``; default: the worst of the final losses, so
that every optimiser reaches it). Hardware and settings are recorded.

``b2mf-de`` and ``b2mf-cma`` fit with brian2modelfitting's method instead
(:mod:`modelfitting_baseline`: Brian2 runtime, one neuron per candidate, nevergrad's DE or
CMA-ES, the gamma-factor error) on the same inputs and budget; the evaluation is the same
for all. Compare losses across them with ``[metrics] loss = "gamma"`` (their objective).

    .venv/bin/python benchmarks/fitting.py --spec studies/lif_to_hh.toml --engine torch \\
        --out benchmarks/results/fitting-cpu-2core.json
    .venv/bin/python benchmarks/fitting.py --spec studies/adex_recovery.toml \\
        --methods cma,de,b2mf-cma,b2mf-de \\
        --out benchmarks/results/fitting-head-to-head-recovery.json
    .venv/bin/python benchmarks/fitting.py --spec studies/adex_recovery.toml \\
        --methods cma,adam --out benchmarks/results/fitting-recovery-cma-vs-adam.json
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import replace
from typing import Any

from modelfitting_baseline import METHODS as BASELINES
from modelfitting_baseline import fitter as baseline_fitter

from spikebridge.io import write_json
from spikebridge.studies.fit_study import run_fit_study
from spikebridge.studies.study_file import load_study_file


def reach(trace: list[dict[str, float]], target: float) -> dict[str, float] | None:
    """The first point of a fit's best-loss trace at or below ``target``."""
    return next((p for p in trace if p["loss"] <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="studies/lif_to_hh.toml")
    parser.add_argument(
        "--methods",
        default="de,cma",
        help="spikebridge's de, cma, adam; brian2modelfitting's method: b2mf-de, b2mf-cma",
    )
    parser.add_argument("--popsize", type=int, default=None)
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--engine", default=None, help="override the study's engine")
    parser.add_argument("--target", type=float, default=None, help="training loss to reach")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    study = load_study_file(args.spec)
    if args.engine is not None:
        device = "cpu" if args.engine == "torch" else "cpp_standalone"
        study = replace(study, engine=args.engine, device=device)
    runs: dict[str, Any] = {}
    began = time.perf_counter()
    for method in args.methods.split(","):
        optimiser = replace(
            study.optimiser,
            method=method if method not in BASELINES else study.optimiser.method,
            popsize=args.popsize or study.optimiser.popsize,
            generations=args.generations or study.optimiser.generations,
        )
        fitter = baseline_fitter(BASELINES[method]) if method in BASELINES else None
        with tempfile.TemporaryDirectory() as folder:
            results = run_fit_study(replace(study, optimiser=optimiser), folder, fitter=fitter)
        runs[method] = results["candidates"]
    table: dict[str, Any] = {}
    for candidate in next(iter(runs.values())):
        fits = {m: runs[m][candidate]["fit"] for m in runs}
        target = args.target if args.target is not None else max(f["loss"] for f in fits.values())
        table[candidate] = {
            "target_loss": target,
            **{
                method: {
                    "final_loss": fit["loss"],
                    "held_out": {
                        k: runs[method][candidate]["summary"]["test"][k]
                        for k in ("spike_count_error", "gamma_factor", "van_rossum")
                    },
                    "budget": fit["budget"],
                    "reached_target_at": reach(fit["best_loss_by_candidates"], target),
                    "fitted": fit["shown"],
                }
                for method, fit in fits.items()
            },
        }
    write_json(
        args.out,
        {
            "benchmark": "fitting",
            "spec": args.spec,
            "settings": {
                "engine": study.engine,
                "device": study.device,
                "methods": args.methods,
                "popsize": args.popsize or study.optimiser.popsize,
                "generations": args.generations or study.optimiser.generations,
            },
            "hardware": {
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "wall_seconds": time.perf_counter() - began,
            "table": table,
        },
    )
    for candidate, row in table.items():
        print(f"{candidate}: target loss {row['target_loss']:.4f}")
        for method in runs:
            entry = row[method]
            hit = entry["reached_target_at"]
            reached = f"{hit['candidates']} candidates, {hit['seconds']:.1f} s" if hit else "never"
            print(
                f"  {method:<4} final {entry['final_loss']:.4f} in "
                f"{entry['budget']['seconds']:.1f} s; target reached after {reached}; held-out "
                f"count error {entry['held_out']['spike_count_error']:.3f}, gamma "
                f"{entry['held_out']['gamma_factor']:.3f}"
            )


if __name__ == "__main__":
    main()
