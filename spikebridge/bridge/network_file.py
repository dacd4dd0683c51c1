"""The exported network: one self-describing ``.npz`` file that any engine can rebuild.

The file holds a JSON header (``__meta__``: format name and version, network name,
body, neuron model, method, dt in seconds, time steps, the model's inputs and events,
and the list of arrays) and every weight and neuron parameter as a numpy array under
its ``state_dict`` name (``projections.0.weight``, ``neurons.theta``,
``readout.feature.weight``, ...), in the dtype it was trained in. Nothing is pickled;
loading it back gives bit-identical arrays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..io import write_atomic
from ..nets import MultiTaskNet, build_net

FORMAT = "spikebridge-network"
VERSION = 1


@dataclass(frozen=True)
class NetworkFile:
    """A trained network as plain arrays plus the metadata to rebuild it."""

    meta: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray]

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def to_torch(self, dtype: torch.dtype | None = None) -> MultiTaskNet:
        """The torch network with these weights (``dtype`` default: as stored)."""
        stored = next(iter(self.arrays.values())).dtype
        dtype = dtype or (torch.float64 if stored == np.float64 else torch.float32)
        net = build_net(
            self.meta["net"], steps=self.meta["steps"], seed=self.meta["seed"], dtype=dtype
        )
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.arrays.items()})
        return net.eval()


def describe(net: MultiTaskNet, seed: int) -> NetworkFile:
    """The :class:`NetworkFile` of a network built by :func:`~spikebridge.nets.build_net`."""
    spec = net.spec
    arrays = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "net": spec.name,
        "body": spec.body,
        "neuron": spec.neuron,
        "width": spec.width,
        "seed": seed,
        "steps": getattr(net, "steps", None),
        "arrays": sorted(arrays),
    }
    neurons = getattr(net, "neurons", None) or getattr(net, "neurons1", None)
    if neurons is not None:
        meta.update(
            method=neurons.method,
            dt=neurons.dt,
            inputs=list(neurons.model.inputs),
            events=list(neurons.model.event_names),
        )
    return NetworkFile(meta, arrays)


def save_network(path: str | Path, network: NetworkFile) -> Path:
    """Write ``network`` to ``path`` (``.npz``) atomically."""
    header = np.frombuffer(json.dumps(dict(network.meta)).encode(), dtype=np.uint8)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, __meta__=header, **dict(network.arrays))  # type: ignore[arg-type]

    return write_atomic(path, write)


def load_network(path: str | Path) -> NetworkFile:
    """Read a file written by :func:`save_network`, checking its format and version."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No exported network at {path}; write one with 'spikebridge validate'.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(bytes(archive["__meta__"]).decode())
            arrays = {k: archive[k] for k in archive.files if k != "__meta__"}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path} is not a readable spikebridge network file: {exc}") from exc
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(
            f"{path} is not a {FORMAT} file of version {VERSION} "
            f"(found {meta.get('format')!r} version {meta.get('version')!r})."
        )
    missing = set(meta["arrays"]) - set(arrays)
    if missing:
        raise InputError(f"{path} lacks arrays {sorted(missing)}; it is incomplete.")
    return NetworkFile(meta, arrays)
