"""The ``spikebridge study robustness|cost|information|complexity-probe`` commands
(``study equivalence`` is in :mod:`spikebridge.cli`). Each writes ``results.json``,
``report.md`` and figures."""

from __future__ import annotations

import argparse
from typing import Any

from .bridge.perturb import KINDS
from .checks import cli_count, cli_index, cli_list, index, non_negative


def _floats(text: str) -> tuple[float, ...]:
    """Comma-separated amounts >= 0 (noise amplitudes, perturbation strengths)."""
    return tuple(cli_list(non_negative)(text))


def _ints(text: str) -> tuple[int, ...]:
    """Comma-separated seeds (integers >= 0)."""
    return tuple(cli_list(index)(text))


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _task_mean(entry: dict[str, Any]) -> float:
    return float((entry["task1"]["mean"] + entry["task2"]["mean"]) / 2)


def _robustness(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .studies.robustness import RobustnessSettings, run_robustness_study
    from .sweeps import sweep_options

    settings = RobustnessSettings.quick() if args.quick else RobustnessSettings()
    changes: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("nets", "amplitudes", "seeds", "epochs", "subset", "test_subset", "samples")
        if getattr(args, key) is not None
    }
    strengths = {kind: getattr(args, kind) for kind in KINDS if getattr(args, kind) is not None}
    if strengths:
        changes["strengths"] = {**settings.strengths, **strengths}
    if args.kinds is not None:
        base = changes.get("strengths", settings.strengths)
        changes["strengths"] = {k: v for k, v in base.items() if k in args.kinds}
    settings = replace(
        settings,
        **changes,
        device=args.device,
        train_device=args.train_device,
        data_root=args.data,
    )
    results = run_robustness_study(
        args.out,
        settings,
        resume=args.resume,
        progress=not args.no_progress,
        sweep=sweep_options(args),
    )
    print("accuracy (mean of tasks, over seeds), retrained with the noise pattern A:")
    for net, per_amplitude in results["training_noise"].items():
        cells = "  ".join(f"A={a} {_task_mean(e):.3f}" for a, e in per_amplitude.items())
        print(f"  {net:<12} {cells}")
    print("accuracy in Brian2 under perturbation (strongest level of each kind):")
    for net, curves in results["simulation"].items():
        cells = "  ".join(
            f"{kind} {c[-1]['strength']:g}: {_task_mean(c[-1]):.3f}" for kind, c in curves.items()
        )
        print(f"  {net:<12} {cells}")
    print(f"report: {args.out}/report.md")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from .studies.cost import run_cost_study

    results = run_cost_study(
        args.out,
        timing=not args.no_timing,
        batch=args.batch,
        repeats=args.repeats,
        steps=args.steps,
        resume=args.resume,
    )
    for name, row in results["models"].items():
        print(f"  {name:<14} params {row['params']:>10,}  M ops {row['ops_m']:.3f}")
    print(f"report: {args.out}/report.md")
    return 0


