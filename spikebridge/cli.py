"""The ``spikebridge`` command line.

spikebridge models [--json]
spikebridge show MODEL [--method M] [--torch]
spikebridge parity MODEL [--method M] [--dtype float64|float32] [--duration MS]
                         [--device D] [--json]
spikebridge doctor [--cuda-build] [--workers N] [--json]
spikebridge demo [--out DIR] [--device D] [--models A,B]
spikebridge study equivalence [--quick] [--engine brian2|torch] [--device D] [--out DIR]
                              [--preset paper|NAME | --spec STUDY.toml] [--fresh]
spikebridge study robustness [--quick] [--out DIR] [--resume] [--nets A,B] [--amplitudes A,B]
                             [--seeds S,T] [--membrane S,..] [--input ..] [--weight ..]
                             [--deletion ..] [--engine local|ray] [--address ADDR] [--workers N]
spikebridge study cost [--out DIR] [--no-timing] [--repeats N] [--resume]
spikebridge study information [--quick] [--out DIR] [--epochs N] [--subset N]
                              [--encoders A,B] [--resume]
spikebridge train NET [--rule backprop|forward-forward] [--dataset D] [--epochs N] [--subset N]
                      [--seed S] [--device cpu|cuda] --out DIR [--resume]
spikebridge validate CHECKPOINT [--engine brian2] [--device D] [--samples N] [--export FILE]
                      [--nir FILE] [--json]
spikebridge cost [--json] [--timing]
spikebridge network list [--json]
spikebridge network show FILE [--set NAME=VALUE] [--torch]
spikebridge network run FILE [--engine brian2|torch] [--device D] [--duration MS] --out DIR
spikebridge network parity FILE [--device D] [--dtype float64|float32] [--duration MS] [--json]
spikebridge network validate FILE --inputs TRIALS.npz [--readout POP] [--samples N] [--json]
spikebridge nir import FILE --dt MS [--method exact|euler] [--engine brian2|torch]
    [--input FILE.npy] --out DIR
spikebridge nir export CHECKPOINT_OR_NETWORK FILE [--reader nir|snntorch|norse]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .checks import cli_count, cli_index, cli_non_negative, cli_positive
from .errors import InputError, SpikebridgeError
from .network_commands import add_network_commands
from .nir_commands import add_nir_commands
from .study_commands import add_study_commands

if TYPE_CHECKING:
    from .learning.train import TrainConfig


def _models(args: argparse.Namespace) -> int:
    from .model import list_models, load_model

    names = list_models()
    if args.json:
        print(json.dumps(names))
        return 0
    for name in names:
        model = load_model(name)
        first_line = model.doc.splitlines()[0]
        print(f"{name:<13} {model.method:<18} {first_line}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .model import load_model

    model = load_model(args.model)
    if args.torch:
        from .torch.codegen import torch_step

        print(torch_step(model, args.method).source)
        return 0
    print(f'"""{model.doc}"""\n')
    print(f"method: {model.method} (supported: {', '.join(model.methods)}); dt = {model.dt}")
    print(model.equations.strip())
    for event in model.events:
        print(
            f"event {event.name}: {event.condition}" + (f" -> {event.reset}" if event.reset else "")
        )
    if model.refractory is not None:
        print(f"refractory: {model.refractory}")
    return 0


def _parity(args: argparse.Namespace) -> int:
    from brian2 import ms

    from .parity import parity

    report = parity(
        args.model,
        method=args.method,
        dtype=args.dtype,
        duration=None if args.duration is None else args.duration * ms,
        device=args.device,
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        for key, value in report.to_dict().items():
            print(f"{key:>18}: {value}")
    return 0 if report.within_tolerance else 1


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose, format_report

    report = diagnose(cuda_build=args.cuda_build, workers=args.workers)
    print(json.dumps(report) if args.json else format_report(report))
    return 0 if report["ok"] else 1


def _demo(args: argparse.Namespace) -> int:
    from .report import summary, write_demo_report

    models = args.models.split(",") if args.models else None
    results = write_demo_report(args.out, device=args.device, models=models)
    print(summary(results))
    print(f"report: {args.out}/report.md")
    ok = all(row["within_tolerance"] for row in results["parity"])
    return 0 if ok else 1


def _study_equivalence(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from .report.equivalence import write_equivalence_report
    from .studies.equivalence import Settings, run_study

    if args.spec is not None and args.preset is not None:
        raise InputError("Give a study file (--spec) or a preset (--preset), not both.")
    if args.preset not in (None, "paper"):
        from .studies.study_file import preset_path

        args.spec = str(preset_path(args.preset))
    if args.spec is not None:
        if args.quick:
            raise InputError(
                "--quick shortens the built-in paper study; a study file sets its own "
                "budget ([optimiser] popsize and generations)."
            )
        return _study_file(args)
    device = args.device or ("cpp_standalone" if args.engine == "brian2" else "cpu")
    factory = Settings.quick if args.quick else Settings.full
    settings = factory(engine=args.engine, device=device)
    if args.fresh:
        shutil.rmtree(Path(args.out) / "cache", ignore_errors=True)
    results = run_study(args.out, settings)
    report = write_equivalence_report(args.out, results)
    print("spike-count MRE on held-out levels (layer 2):")
    for name, entry in results["waveforms"].items():
        mre = entry["spike_count_mre"]
        print(
            f"  {name:<9} fitted {mre['fitted']:.3f}  shared {mre['fitted_shared']:.3f}  "
            f"paper constants {mre['paper_constants']:.3f}  LIF {mre['lif']:.3f}  "
            f"tv-LIF2HH max dV {entry['tv_lif2hh_max_dv']:.1e} mV"
        )
    print(f"report: {report}")
    return 0


def _study_file(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from .report.fit_study import write_fit_study_report
    from .studies.fit_study import run_fit_study
    from .studies.study_file import load_study_file

    study = load_study_file(args.spec)
    if args.fresh:
        shutil.rmtree(Path(args.out) / "cache", ignore_errors=True)
    results = run_fit_study(study, args.out)
    report = write_fit_study_report(args.out, results)
    print("held-out inputs: spike-count error, gamma factor")
    for name, entry in results["candidates"].items():
        test = entry["summary"]["test"]
        print(f"  {name:<14} {test['spike_count_error']:.3f}  {test['gamma_factor']:.3f}")
    print(f"report: {report}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .learning.train import TrainConfig, train

    config = TrainConfig(
        net=args.net,
        dataset=args.dataset,
        epochs=args.epochs,
        subset=args.subset,
        test_subset=args.test_subset,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        noise_amplitude=args.noise,
        device=args.device,
        data_root=args.data,
        compile=args.compile,
        synapse=args.synapse,
    )

    if args.rule == "forward-forward":
        return _train_forward_forward(args, config)
    if args.goodness is not None:
        raise InputError("--goodness applies to --rule forward-forward.")

    def report(record: dict[str, object]) -> None:
        print(
            f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}  test accuracy "
            f"task 1 {record['test_accuracy_task1']:.4f}  "
            f"task 2 {record['test_accuracy_task2']:.4f}  ({record['train_seconds']:.0f} s)",
            flush=True,
        )

    train(config, args.out, resume=args.resume, progress=not args.no_progress, on_epoch=report)
    print(f"checkpoint: {args.out}/checkpoint.pt  metrics: {args.out}/metrics.json")
    return 0


def _train_forward_forward(args: argparse.Namespace, config: TrainConfig) -> int:
    from .learning.forward_forward_nets import train_net_forward_forward

    def report(row: dict[str, float]) -> None:
        suffixes = sorted(k[len("goodness_error") :] for k in row if k.startswith("goodness_error"))
        tasks = "  ".join(
            f"{suffix.strip('_').replace('task', 'task ') or 'test'}: goodness "
            f"{1 - row[f'goodness_error{suffix}']:.4f} read-out "
            f"{1 - row[f'readout_error{suffix}']:.4f}"
            for suffix in (s for s in suffixes if s or len(suffixes) == 1)
        )
        print(
            f"epoch {row['epoch']}: loss {row['loss']:.4f}  test accuracy {tasks}  "
            f"({row['train_seconds']:.0f} s)",
            flush=True,
        )

    train_net_forward_forward(
        config, args.out, resume=args.resume, goodness=args.goodness or "membrane", on_epoch=report
    )
    print(
        f"checkpoint: {args.out}/checkpoint.pt  metrics: {args.out}/metrics.json  trained "
        f"network: {args.out}/network.npz"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .bridge import validate

    result = validate(
        args.checkpoint, device=args.device, samples=args.samples, export=args.export,
        nir=args.nir,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from .cost import cost_table, timing_table

    table = cost_table(steps=args.steps, synapse=args.synapse)
    if args.timing:
        table["timing"] = timing_table(
            tuple(table["models"]),
            batch=args.batch,
            repeats=args.repeats,
            steps=args.steps,
            synapse=args.synapse,
        )
    if args.json:
        print(json.dumps(table))
        return 0
    print(
        f"{'model':<14} {'params':>10} {'paper M ops':>12} {'M ops':>10} {'M MUL':>8} {'M ADD':>8}"
    )
    for name, row in table["models"].items():
        print(
            f"{name:<14} {row['params']:>10,} {row['paper_ops_m']:>12.3f} {row['ops_m']:>10.3f} "
            f"{row['mul_m']:>8.3f} {row['add_m']:>8.3f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikebridge",
        description="Spiking neuron models written once as Brian2 equations, simulated by "
        "Brian2 and trained in PyTorch with identical dynamics.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list the models in equations/")
    models.add_argument("--json", action="store_true", help="print a JSON list of model names")
    models.set_defaults(run=_models)

    show = sub.add_parser("show", help="print a model's definition or its generated torch step")
    show.add_argument("model", help="model name or path of a model file")
    show.add_argument("--method", default=None, help="integration method (default: declared)")
    show.add_argument("--torch", action="store_true", help="print the generated torch source")
    show.set_defaults(run=_show)

    parity = sub.add_parser(
        "parity",
        help="simulate a model on Brian2 and torch and compare (exit 1 if out of tolerance)",
    )
    parity.add_argument("model", help="model name or path of a model file")
    parity.add_argument("--method", default=None, help="integration method (default: declared)")
    parity.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parity.add_argument(
        "--duration",
        type=cli_positive,
        default=None,
        help="duration in ms, a whole number of steps (default: 20 ms, >= 200 steps)",
    )
    parity.add_argument(
        "--device",
        default="cpp_standalone",
        help="Brian2 device: runtime, numpy, cpp_standalone, cuda_standalone, genn",
    )
    parity.add_argument("--json", action="store_true", help="print one JSON object")
    parity.set_defaults(run=_parity)

    doctor = sub.add_parser(
        "doctor",
        help="check which Brian2 and torch devices build and run here, with a parity check each",
    )
    doctor.add_argument(
        "--cuda-build", action="store_true", help="also compile a cuda_standalone project"
    )
    doctor.add_argument("--workers", type=cli_count, default=None, help="processes (CPU count)")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)

    demo = sub.add_parser(
        "demo", help="the main job: all models on both engines, report with figures"
    )
    demo.add_argument("--out", default="reports", help="output folder (default: reports)")
    demo.add_argument("--device", default="cpp_standalone", help="Brian2 device")
    demo.add_argument("--models", default=None, help="comma-separated subset of models")
    demo.set_defaults(run=_demo)

    study = sub.add_parser("study", help="run a study (writes JSON, a report and figures)")
    studies = study.add_subparsers(dest="study", required=True, metavar="STUDY")
    equivalence = studies.add_parser(
        "equivalence",
        help="HH vs tv-LIF2HH vs s-LIF2HH vs LIF under the paper's waveforms, with fitting",
    )
    equivalence.add_argument(
        "--quick", action="store_true", help="fewer levels and optimiser steps (a few minutes)"
    )
    equivalence.add_argument("--engine", default="brian2", choices=("brian2", "torch"))
    equivalence.add_argument(
        "--device", default=None, help="Brian2 device (default cpp_standalone) or torch device"
    )
    equivalence.add_argument(
        "--spec",
        default=None,
        help="a study file (TOML: reference, candidates, inputs; spikebridge.studies.study_file)"
        "; without it the paper's study runs",
    )
    from .studies.study_file import preset_names

    equivalence.add_argument(
        "--preset",
        default=None,
        choices=("paper", *preset_names()),
        help="a built-in study: paper (the default: the paper's study, with --quick the "
        "README's main job) or a shipped study file: " + ", ".join(preset_names()),
    )
    equivalence.add_argument("--out", default="reports/equivalence", help="output folder")
    equivalence.add_argument(
        "--fresh", action="store_true", help="ignore the cached stages of an earlier run"
    )
    equivalence.set_defaults(run=_study_equivalence)
    add_study_commands(studies)

    from .nets import NETS, SYNAPSES
    from .torch.compiled import NET_MODES

    training = sub.add_parser("train", help="train a multi-task network (the paper's Fig. 4c)")
    training.add_argument("net", choices=sorted(NETS), metavar="NET", help=", ".join(NETS))
    training.add_argument(
        "--dataset",
        default="multi-fashion",
        help="multi-fashion (default), multi-fashion-mnist (needs MNIST train files), multi-mnist",
    )
    training.add_argument(
        "--rule",
        choices=("backprop", "forward-forward"),
        default="backprop",
        help="backprop (default; the paper's) or forward-forward (layer-local, spiking nets; "
        "spikebridge.learning.forward_forward_nets)",
    )
    training.add_argument(
        "--synapse",
        choices=SYNAPSES,
        default="multiply",
        help="the input layer's synapses: multiply (default; the paper's weighted sum) or adder "
        "(AdderNet's negative L1 distance; spikebridge.nets.input_synapses)",
    )
    training.add_argument(
        "--goodness",
        choices=("membrane", "spike_count"),
        default=None,
        help="forward-forward goodness: squared mean membranes (default) or spike counts",
    )
    training.add_argument(
        "--epochs", type=cli_count, default=None, help="default: 40 (backprop), 10 (FF)"
    )
    training.add_argument("--subset", type=cli_count, default=None, help="training composites used")
    training.add_argument(
        "--test-subset", type=cli_count, default=None, help="test composites used"
    )
    training.add_argument("--seed", type=cli_index, default=1, help="seed (the paper's default: 1)")
    training.add_argument("--steps", type=cli_count, default=15, help="time steps T (default 15)")
    training.add_argument("--batch-size", type=cli_count, default=None, help="default 128")
    training.add_argument(
        "--lr", type=cli_positive, default=None, help="default: the paper's per net"
    )
    training.add_argument(
        "--noise",
        type=cli_non_negative,
        default=0.0,
        help="amplitude A of the fixed Gaussian pattern",
    )
    training.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    training.add_argument(
        "--compile",
        choices=NET_MODES,
        default="none",
        help="torch.compile the spiking layers' steps or loops, or the whole net (fastest on "
        "CPU for fc nets; first batches compile)",
    )
    training.add_argument("--data", default=None, help="folder with the IDX files")
    training.add_argument("--out", required=True, help="output folder")
    training.add_argument("--resume", action="store_true", help="continue the run in --out")
    training.add_argument("--no-progress", action="store_true", help="no progress bars")
    training.set_defaults(run=_train)

    validating = sub.add_parser(
        "validate", help="rebuild a trained network in Brian2 and compare it with torch"
    )
    validating.add_argument("checkpoint", help="checkpoint.pt (or the training folder)")
    validating.add_argument("--engine", default="brian2", choices=("brian2",))
    validating.add_argument(
        "--device",
        default="cpp_standalone",
        help="Brian2 device: cpp_standalone (default), runtime, numpy, cuda_standalone",
    )
    validating.add_argument(
        "--samples",
        type=cli_count,
        default=None,
        help="test samples (1000; 100 for a Forward-Forward run: 20 trials each)",
    )
    validating.add_argument(
        "--export", default=None, help="also write the trained network description (.npz) here"
    )
    validating.add_argument(
        "--nir", default=None, help="also write the network as a NIR graph (LIF networks only)"
    )
    validating.add_argument("--json", action="store_true", help="print one JSON object")
    validating.set_defaults(run=_validate)

    cost = sub.add_parser(
        "cost", help="operations and parameters of the ten networks (the paper's Fig. 5b)"
    )
    cost.add_argument("--steps", type=cli_count, default=15, help="time steps T (default 15)")
    cost.add_argument(
        "--synapse",
        choices=SYNAPSES,
        default="multiply",
        help="the spiking nets' input layer: multiply (default) or adder (no multiplications)",
    )
    cost.add_argument("--timing", action="store_true", help="also time inference and training")
    cost.add_argument("--batch", type=cli_count, default=128, help="batch of the timing (128)")
    cost.add_argument("--repeats", type=cli_count, default=5, help="timing repeats (5)")
    cost.add_argument("--json", action="store_true", help="print one JSON object")
    cost.set_defaults(run=_cost)
    add_network_commands(sub)
    add_nir_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except SpikebridgeError as exc:
        print(f"spikebridge: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
