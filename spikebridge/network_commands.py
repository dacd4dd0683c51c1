"""The ``spikebridge network list|show|run|parity|validate`` commands.

``FILE`` is a catalogue name (``spikebridge network list``), a network module (``.py``
with ``build(**options)``) or a saved network (``.npz``); ``--set name=value`` passes a
build option (Python literals: ``--set n=400 --set p=0.05``).
"""

from __future__ import annotations

import argparse
import ast
import json
from typing import Any

from .checks import cli_count, cli_index, cli_positive
from .errors import InputError


def _options(pairs: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise InputError(f"--set takes NAME=VALUE (e.g. --set n=400), got '{pair}'.")
        try:
            options[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[name] = text
    return options


def _duration(ms: float | None) -> Any:
    if ms is None:
        return None
    from brian2 import ms as millisecond

    return ms * millisecond


def _list(args: argparse.Namespace) -> int:
    from .network import build_options, list_networks, load_network_module

    names = list_networks()
    if args.json:
        rows = []
        for name in names:
            module = load_network_module(name)
            rows.append(
                {
                    "name": name,
                    "doc": (module.__doc__ or "").strip().splitlines()[0],
                    "options": {k: v for k, v in build_options(module).items()},
                }
            )
        print(json.dumps(rows))
        return 0
    for name in names:
        module = load_network_module(name)
        first = (module.__doc__ or "").strip().splitlines()[0]
        print(f"{name:<22} {first}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .network import network_from, plan_network

    network = network_from(args.file, _options(args.set))
    if args.torch:
        from .torch.network import SpikingNetwork

        net = SpikingNetwork(network, synapses=args.synapses)
        print(net.network_step(net.delivery(), frozenset()).source)
        return 0
    plan = plan_network(network)
    print(f"network {plan.name}: dt = {plan.dt * 1e3:g} ms, schedule {network.schedule}")
    for pop in plan.populations.values():
        print(f"  population {pop.name}: {pop.n} x {pop.model.name} ({pop.method})")
    for name, source in plan.sources.items():
        print(f"  source {name}: {type(source).__name__} of {source.size}")
    for proj in plan.projections.values():
        kind = type(proj.description.connectivity).__name__
        delay = proj.delay_steps
        print(
            f"  projection {proj.name}: {proj.source} -> {proj.target}, {kind}, "
            f"{proj.size} synapses, delay {delay if not hasattr(delay, 'shape') else 'per synapse'}"
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from .network import network_from, simulate_network
    from .report.network import summary, write_run

    network = network_from(args.file, _options(args.set))
    options: dict[str, Any] = {}
    if args.engine == "torch":
        options["synapses"] = args.synapses
    else:
        options["threads"] = args.threads
    result = simulate_network(
        network,
        engine=args.engine,
        device=args.device,
        dtype=args.dtype,
        duration=_duration(args.duration),
        **options,
    )
    paths = write_run(args.out, result)
    if args.json:
        print(json.dumps(summary(result)))
    else:
        for key, rows in result.spikes.items():
            pop, _, event = key.partition(".")
            print(f"{key:<24} {len(rows):>9} spikes  {result.rate(pop, event):8.2f} Hz")
        print(f"spikes: {paths['spikes']}  summary: {paths['result']}  raster: {paths['raster']}")
    return 0


def _parity(args: argparse.Namespace) -> int:
    from .network import network_from, network_parity

    network = network_from(args.file, _options(args.set))
    report = network_parity(
        network, device=args.device, dtype=args.dtype, duration=_duration(args.duration)
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"{report.network} on {report.device} ({report.dtype}), {report.n_steps} steps: "
            f"spike steps equal {report.spike_steps_equal} (until step "
            f"{report.steps_equal_until}); within tolerance {report.within_tolerance}"
        )
        for name, row in report.populations.items():
            print(
                f"  {name:<12} max |dV| {_deviation(row)}  spikes "
                f"{row['spikes_brian2']} / {row['spikes_torch']}  rate "
                f"{row['rate_brian2_hz']:.2f} / {row['rate_torch_hz']:.2f} Hz"
            )
    return 0 if report.within_tolerance else 1


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from .bridge import validate_network
    from .errors import InputError
    from .network import network_from

    network = network_from(args.file, _options(args.set))
    path = Path(args.inputs)
    if not path.is_file():
        raise InputError(f"No inputs file at {path}; write one with numpy.savez.")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    targets = arrays.pop(args.targets, None)
    report = validate_network(
        network,
        arrays,
        targets=targets,
        readout=args.readout,
        n_steps=args.steps,
        samples=args.samples,
        device=args.device,
        dtype=args.dtype,
    )
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>24}: {value}")
    return 0 if report["spike_train_agreement"] == 1.0 or args.dtype == "float32" else 1


def add_network_commands(sub: Any) -> None:
    """Add ``network`` and its subcommands to the top-level parser's subparsers."""
    from .torch.network import SYNAPSE_MODES

    network = sub.add_parser(
        "network", help="described networks: list, show, run on either engine, compare engines"
    )
    commands = network.add_subparsers(dest="network_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the networks in networks/")
    listing.add_argument("--json", action="store_true", help="one JSON list")
    listing.set_defaults(run=_list)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="catalogue name, network module (.py) or network (.npz)")
        parser.add_argument(
            "--set",
            action="append",
            metavar="NAME=VALUE",
            help="a build option of the network module (repeatable)",
        )

    show = commands.add_parser("show", help="the network's parts, or its generated torch step")
    common(show)
    show.add_argument("--torch", action="store_true", help="print the generated torch step")
    show.add_argument(
        "--synapses",
        default="event",
        choices=SYNAPSE_MODES,
        help="delivery of the printed step (default event)",
    )
    show.set_defaults(run=_show)

    run = commands.add_parser("run", help="simulate; write spikes, rates and a raster figure")
    common(run)
    run.add_argument("--engine", default="brian2", choices=("brian2", "torch"))
    run.add_argument(
        "--device",
        default=None,
        help="Brian2 device (default cpp_standalone) or torch device (default cpu)",
    )
    run.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    run.add_argument(
        "--duration",
        type=cli_positive,
        default=None,
        help="duration in ms (default: the network's)",
    )
    run.add_argument(
        "--synapses",
        default="auto",
        choices=SYNAPSE_MODES,
        help="torch delivery (default auto: event without gradients)",
    )
    run.add_argument(
        "--threads", type=cli_index, default=0, help="OpenMP threads of cpp_standalone"
    )
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(run=_run)

    parity = commands.add_parser(
        "parity", help="run on Brian2 and torch, compare (exit 1 if out of tolerance)"
    )
    common(parity)
    parity.add_argument("--device", default="cpp_standalone", help="Brian2 device")
    parity.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parity.add_argument(
        "--duration",
        type=cli_positive,
        default=None,
        help="duration in ms (default: the network's)",
    )
    parity.add_argument("--json", action="store_true", help="print one JSON object")
    parity.set_defaults(run=_parity)

    validating = commands.add_parser(
        "validate",
        help="run a (trained) network on given trials in Brian2 and torch, compare (exit 1 if "
        "a float64 trial differs)",
    )
    common(validating)
    validating.add_argument(
        "--inputs",
        required=True,
        help=".npz with one array per source (values [N, n], spikes [N, T, n]) or "
        "'pop.var' drive ([N, T, n]), N trials",
    )
    validating.add_argument(
        "--targets",
        default="targets",
        help="the array of class labels in --inputs (default 'targets')",
    )
    validating.add_argument(
        "--readout", default=None, help="population whose most active neuron is the prediction"
    )
    validating.add_argument(
        "--steps",
        type=cli_count,
        default=None,
        help="time steps per trial (default: the network's duration)",
    )
    validating.add_argument("--samples", type=cli_count, default=None, help="trials (default: all)")
    validating.add_argument("--device", default="cpp_standalone", help="Brian2 device")
    validating.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    validating.add_argument("--json", action="store_true", help="print one JSON object")
    validating.set_defaults(run=_validate)


def _deviation(row: dict[str, Any]) -> str:
    """A population's membrane deviation for the console (none: a model without state)."""
    if row["max_abs_v"] is None:
        return "(no state)"
    return f"{row['max_abs_v']:.2e} {row['membrane_unit']}"