def _information(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .studies.information import run_information_study

    results = run_information_study(
        args.out,
        encoders=_names(args.encoders),
        epochs=args.epochs,
        subset=args.subset,
        test_subset=args.test_subset,
        batch_size=args.batch_size,
        seed=args.seed,
        dataset=args.dataset,
        device=args.device,
        quick=args.quick,
        progress=not args.no_progress,
        resume=args.resume,
        data_root=args.data,
    )
    samples = results["settings"]["samples"]
    print("encoder    best/epochs  I(X;Z)  I(Z;Y) paper  I(Z;Y1)  I(Z;Y2)  accuracy (12 samples)")
    for entry in results["encoders"].values():
        print(
            f"  {entry['label']:<9} {entry['best_epoch']:>4}/{entry['epochs']:<5} "
            f"{entry['I_XZ_bits']:8.2f} {entry['I_ZY_bits']:13.3f} "
            f"{entry['I_ZY_task1_bits']:8.3f} {entry['I_ZY_task2_bits']:8.3f}  "
            f"{entry[f'accuracy_{samples}']:.3f}"
        )
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _complexity_probe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .studies.complexity_probe import PROBE_PRESETS, load_probe_study, run_complexity_probe

    path = Path(args.file) if args.file else PROBE_PRESETS / f"{args.preset}.toml"
    study = load_probe_study(path)
    if args.quick:
        study = study.quick()
    results = run_complexity_probe(
        args.out,
        study,
        device=args.device,
        train_device=args.train_device,
        progress=not args.no_progress,
        resume=args.resume,
    )
    for name, entry in results["teachers"].items():
        curve = "  ".join(f"d{d} {a:.4f}" for d, a in entry["auc_by_depth"].items())
        rate, depth = entry["output_rate_hz"], entry["functional_depth"]
        print(f"  {name:<10} {rate:5.2f} Hz  AUC {curve}  D* {depth}")
    for c in results["comparisons"]:
        print(
            f"  {' vs '.join(c['teachers'])}: max AUC difference {c['max_auc_difference']:.4f}, "
            f"same D* {c['same_functional_depth']}, equivalent {c['equivalent']}"
        )
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _fit_dnn(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .studies.fit_dnn import FIT_DNN_PRESETS, load_fit_dnn_study, run_fit_dnn_study

    path = Path(args.file) if args.file else FIT_DNN_PRESETS / f"{args.preset}.toml"
    study = load_fit_dnn_study(path)
    if args.quick:
        study = study.quick()
    results = run_fit_dnn_study(args.out, study, progress=not args.no_progress, resume=args.resume)
    for dataset, runs in results["classify"].items():
        if "skipped" in runs:
            print(f"  {dataset}: skipped")
            continue
        for n, run in runs.items():
            mode = run["training"]["mode"]
            print(f"  {dataset} N={n} ({mode}): {100 * run['accuracy_by_mode'][mode]:.2f} %")
    for row in results.get("agreement", []):
        print(
            f"  theta {row['theta']:g}: network {100 * row['accuracy_network']:.2f} %, "
            f"dde {100 * row['accuracy_dde']:.2f} %, agreement {100 * row['agreement']:.2f} %"
        )
    if "denoise" in results:
        print(f"  denoising test MSE {results['denoise']['history'][-1]['test_mse']:.4f}")
    if "bridge" in results:
        b = results["bridge"]
        print(f"  Brian2 bridge: agreement {100 * b['agreement']:.2f} % on {b['samples']} images")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def add_study_commands(studies: Any) -> None:
    """Add the studies (robustness, cost, information, complexity-probe, fit-dnn) to ``study``."""
    from .sweeps import add_sweep_options

    robustness = studies.add_parser(
        "robustness",
        help="noise robustness: retraining with the paper's noise pattern, and bridged "
        "networks perturbed in Brian2 (membrane noise, input noise, weights, spike deletion)",
    )
    robustness.add_argument(
        "--quick", action="store_true", help="2 epochs on 3,000 composites, 2 seeds, 100 samples"
    )
    robustness.add_argument("--out", default="reports/robustness", help="output folder")
    robustness.add_argument("--resume", action="store_true", help="continue the study in --out")
    robustness.add_argument("--nets", type=_names, default=None, help="default lif-fc,hh-fc,...")
    robustness.add_argument(
        "--amplitudes", type=_floats, default=None, help="training noise A (default 0,25,50,75)"
    )
    robustness.add_argument("--seeds", type=_ints, default=None, help="default 1,2,3")
    robustness.add_argument(
        "--epochs", type=cli_count, default=None, help="default: the paper's 40"
    )
    robustness.add_argument("--subset", type=cli_count, default=None, help="training composites")
    robustness.add_argument("--test-subset", type=cli_count, default=None, help="test composites")
    robustness.add_argument(
        "--samples", type=cli_count, default=None, help="test composites per level in Brian2 (1000)"
    )
    robustness.add_argument(
        "--kinds", type=_names, default=None, help=f"perturbations: {','.join(KINDS)}"
    )
    for kind, meaning in KINDS.items():
        robustness.add_argument(
            f"--{kind}", type=_floats, default=None, help=f"strengths of the {meaning}"
        )
    robustness.add_argument("--device", default="cpp_standalone", help="Brian2 device")
    robustness.add_argument("--train-device", default="cpu", help="torch device for training")
    robustness.add_argument("--data", default=None, help="folder with the IDX files")
    robustness.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_sweep_options(robustness)
    robustness.set_defaults(run=_robustness)

    cost = studies.add_parser(
        "cost", help="operations, parameters and timing of the ten networks (Fig. 5b)"
    )
    cost.add_argument("--out", default="reports/cost", help="output folder")
    cost.add_argument("--no-timing", action="store_true", help="counts only")
    cost.add_argument("--batch", type=cli_count, default=128, help="batch of the timing (128)")
    cost.add_argument("--repeats", type=cli_count, default=5, help="timing repeats (5)")
    cost.add_argument("--steps", type=cli_count, default=15, help="time steps T (15)")
    cost.add_argument("--resume", action="store_true", help="reuse the finished parts in --out")
    cost.set_defaults(run=_cost)

    information = studies.add_parser(
        "information",
        help="I(X;Z) and I(Z;Y) of LIF, HH and s-LIF2HH encoders (the paper's Fig. 5d)",
    )
    information.add_argument(
        "--quick", action="store_true", help="256/128 composites, 2 epochs (CI; under a minute)"
    )
    information.add_argument("--out", default="reports/information", help="output folder")
    information.add_argument(
        "--encoders", default="lif,hh,s-lif2hh", help="comma-separated: lif, hh, s-lif2hh"
    )
    information.add_argument(
        "--epochs", type=cli_count, default=None, help="default: the paper's 200"
    )
    information.add_argument(
        "--subset", type=cli_count, default=None, help="training composites used"
    )
    information.add_argument(
        "--test-subset", type=cli_count, default=None, help="test composites used"
    )
    information.add_argument("--batch-size", type=cli_count, default=128, help="default 128")
    information.add_argument("--seed", type=cli_index, default=1, help="seed (the paper's: 1)")
    information.add_argument(
        "--dataset",
        default="multi-fashion",
        help="multi-fashion (default), multi-fashion-mnist (the paper's; needs MNIST train "
        "files), multi-mnist",
    )
    information.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    information.add_argument("--data", default=None, help="folder with the IDX files")
    information.add_argument("--resume", action="store_true", help="continue the study in --out")
    information.add_argument("--no-progress", action="store_true", help="no progress bars")
    information.set_defaults(run=_information)

    from .studies.complexity_probe import probe_preset_names

    probe = studies.add_parser(
        "complexity-probe",
        help="functional depth: TCNs of depth 1..D fitted to Brian2 teacher neurons' "
        "input-output maps (Beniaguev et al. 2021)",
    )
    source = probe.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        default="point-neurons",
        choices=probe_preset_names(),
        help="shipped probe study (default point-neurons: I&F, HH, s-LIF2HH)",
    )
    source.add_argument("--file", default=None, help="a probe study file (TOML)")
    probe.add_argument(
        "--quick", action="store_true", help="2-s simulations, 24/8/8 of them, depth <= 2 (CI)"
    )
    probe.add_argument("--out", default="reports/complexity-probe", help="output folder")
    probe.add_argument("--device", default="cpp_standalone", help="Brian2 device of the teachers")
    probe.add_argument("--train-device", default="cpu", help="torch device of the students")
    probe.add_argument("--resume", action="store_true", help="continue the study in --out")
    probe.add_argument("--no-progress", action="store_true", help="no progress lines")
    probe.set_defaults(run=_complexity_probe)

    from .studies.fit_dnn import fit_dnn_preset_names

    fit = studies.add_parser(
        "fit-dnn",
        help="a deep network folded in time onto one delay element (Stelzer et al. 2021): "
        "trained through the delay system, checked against the equivalent network, run in Brian2",
    )
    source = fit.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        default="fashion",
        choices=fit_dnn_preset_names(),
        help="shipped study (default fashion: N 50..400, agreement across theta, denoising)",
    )
    source.add_argument("--file", default=None, help="a Fit-DNN study file (TOML)")
    fit.add_argument(
        "--quick", action="store_true", help="2,000 / 500 images, N 16 and 32, 2 epochs (CI)"
    )
    fit.add_argument("--out", default="reports/fit-dnn", help="output folder")
    fit.add_argument("--resume", action="store_true", help="continue the study in --out")
    fit.add_argument("--no-progress", action="store_true", help="no progress lines")
    fit.set_defaults(run=_fit_dnn)
