"""``run_sweep``: run a task on every point of a grid, resumably, locally or on Ray.

Failures: a point whose task raises is recorded in ``out_dir/failed/<id>.json`` (error and
traceback) and the other points go on. After every point has run, :func:`run_sweep` raises
:class:`SweepFailedError` naming the failed points; the error's ``result`` holds everything
that finished. A rerun of the same call skips the finished points and runs the failed and
missing ones only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..errors import InputError, SpikebridgeError
from .engines import (
    ENGINES,
    Outcomes,
    check_resources,
    default_workers,
    import_ray,
    inline_outcomes,
    pool_outcomes,
    ray_outcomes,
)
from .execute import Task
from .grid import Grid, as_grid, json_value
from .store import SweepStore, manifest_for


@dataclass(frozen=True)
class SweepResult:
    """A sweep's points and results in grid order (``None`` where a point has no result)."""

    out_dir: Path
    ids: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    results: tuple[dict[str, Any] | None, ...]
    #: Points computed by this call.
    ran: int
    #: Points whose result was already in ``out_dir`` and were not run again.
    skipped: int
    #: ``{id: "ErrorType: message"}`` of points without a result that failed.
    failures: Mapping[str, str]

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def complete(self) -> bool:
        """Whether every point of the grid has a result."""
        return all(result is not None for result in self.results)

    def __len__(self) -> int:
        return len(self.points)

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per finished point: ``id``, the point's values, the result's values.

        A result key equal to a point key (or ``id``) is renamed ``result.<key>``. Feed the
        rows to ``pandas.DataFrame`` or ``csv.DictWriter`` as they are.
        """
        rows = []
        for identifier, point, result in zip(self.ids, self.points, self.results, strict=True):
            if result is None:
                continue
            row: dict[str, Any] = {"id": identifier, **point}
            for key, value in result.items():
                row[f"result.{key}" if key in row else key] = value
            rows.append(row)
        return rows


class SweepFailedError(SpikebridgeError, RuntimeError):
    """Some points of a sweep failed; ``result`` holds every point that finished."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result
        listed = "; ".join(f"{key} ({error})" for key, error in list(result.failures.items())[:5])
        more = f"; and {result.failed - 5} more" if result.failed > 5 else ""
        finished = sum(value is not None for value in result.results)
        super().__init__(
            f"{result.failed} of {len(result)} sweep points failed: {listed}{more}. Tracebacks "
            f"are in {result.out_dir / 'failed'}. Fix the cause and rerun the same sweep: the "
            f"{finished} finished points are kept and only the others run."
        )


