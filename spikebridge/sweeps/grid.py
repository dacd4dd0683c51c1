"""Sweep grids: ordered axes and explicit points, with a stable id per point.

A grid is the cartesian product of its axes (first axis slowest, as ``itertools.product``)
followed by the explicit points, in the order given. Every value must be plain JSON (numbers,
strings, booleans, None, lists, dicts with string keys): the points are stored in JSON files
and a point's id is derived from its canonical JSON, so it does not depend on dict order, on
the process that computed it or on the machine.

>>> grid = Grid({"model": ["lif", "hh"], "seed": [0, 1]})
>>> [point for _, point in grid][:2]
[{'model': 'lif', 'seed': 0}, {'model': 'lif', 'seed': 1}]
>>> point_id({"seed": 0, "model": "lif"}) == point_id({"model": "lif", "seed": 0})
True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import InputError

#: Characters of the readable part of a point id shorter than this are kept as they are.
ID_PREFIX_LENGTH = 64
#: Hex digits of the canonical JSON's SHA-256 that end a point id.
ID_HASH_LENGTH = 10

_UNSAFE_IN_ID = re.compile(r"[^A-Za-z0-9_.+-]+")


def json_value(value: Any, where: str, *, allow_nan: bool = False) -> Any:
    """``value`` as plain JSON (tuples become lists, numpy scalars and arrays Python values).

    Raises :class:`InputError` naming ``where`` for anything JSON cannot store exactly:
    Brian2 quantities, objects, dicts with non-string keys, and (unless ``allow_nan``) NaN
    or infinite floats.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "dim"):  # a Brian2 quantity (an ndarray subclass): tolist() drops units
        raise InputError(
            f"{where} is {value!r}, a quantity with units, which JSON cannot store. "
            "Give its magnitude in a unit you state in the name (e.g. 'amplitude_nA': 0.2) "
            "and attach the unit inside the task."
        )
    if isinstance(value, np.generic | np.ndarray):
        return json_value(value.tolist(), where, allow_nan=allow_nan)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not allow_nan and not math.isfinite(value):
            raise InputError(
                f"{where} is {value}, which has no exact JSON form. Use a finite number "
                "(or a string such as 'inf' that the task interprets)."
            )
        return float(value)
    if isinstance(value, list | tuple):
        return [
            json_value(item, f"{where}[{i}]", allow_nan=allow_nan) for i, item in enumerate(value)
        ]
    if isinstance(value, Mapping):
        normalised = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(
                    f"{where} has the key {key!r} ({type(key).__name__}); JSON keys are "
                    f"strings. Use {str(key)!r} instead."
                )
            normalised[key] = json_value(item, f"{where}[{key!r}]", allow_nan=allow_nan)
        return normalised
    raise InputError(
        f"{where} is {value!r} ({type(value).__name__}), which JSON cannot store. Use numbers, "
        "strings, booleans, None, lists or dicts with string keys (e.g. a model's name "
        "rather than the model object, a path as a string)."
    )


