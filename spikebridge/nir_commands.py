"""The ``spikebridge nir import|export`` commands.

``nir import FILE --dt MS`` reads a NIR graph, builds its network description
(:func:`spikebridge.nir.import_nir`) and runs it on an engine: the data of ``--input``
(``.npy``, ``[T, *shape]`` or ``[T, batch, *shape]``; a graph with several inputs takes
``--input NAME=FILE`` per input) or, without it, seeded Bernoulli spike trains at
``--rate`` Hz into every input. It writes ``spikes.npz``, ``result.json`` and ``raster.png``
(as ``network run``), ``outputs.npz`` (every Output node, ``[T, batch, *shape]``) and
``network.npz`` (the description, for ``network run|parity`` and training).
``nir export SOURCE FILE`` writes a NIR graph of a trained checkpoint of the paper's LIF nets
(a run folder or ``checkpoint.pt``) or of a network (catalogue name, ``.py`` or ``.npz``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from .checks import cli_count, cli_index, cli_non_negative, cli_positive


def _inputs(args: argparse.Namespace, imported: Any) -> dict[str, np.ndarray]:
    from .errors import InputError

    names = sorted(imported.inputs)
    if not args.input:
        rng = np.random.default_rng(args.seed)
        p = args.rate * float(imported.network.dt)
        if not 0 <= p <= 1:
            raise InputError(f"--rate {args.rate} Hz is more than one spike per step.")
        shapes = imported.graph.shapes
        return {n: (rng.random((args.steps, *shapes[n])) < p).astype(np.float64) for n in names}
    given: dict[str, np.ndarray] = {}
    for item in args.input:
        name, sep, path = item.rpartition("=") if "=" in item else ("", "", item)
        key = name if sep else (names[0] if len(names) == 1 else "")
        if not key:
            raise InputError(
                f"The graph has inputs {names}: give --input NAME=FILE.npy for each of them."
            )
        if not Path(path).is_file():
            raise InputError(f"--input file '{path}' does not exist.")
        try:
            given[key] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"--input '{path}' is not a .npy array: {exc}") from exc
    return given


def _import(args: argparse.Namespace) -> int:
    from brian2 import ms

    from .io import write_atomic
    from .network import save_network
    from .nir import import_nir
    from .report.network import summary, write_run

    imported = import_nir(args.file, dt=args.dt * ms, method=args.method, cuba=args.cuba)
    data = _inputs(args, imported)
    options: dict[str, Any] = {}
    if args.engine == "torch":
        options["synapses"] = args.synapses
    run = imported.run(data, engine=args.engine, device=args.device, dtype=args.dtype, **options)
    out = Path(args.out)
    paths = write_run(out, run.result)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in run.outputs.items()})  # type: ignore[arg-type]

    paths["outputs"] = write_atomic(out / "outputs.npz", write)
    paths["network"] = save_network(out / "network.npz", imported.network)
    if args.json:
        report = summary(run.result)
        report["outputs"] = {k: list(np.shape(v)) for k, v in run.outputs.items()}
        report["files"] = {k: str(v) for k, v in paths.items()}
        print(json.dumps(report))
        return 0
    for key, rows in run.result.spikes.items():
        pop, _, event = key.partition(".")
        print(f"{key:<28} {len(rows):>9} events  {run.result.rate(pop, event):8.2f} Hz")
    print(", ".join(f"{k}: {v}" for k, v in paths.items()))
    return 0


def _export(args: argparse.Namespace) -> int:
    from brian2 import ms

    from .nir import export_nir, save_nir

    source = Path(args.source)
    reader_dt = None if args.reader_dt is None else args.reader_dt * ms
    if source.is_dir() or source.suffix == ".pt":
        from .bridge.nir_export import to_nir
        from .learning.checkpoint import load_trained

        if reader_dt is not None:
            from .errors import InputError

            raise InputError("--reader-dt applies to networks; a checkpoint's net uses --reader.")
        net, _ = load_trained(source)
        graph = to_nir(net, reader=args.reader)
    else:
        from .network import network_from
        from .network_commands import _options

        graph = export_nir(
            network_from(args.source, _options(args.set)), reader=args.reader, reader_dt=reader_dt
        )
    path = save_nir(args.file, graph)
    kinds: dict[str, int] = {}
    for node in graph.nodes.values():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    print(f"wrote {path}: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return 0


def add_nir_commands(sub: Any) -> None:
    """Add ``nir`` and its subcommands to the top-level parser's subparsers."""
    from .nir.exporter import READERS
    from .nir.importer import CUBA, METHODS
    from .torch.network import SYNAPSE_MODES

    nir = sub.add_parser("nir", help="NIR graphs: import and run on either engine, export")
    commands = nir.add_subparsers(dest="nir_command", required=True, metavar="COMMAND")

    importing = commands.add_parser(
        "import", help="run a NIR graph on Brian2 or torch (spikes, outputs, raster)"
    )
    importing.add_argument("file", help="a NIR graph file (nir.write)")
    importing.add_argument(
        "--dt", type=cli_positive, required=True, help="time step in ms (NIR graphs carry none)"
    )
    importing.add_argument("--method", choices=METHODS, default="exact")
    importing.add_argument(
        "--cuba",
        choices=CUBA,
        default="joint",
        help="CubaLIF/CubaLI: integrate both equations together (joint) or the current first "
        "(split: snnTorch's and Norse's order)",
    )
    importing.add_argument("--engine", choices=("brian2", "torch"), default="brian2")
    importing.add_argument(
        "--device", default=None, help="Brian2 device (default cpp_standalone) or torch device"
    )
    importing.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    importing.add_argument("--synapses", choices=SYNAPSE_MODES, default="event")
    importing.add_argument(
        "--input", action="append", metavar="[NAME=]FILE.npy", help="input data (repeatable)"
    )
    importing.add_argument(
        "--steps", type=cli_count, default=100, help="steps of the default Poisson input"
    )
    importing.add_argument(
        "--rate", type=cli_non_negative, default=100.0, help="Hz of the default input"
    )
    importing.add_argument("--seed", type=cli_index, default=0, help="seed of the default input")
    importing.add_argument("--out", required=True, help="output folder")
    importing.add_argument("--json", action="store_true", help="print one JSON object")
    importing.set_defaults(run=_import)

    exporting = commands.add_parser("export", help="write a NIR graph of a checkpoint or network")
    exporting.add_argument(
        "source", help="a training run (folder or checkpoint.pt), or a network (name, .py, .npz)"
    )
    exporting.add_argument("file", help="the NIR file to write")
    exporting.add_argument(
        "--reader",
        choices=READERS,
        default="nir",
        help="node forms for a reader: snnTorch (its 0.1 ms step) or Norse (r = 1, sum pools)",
    )
    exporting.add_argument(
        "--reader-dt",
        type=cli_positive,
        default=None,
        help="the reader's step in ms (time rescaling)",
    )
    exporting.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="a build option of the network"
    )
    exporting.set_defaults(run=_export)
