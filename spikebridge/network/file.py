"""Network files: a description saved as one self-describing ``.npz``, loaded back losslessly.

The file holds a JSON header (``__meta__``: format ``spikebridge-network``, its version,
and the description: populations, sources, inputs, projections, dt, schedule) and every
array of the description under a name the header refers to (``{"array": key}``). Numbers
are SI floats with their dimension as Brian2's seven exponents, so quantities come back
exactly; arrays keep their dtype; distributions keep their fields and seeds, so they draw
the same values. A population whose model is a file outside the catalogue stores that
file's source text too, so the network file runs on another machine (the model is
written to a cache folder keyed by its SHA-256 and loaded from there when the original
path is missing or holds other text). Nothing is pickled. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import get_dimensions

from ..errors import InputError
from ..io import write_atomic
from ..model import NeuronModel, list_models
from .connectivity import Connectivity, connectivity_from_dict
from .description import (
    ConstantSource,
    CurrentInput,
    Network,
    PoissonSource,
    Population,
    Projection,
    Source,
    SpikeSource,
    Synapse,
    ValueSource,
)
from .values import Normal, Uniform, dim_from_list, dim_to_list, with_dim

FORMAT = "spikebridge-network"
VERSION = 2


class _Arrays:
    """Collects arrays while the header is written; hands them out while it is read."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None) -> None:
        self.arrays: dict[str, np.ndarray] = dict(arrays or {})

    def put(self, key: str, value: Any) -> dict[str, Any]:
        array = np.asarray(value)
        if array.dtype == object:
            raise InputError(f"{key}: cannot store an object array in a network file.")
        self.arrays[key] = array
        return {"array": key, "dim": dim_to_list(get_dimensions(value))}

    def get(self, ref: Mapping[str, Any]) -> Any:
        key = ref["array"]
        if key not in self.arrays:
            raise InputError(f"The network file lacks the array '{key}'; it is incomplete.")
        return with_dim(self.arrays[key], dim_from_list(ref["dim"]))


def _value(value: Any, key: str, store: _Arrays) -> Any:
    if value is None:
        return None
    if isinstance(value, Uniform):
        return {
            "distribution": "uniform",
            "low": _value(value.low, f"{key}.low", store),
            "high": _value(value.high, f"{key}.high", store),
        }
    if isinstance(value, Normal):
        return {
            "distribution": "normal",
            "mean": _value(value.mean, f"{key}.mean", store),
            "std": _value(value.std, f"{key}.std", store),
        }
    array = np.asarray(value)
    if array.ndim == 0 and (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        scalar = array.item()
        return {
            "scalar": scalar,
            "dim": dim_to_list(get_dimensions(value)),
            "kind": "int" if isinstance(scalar, int) else "float",
        }
    return store.put(key, value)


def _unvalue(data: Any, store: _Arrays) -> Any:
    if data is None:
        return None
    if "distribution" in data:
        cls = Uniform if data["distribution"] == "uniform" else Normal
        first, second = ("low", "high") if cls is Uniform else ("mean", "std")
        return cls(_unvalue(data[first], store), _unvalue(data[second], store))
    if "scalar" in data:
        number = int(data["scalar"]) if data.get("kind") == "int" else float(data["scalar"])
        dim = dim_from_list(data["dim"])
        return number if dim.is_dimensionless else Quantity(number, dim=dim)
    return store.get(data)


def _mapping(values: Mapping[str, Any], key: str, store: _Arrays) -> dict[str, Any]:
    return {name: _value(v, f"{key}.{name}", store) for name, v in values.items()}


def _unmapping(data: Mapping[str, Any], store: _Arrays) -> dict[str, Any]:
    return {name: _unvalue(v, store) for name, v in data.items()}


# -- models ------------------------------------------------------------------------------------
def _model_to_dict(model: Any) -> dict[str, Any]:
    if isinstance(model, NeuronModel):
        if model.name in list_models() and Path(model.source).parent.name == "equations":
            return {"name": model.name}
        model = model.source
    text = str(model)
    if not text.endswith(".py") and text in list_models():
        return {"name": text}
    path = Path(text)
    if not path.is_file():
        raise InputError(f"Model file '{path}' does not exist; cannot store the network.")
    return {"file": str(path), "source": path.read_text(encoding="utf-8")}


def _model_from_dict(data: Mapping[str, Any]) -> str:
    if "name" in data:
        return str(data["name"])
    path, source = Path(data["file"]), str(data["source"])
    if path.is_file() and path.read_text(encoding="utf-8") == source:
        return str(path)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("SPIKEBRIDGE_CACHE", Path(tempfile.gettempdir()) / "spikebridge"))
    stored = cache / "models" / digest / path.name
    if not stored.is_file():
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, lambda tmp: tmp.write_text(source, encoding="utf-8"))
    return str(stored)


# -- elements ----------------------------------------------------------------------------------
def _population(p: Population, store: _Arrays) -> dict[str, Any]:
    key = f"populations.{p.name}"
    return {
        "name": p.name,
        "model": _model_to_dict(p.model),
        "shape": list(p.shape),  # type: ignore[arg-type]
        "method": p.method,
        "parameters": _mapping(p.parameters, f"{key}.parameters", store),
        "initial": _mapping(p.initial, f"{key}.initial", store),
        "trainable": list(p.trainable),
        "seed": p.seed,
    }


