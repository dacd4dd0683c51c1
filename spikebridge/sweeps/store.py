"""The folder of a sweep: its manifest and one JSON file per finished or failed point.

::

    out_dir/sweep.json            the sweep: task, fixed arguments, grid (written first)
    out_dir/points/<id>.json      {"id", "point", "result", "seconds", "engine", "host"}
    out_dir/failed/<id>.json      {"id", "point", "error", "traceback", "seconds", ...}

Every file is written atomically (:mod:`spikebridge.io`), so a point's file is complete or
absent even when the sweep is killed mid-write; a point counts as done exactly when its
result file exists. A failure file is removed once the point succeeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import write_json
from .execute import Outcome
from .grid import Grid, canonical_json

MANIFEST_NAME = "sweep.json"
#: The layout version written into every manifest.
FORMAT = "spikebridge-sweep/1"
#: Manifest entries that define the sweep: a folder holds one sweep, fixed by these.
IDENTITY = ("task", "fixed", "grid")


def manifest_for(task_name: str, grid: Grid, fixed: dict[str, Any]) -> dict[str, Any]:
    """The content of ``sweep.json`` for a sweep of ``task_name`` over ``grid``."""
    return {
        "format": FORMAT,
        "task": task_name,
        "fixed": fixed,
        "grid": grid.to_json(),
        "n_points": len(grid),
    }


class SweepStore:
    """Reads and writes the files of the sweep in ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest_path = self.root / MANIFEST_NAME
        self.points_dir = self.root / "points"
        self.failed_dir = self.root / "failed"

    def result_path(self, identifier: str) -> Path:
        return self.points_dir / f"{identifier}.json"

    def failure_path(self, identifier: str) -> Path:
        return self.failed_dir / f"{identifier}.json"

    def claim(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest``, or check that the folder already holds this same sweep."""
        if not self.manifest_path.exists():
            if self.points_dir.exists() and any(self.points_dir.iterdir()):
                raise InputError(
                    f"{self.points_dir} holds point files but {self.manifest_path} is missing, "
                    "so they cannot be matched to this sweep. Use an empty out_dir, or delete "
                    "that folder to start over."
                )
            write_json(self.manifest_path, manifest)
            return
        stored = self.read_manifest()
        differences = [
            _difference(key, stored.get(key), manifest[key])
            for key in IDENTITY
            if canonical_json(stored.get(key)) != canonical_json(manifest[key])
        ]
        if differences:
            raise InputError(
                f"{self.root} holds a different sweep ({'; '.join(differences)}), so its "
                "finished points are not results of this one. Choose another out_dir, or "
                f"delete {self.root} to run this sweep from scratch."
            )

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            raise InputError(
                f"{self.root} is not a sweep folder: {MANIFEST_NAME} is missing. Give the "
                "out_dir that run_sweep wrote."
            )
        manifest = self._read(self.manifest_path)
        if manifest.get("format") != FORMAT:
            raise InputError(
                f"{self.manifest_path} has format {manifest.get('format')!r}, not {FORMAT!r}. "
                "Rerun the sweep into a new out_dir with this version of spikebridge."
            )
        return manifest

    def finished(self, grid: Grid) -> dict[str, dict[str, Any]]:
        """Stored records of the grid's finished points, by id; checks each stored point."""
        records = {}
        for identifier, point in grid:
            path = self.result_path(identifier)
            if not path.exists():
                continue
            record = self._read(path)
            if canonical_json(record.get("point")) != canonical_json(point):
                raise InputError(
                    f"{path} holds the point {canonical_json(record.get('point'))}, but this "
                    f"sweep's point with that id is {canonical_json(point)}: the folder holds "
                    f"a different sweep. Choose another out_dir, or delete {self.root} to run "
                    "this sweep from scratch."
                )
            records[identifier] = record
        return records

    def failures(self, grid: Grid) -> dict[str, str]:
        """The recorded error of each grid point that failed and has no result yet."""
        failed = {}
        for identifier, _ in grid:
            path = self.failure_path(identifier)
            if path.exists() and not self.result_path(identifier).exists():
                failed[identifier] = str(self._read(path).get("error", "unknown error"))
        return failed

    def write_result(self, point: dict[str, Any], outcome: Outcome, engine: str) -> None:
        record = {
            "id": outcome.point_id,
            "point": point,
            "result": outcome.result,
            "seconds": outcome.seconds,
            "engine": engine,
            "host": outcome.host,
        }
        write_json(self.result_path(outcome.point_id), record)
        self.failure_path(outcome.point_id).unlink(missing_ok=True)

    def write_failure(self, point: dict[str, Any], outcome: Outcome, engine: str) -> None:
        record = {
            "id": outcome.point_id,
            "point": point,
            "error": outcome.error,
            "traceback": outcome.traceback,
            "seconds": outcome.seconds,
            "engine": engine,
            "host": outcome.host,
        }
        write_json(self.failure_path(outcome.point_id), record)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(
                f"{path} cannot be read ({error}). Delete that file; a rerun recomputes "
                "what it held."
            ) from error
        if not isinstance(data, dict):
            raise InputError(f"{path} does not hold a JSON object. Delete it and rerun.")
        return data


def _difference(key: str, stored: Any, now: Any) -> str:
    return f"{key} differs: stored {_short(stored)}, now {_short(now)}"


def _short(value: Any, limit: int = 200) -> str:
    text = canonical_json(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
