"""Network modules: a network written as a Python module that builds its description.

As a model file holds a model, a network module holds a network: a module docstring
stating what the network is (and its source), and a function ``build(**options) ->
Network`` whose keyword options have defaults (sizes, durations, seeds). The classic
networks ship in the top-level ``networks/`` folder (installed as
``spikebridge.networks``); :func:`load_network_module` also reads a user's file, and
:func:`network_from` accepts a catalogue name, a ``.py`` network module or a saved
``.npz`` network file.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import inspect
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import InputError, UnknownModelError
from ..io import import_file
from .description import Network

NETWORKS_PACKAGE = "spikebridge.networks"


def list_networks() -> list[str]:
    """Names of the networks shipped in ``networks/``, sorted."""
    files = importlib.resources.files(NETWORKS_PACKAGE)
    return sorted(
        entry.name[:-3]
        for entry in files.iterdir()
        if entry.name.endswith(".py") and not entry.name.startswith("_")
    )


def load_network_module(name_or_path: str | Path) -> ModuleType:
    """The module of a catalogue network or of a network file (checked for ``build``)."""
    key = str(name_or_path)
    path = Path(key)
    if key.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UnknownModelError(f"Network file '{path}' does not exist.")
        module = import_file(path, "network file", InputError)
    else:
        if key not in list_networks():
            raise UnknownModelError(
                f"Unknown network '{key}'. Available networks: {', '.join(list_networks())}; "
                "or pass the path of a network file (.py) or a saved network (.npz)."
            )
        module = importlib.import_module(f"{NETWORKS_PACKAGE}.{key}")
    build = getattr(module, "build", None)
    if not callable(build):
        raise InputError(
            f"Network file '{getattr(module, '__file__', key)}' defines no build() function; a "
            "network file defines build(**options) -> Network."
        )
    if not (module.__doc__ or "").strip():
        raise InputError(
            f"Network file '{getattr(module, '__file__', key)}' has no docstring; state what "
            "the network is in the module docstring."
        )
    return module


def build_options(module: ModuleType) -> dict[str, Any]:
    """The keyword options of a network module's ``build`` with their defaults."""
    signature = inspect.signature(module.build)
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def network_from(name_or_path: str | Path, options: Mapping[str, Any] | None = None) -> Network:
    """A network from a catalogue name, a network module (``.py``) or a network file (``.npz``)."""
    key = str(name_or_path)
    if key.endswith(".npz"):
        from .file import load_network

        if options:
            raise InputError("A saved network (.npz) takes no build options.")
        return load_network(key)
    module = load_network_module(key)
    known = build_options(module)
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        raise InputError(
            f"Network '{key}' has no option(s) {unknown}; its options are: "
            f"{', '.join(f'{k}={v!r}' for k, v in known.items()) or 'none'}."
        )
    network = module.build(**dict(options or {}))
    if not isinstance(network, Network):
        raise InputError(
            f"build() of network '{key}' returned {type(network).__name__}, not a Network."
        )
    return network