def _source(s: Source, store: _Arrays) -> dict[str, Any]:
    key = f"sources.{s.name}"
    data: dict[str, Any] = {"kind": type(s).__name__, "name": s.name, "shape": list(s.shape)}  # type: ignore[arg-type]
    if isinstance(s, PoissonSource):
        data.update(
            rates=_value(s.rates, f"{key}.rates", store), realisation=s.realisation, seed=s.seed
        )
    elif isinstance(s, SpikeSource):
        data["indices"] = store.put(f"{key}.indices", s.indices)
        data["steps"] = None if s.steps is None else store.put(f"{key}.steps", s.steps)
        data["times"] = None if s.times is None else _value(s.times, f"{key}.times", store)
    elif isinstance(s, ValueSource):
        data["values"] = None if s.values is None else store.put(f"{key}.values", s.values)
        data["constant_unit"] = s.constant_unit
    else:
        data["value"] = float(s.value)
    return data


def _unsource(data: Mapping[str, Any], store: _Arrays) -> Source:
    kind, name, shape = data["kind"], data["name"], tuple(data["shape"])
    if kind == "PoissonSource":
        return PoissonSource(
            name, shape, _unvalue(data["rates"], store), data["realisation"], int(data["seed"])
        )
    if kind == "SpikeSource":
        steps = None if data["steps"] is None else np.asarray(store.get(data["steps"]))
        times = None if data["times"] is None else _unvalue(data["times"], store)
        return SpikeSource(name, shape, np.asarray(store.get(data["indices"])), steps, times)
    if kind == "ValueSource":
        values = None if data["values"] is None else np.asarray(store.get(data["values"]))
        return ValueSource(name, shape, values, bool(data["constant_unit"]))
    if kind == "ConstantSource":
        return ConstantSource(name, shape, float(data["value"]))
    raise InputError(f"Unknown source kind {kind!r} in the network file.")


def _synapse(s: Synapse) -> dict[str, Any]:
    return {
        "model": s.model,
        "on_pre": s.on_pre,
        "on_post": s.on_post,
        "on_event": s.on_event,
        "method": s.method,
    }


def _connectivity(c: Connectivity, key: str, store: _Arrays) -> dict[str, Any]:
    data = c.to_dict()
    data["arrays"] = {
        name: store.put(f"{key}.{name}", a)["array"] for name, a in c.arrays().items()
    }
    return data


def _unconnectivity(data: Mapping[str, Any], store: _Arrays) -> Connectivity:
    arrays = {name: store.arrays[key] for name, key in data.get("arrays", {}).items()}
    return connectivity_from_dict({k: v for k, v in data.items() if k != "arrays"}, arrays)


def _projection(p: Projection, store: _Arrays) -> dict[str, Any]:
    key = f"projections.{p.name}"
    return {
        "name": p.name,
        "source": p.source,
        "target": p.target,
        "synapse": _synapse(p.synapse),
        "connectivity": _connectivity(p.connectivity, f"{key}.connectivity", store),
        "weight": p.weight,
        "weights": _value(p.weights, f"{key}.weights", store),
        "bias": _value(p.bias, f"{key}.bias", store),
        "delay": _value(p.delay, f"{key}.delay", store),
        "values": _mapping(p.values, f"{key}.values", store),
        "trainable": p.trainable,
        "seed": p.seed,
    }


def network_to_dict(network: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header and the arrays of ``network``."""
    store = _Arrays()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "name": network.name,
        "dt": _value(network.dt, "dt", store),
        "schedule": network.schedule,
        "duration": _value(network.duration, "duration", store),
        "doc": network.doc,
        "populations": [_population(p, store) for p in network.populations],
        "sources": [_source(s, store) for s in network.sources],
        "inputs": [
            {
                "target": c.target,
                "variable": c.variable,
                "values": _value(c.values, f"inputs.{c.target}.{c.variable}", store),
            }
            for c in network.inputs
        ],
        "projections": [_projection(p, store) for p in network.projections],
        "tied": [list(group) for group in network.tied],
    }
    return header, store.arrays


def network_from_dict(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Network:
    """Inverse of :func:`network_to_dict`."""
    store = _Arrays(dict(arrays))
    populations = tuple(
        Population(
            p["name"],
            _model_from_dict(p["model"]),
            tuple(p["shape"]),
            p["method"],
            _unmapping(p["parameters"], store),
            _unmapping(p["initial"], store),
            tuple(p["trainable"]),
            int(p["seed"]),
        )
        for p in header["populations"]
    )
    sources = tuple(_unsource(s, store) for s in header["sources"])
    inputs = tuple(
        CurrentInput(c["target"], c["variable"], _unvalue(c["values"], store))
        for c in header["inputs"]
    )
    projections = tuple(
        Projection(
            p["name"],
            p["source"],
            p["target"],
            Synapse(**p["synapse"]),
            _unconnectivity(p["connectivity"], store),
            p["weight"],
            _unvalue(p["weights"], store),
            _unvalue(p["bias"], store),
            _unvalue(p["delay"], store),
            _unmapping(p["values"], store),
            bool(p["trainable"]),
            int(p["seed"]),
        )
        for p in header["projections"]
    )
    return Network(
        header["name"],
        _unvalue(header["dt"], store),
        populations,
        sources,
        projections,
        inputs,
        header["schedule"],
        _unvalue(header["duration"], store),
        header["doc"],
    )


def save_network(path: str | Path, network: Network) -> Path:
    """Write ``network`` to ``path`` (``.npz``) atomically."""
    header, arrays = network_to_dict(network)
    meta = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, __meta__=meta, **arrays)  # type: ignore[arg-type]

    return write_atomic(path, write)


def load_network(path: str | Path) -> Network:
    """Read a network file, checking its format and version."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No network file at {path}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(bytes(archive["__meta__"]).decode())
            arrays = {k: archive[k] for k in archive.files if k != "__meta__"}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path} is not a readable spikebridge network file: {exc}") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise InputError(
            f"{path} is not a {FORMAT} file of version {VERSION} (found "
            f"{header.get('format')!r} version {header.get('version')!r})."
        )
    return network_from_dict(header, arrays)
