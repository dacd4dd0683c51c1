"""The command-line options every sweeping command shares: ``--engine``, ``--address``,
``--workers``.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> _ = add_sweep_options(parser)
>>> sweep_options(parser.parse_args(["--engine", "ray", "--workers", "4"]))
{'engine': 'ray', 'workers': 4, 'address': None}
"""

from __future__ import annotations

import argparse
from typing import Any

from ..checks import cli_count
from .engines import ENGINES


def add_sweep_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add ``--engine {local,ray}``, ``--address ADDR`` and ``--workers N`` to ``parser``."""
    group = parser.add_argument_group(
        "sweep", "where the grid points run; finished points in the output folder are kept"
    )
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this machine (a process pool); ray: a Ray cluster (default: local)",
    )
    group.add_argument(
        "--address",
        metavar="ADDR",
        default=None,
        help="the Ray cluster to use (e.g. ray://head:10001 or head:6379); without it "
        "--engine ray starts a local Ray instance",
    )
    group.add_argument(
        "--workers",
        metavar="N",
        type=cli_count,
        default=None,
        help="points run at once; 1 runs them in this process (default: all CPU cores)",
    )
    return group


def sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``run_sweep`` keyword arguments of parsed :func:`add_sweep_options` options."""
    return {"engine": args.engine, "workers": args.workers, "address": args.address}