def canonical_json(value: Any) -> str:
    """The canonical text of a JSON value: sorted keys, no spaces (what point ids hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_id(point: Mapping[str, Any]) -> str:
    """A stable, file-name-safe id: ``key=value`` pairs in key order, then a short hash.

    ``{"model": "lif", "seed": 1}`` gives ``model=lif_seed=1-<10 hex digits>``; the hash is of
    the canonical JSON, so two different points never share an id even where the readable
    part is shortened or sanitised.
    """
    text = canonical_json(point)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_HASH_LENGTH]
    pairs = []
    for key in sorted(point):
        value = point[key]
        label = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        pairs.append(f"{_safe(key)}={_safe(label)}")
    prefix = "_".join(pairs)[:ID_PREFIX_LENGTH] or "point"
    return f"{prefix}-{digest}"


def _safe(text: str) -> str:
    return _UNSAFE_IN_ID.sub("-", text)


class Grid:
    """Ordered axes ``{name: [values, ...]}`` (their cartesian product) plus explicit points.

    ``Grid({"amplitude": [0.1, 0.2], "seed": [0, 1]}, points=[{"amplitude": 1.0, "seed": 0}])``
    has five points: the four combinations (amplitude slowest) and the explicit one.
    """

    def __init__(
        self,
        axes: Mapping[str, Iterable[Any]] | None = None,
        points: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        self.axes: dict[str, list[Any]] = _checked_axes(axes or {})
        self.extra_points: list[dict[str, Any]] = _checked_points(points or [])
        combined = [dict(zip(self.axes, values, strict=True)) for values in self._product()]
        combined += self.extra_points
        if not combined:
            raise InputError(
                "The sweep grid has no points. Give at least one axis, e.g. "
                "Grid({'seed': [0, 1]}), or explicit points=[{...}]."
            )
        self.points: tuple[dict[str, Any], ...] = tuple(combined)
        n_product = len(combined) - len(self.extra_points)
        self.ids: tuple[str, ...] = _unique_ids(self.points, n_product)

    def _product(self) -> Iterator[tuple[Any, ...]]:
        if not self.axes:
            return iter(())
        return itertools.product(*self.axes.values())

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(id, point)`` pairs in grid order."""
        return iter(zip(self.ids, self.points, strict=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grid) and canonical_json(self.to_json()) == canonical_json(
            other.to_json()
        )

    def __hash__(self) -> int:
        return hash(canonical_json(self.to_json()))

    def __repr__(self) -> str:
        return f"Grid(axes={self.axes!r}, points={self.extra_points!r})"

    def to_json(self) -> dict[str, Any]:
        """The grid as stored in ``sweep.json``: ``{"axes": {...}, "points": [...]}``."""
        return {"axes": self.axes, "points": self.extra_points}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grid:
        """The grid that :meth:`to_json` wrote."""
        return cls(data.get("axes") or {}, data.get("points") or [])


def as_grid(grid: Grid | Mapping[str, Iterable[Any]]) -> Grid:
    """``grid`` itself, or the grid of the axes in a plain ``{name: values}`` mapping."""
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid(grid)
    raise InputError(
        f"A sweep grid is a Grid or a mapping {{axis: [values, ...]}}, not "
        f"{type(grid).__name__}. For a list of points use Grid(points=[...])."
    )


def _checked_axes(axes: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    checked: dict[str, list[Any]] = {}
    for name, values in axes.items():
        if not isinstance(name, str) or not name:
            raise InputError(f"Axis name {name!r} is not a non-empty string. Name each axis.")
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise InputError(
                f"Axis '{name}' is {values!r}; an axis is a list of values. "
                f"Write {{'{name}': [{values!r}]}} for a single value."
            )
        listed = list(values)
        if not listed:
            raise InputError(
                f"Axis '{name}' has no values, so the grid would be empty. Give it at least "
                "one value or leave the axis out."
            )
        checked[name] = [json_value(v, f"Axis '{name}' value {i}") for i, v in enumerate(listed)]
    return checked


def _checked_points(points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise InputError(f"Explicit point {i} is {point!r}; a point is a dict {{name: value}}.")
        checked.append(json_value(point, f"Explicit point {i}"))
    return checked


def _unique_ids(points: tuple[dict[str, Any], ...], n_product: int) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    ids = []
    for i, point in enumerate(points):
        identifier = point_id(point)
        if identifier in seen:
            first = seen[identifier]
            raise InputError(
                f"The grid holds the point {canonical_json(point)} twice "
                f"({_where(first, n_product)} and {_where(i, n_product)}), which would compute "
                "and store it twice. Remove "
                "the repeated axis value or explicit point."
            )
        seen[identifier] = i
        ids.append(identifier)
    return tuple(ids)


def _where(index: int, n_product: int) -> str:
    if index < n_product:
        return f"combination {index} of the axes"
    return f"explicit point {index - n_product}"