def run_sweep(
    task: Task,
    grid: Grid | Mapping[str, Iterable[Any]],
    out_dir: str | Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    resources: Mapping[str, Any] | None = None,
    progress: bool = True,
    fixed: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Run ``task(point, **fixed)`` for each point of ``grid`` not yet finished in ``out_dir``.

    ``task`` is a function defined at the top level of a module (worker processes and Ray
    import it by name) returning a dict of JSON values (numpy values are converted). Each
    result is written atomically to ``out_dir/points/<id>.json`` as it arrives; ``sweep.json``
    records task, grid and ``fixed``, and a folder holding a different sweep is refused.

    ``engine="local"``: ``workers=1`` runs the points in this process; more use a pool of
    spawned processes (default: one per CPU core). ``engine="ray"``: Ray tasks on the cluster
    at ``address``, or on a new local instance with ``workers`` CPUs when it is None (an
    already initialised Ray session is used as it is); there ``workers`` caps the points in
    flight. ``resources`` are per-point ``ray.remote`` options such as ``{"num_gpus": 1}``
    (default one CPU; the local engine ignores them). ``progress=False`` hides the bar.

    Returns a :class:`SweepResult` in grid order. A point whose task raises does not stop the
    others; after all points ran, :class:`SweepFailedError` is raised if any failed (its
    ``result`` holds the finished ones). A rerun runs only the failed and missing points.
    """
    grid = as_grid(grid)
    fixed_json = json_value(dict(fixed or {}), "fixed")
    _check_engine(engine, workers, address)
    check_resources(resources)
    if engine == "ray":
        import_ray()  # before anything is written: a missing Ray is an installation problem
    store = SweepStore(out_dir)
    store.claim(manifest_for(task_name(task), grid, fixed_json))

    stored = store.finished(grid)
    results: dict[str, dict[str, Any]] = {key: record["result"] for key, record in stored.items()}
    todo = [(key, point) for key, point in grid if key not in stored]
    points = dict(zip(grid.ids, grid.points, strict=True))
    failures: dict[str, str] = {}
    bar = tqdm(
        total=len(grid),
        initial=len(stored),
        desc=f"sweep {store.root.name}",
        unit="point",
        disable=not progress,
    )
    with bar:
        if todo:
            outcomes = _outcomes(task, todo, fixed_json, engine, workers, address, resources)
            with closing(outcomes):
                for outcome in outcomes:
                    key = outcome.point_id
                    if outcome.result is not None:
                        store.write_result(points[key], outcome, engine)
                        results[key] = outcome.result
                    else:
                        store.write_failure(points[key], outcome, engine)
                        failures[key] = str(outcome.error)
                        bar.set_postfix(failed=len(failures))
                    bar.update(1)
    sweep = SweepResult(
        out_dir=store.root,
        ids=grid.ids,
        points=grid.points,
        results=tuple(results.get(key) for key in grid.ids),
        ran=len(todo) - len(failures),
        skipped=len(stored),
        failures={key: failures[key] for key in grid.ids if key in failures},
    )
    if failures:
        raise SweepFailedError(sweep)
    return sweep


def load_sweep(out_dir: str | Path) -> SweepResult:
    """The points and stored results of the sweep in ``out_dir``, in grid order, running
    nothing (``ran`` 0, ``skipped`` the finished points, ``failures`` as recorded)."""
    store = SweepStore(out_dir)
    grid = Grid.from_json(store.read_manifest()["grid"])
    stored = store.finished(grid)
    return SweepResult(
        out_dir=store.root,
        ids=grid.ids,
        points=grid.points,
        results=tuple(stored[key]["result"] if key in stored else None for key in grid.ids),
        ran=0,
        skipped=len(stored),
        failures=store.failures(grid),
    )


def task_name(task: Task) -> str:
    """``module.qualname`` of a top-level function; other callables are refused."""
    module = getattr(task, "__module__", None)
    qualname = getattr(task, "__qualname__", None)
    if not callable(task) or module is None or qualname is None or "<" in qualname:
        raise InputError(
            f"The sweep task {task!r} is not a function defined at the top level of a module "
            "(lambdas, nested functions and functools.partial cannot be sent to workers or "
            "named in sweep.json). Define it with def at module level and pass constant "
            "arguments as fixed={...}."
        )
    return f"{module}.{qualname}"


def _check_engine(engine: str, workers: int | None, address: str | None) -> None:
    if engine not in ENGINES:
        raise InputError(f"Unknown sweep engine {engine!r}. Use one of: {', '.join(ENGINES)}.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise InputError(f"workers is {workers!r}; give a whole number >= 1, or None.")
    if workers is not None and workers < 1:
        raise InputError(
            f"workers is {workers}; give 1 (run in this process) or more (parallel workers)."
        )
    if address is not None and engine != "ray":
        raise InputError(
            f"A cluster address ({address!r}) needs engine='ray' (--engine ray); the local "
            "engine runs on this machine only."
        )


def _outcomes(
    task: Task,
    todo: list[tuple[str, dict[str, Any]]],
    fixed: dict[str, Any],
    engine: str,
    workers: int | None,
    address: str | None,
    resources: Mapping[str, Any] | None,
) -> Outcomes:
    if engine == "ray":
        return ray_outcomes(
            task, todo, fixed, workers=workers, address=address, resources=resources
        )
    count = workers or default_workers()
    if count == 1:
        return inline_outcomes(task, todo, fixed)
    return pool_outcomes(task, todo, fixed, count)
