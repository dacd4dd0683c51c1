"""Where a sweep's points run: in this process, a local process pool, or a Ray cluster.

Each engine is a generator of :class:`~spikebridge.sweeps.execute.Outcome` objects in the
order the points finish; the caller writes each outcome as it arrives, so whatever finished
before an interruption is kept. Closing the generator early (an exception or Ctrl-C in the
caller) cancels the points not yet started; Ray instances the engine started are shut down.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import InputError
from .execute import Outcome, Task, execute_point

ENGINES = ("local", "ray")
#: The ``ray.remote`` options a sweep's ``resources`` may set, per point.
RAY_RESOURCE_OPTIONS = ("num_cpus", "num_gpus", "memory", "resources", "accelerator_type")

#: ``(point id, point)`` pairs still to run.
Todo = Sequence[tuple[str, dict[str, Any]]]
#: What an engine yields: the outcomes in the order the points finish.
Outcomes = Generator[Outcome, None, None]


def default_workers() -> int:
    """Workers used when none are given: every CPU core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def inline_outcomes(task: Task, todo: Todo, fixed: dict[str, Any]) -> Outcomes:
    """Run the points one after another in this process (``engine="local", workers=1``)."""
    for identifier, point in todo:
        yield execute_point(task, identifier, point, fixed)


def pool_outcomes(task: Task, todo: Todo, fixed: dict[str, Any], workers: int) -> Outcomes:
    """Run the points on ``workers`` spawned processes (torch and Brian2 do not survive fork).

    Each worker imports the task's module afresh and inherits this process's environment:
    set ``OMP_NUM_THREADS`` (e.g. to 1) so that parallel torch workers do not oversubscribe
    the cores. Ray sets it to each task's ``num_cpus`` by itself.
    """
    _check_picklable(task)
    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn")
    )
    finished = False
    try:
        futures: dict[Future[Outcome], str] = {
            executor.submit(execute_point, task, identifier, point, fixed): identifier
            for identifier, point in todo
        }
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool as error:
                outcome = Outcome.failure(futures[future], error, hint=_BROKEN_POOL)
            except Exception as error:  # an argument that did not pickle
                outcome = Outcome.failure(futures[future], error)
            yield outcome
        finished = True
    finally:
        # On an interruption, drop the points not started instead of waiting for them all.
        executor.shutdown(wait=finished, cancel_futures=not finished)


_BROKEN_POOL = (
    " (a worker process died: out of memory, a crash in native code, or a script that "
    "starts the sweep without an `if __name__ == '__main__':` guard, which spawned workers "
    "need)"
)


def ray_outcomes(
    task: Task,
    todo: Todo,
    fixed: dict[str, Any],
    *,
    workers: int | None,
    address: str | None,
    resources: Mapping[str, Any] | None,
) -> Outcomes:
    """Run the points as Ray tasks, on the cluster at ``address`` or a local instance.

    Without ``address`` a local instance with ``workers`` CPUs is started (and shut down at
    the end); with one, this process connects to that cluster and disconnects at the end. A
    Ray session the caller already opened is used as it is and left open. ``workers`` also
    caps the points in flight at once; ``resources`` are ``ray.remote`` options per point,
    e.g. ``{"num_gpus": 1}`` (default: one CPU per point).
    """
    ray = import_ray()
    options = {"num_cpus": 1, **(resources or {})}
    started = False
    if not ray.is_initialized():
        if address is None:
            ray.init(address="local", num_cpus=workers or default_workers(), **_QUIET)
        else:
            try:
                ray.init(address=address, **_QUIET)
            except Exception as error:
                raise InputError(
                    f"Could not connect to the Ray cluster at {address!r} ({error}). Check the "
                    "address (ray://HEAD:10001 from outside the cluster, HEAD:6379 on one of its "
                    "nodes) and that `ray status` works on the head node."
                ) from error
        started = True
    pending: dict[Any, str] = {}
    try:
        remote = ray.remote(**options)(execute_point)
        task_ref, fixed_ref = ray.put(task), ray.put(fixed)
        queue = iter(todo)
        limit = workers or len(todo)

        def submit_next() -> None:
            for identifier, point in queue:
                pending[remote.remote(task_ref, identifier, point, fixed_ref)] = identifier
                return

        for _ in range(limit):
            submit_next()
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            identifier = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as error:  # a worker or node that died, an object that was lost
                outcome = Outcome.failure(identifier, error)
            submit_next()
            yield outcome
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):  # finished meanwhile, or its worker is gone
                ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


_QUIET = {"include_dashboard": False, "logging_level": "warning"}


def import_ray() -> Any:
    """The ``ray`` module, or an InputError that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise InputError(
            "engine='ray' needs Ray, which is not installed. Install it with "
            "pip install 'spikebridge[ray]', or use engine='local'."
        ) from error
    return ray


def check_resources(resources: Mapping[str, Any] | None) -> None:
    """Refuse ``resources`` keys that are not per-task ``ray.remote`` options."""
    if resources is None:
        return
    if not isinstance(resources, Mapping):
        raise InputError(
            f"resources is {resources!r}; give a dict of ray.remote options, e.g. "
            "{'num_gpus': 1}."
        )
    unknown = sorted(set(resources) - set(RAY_RESOURCE_OPTIONS))
    if unknown:
        raise InputError(
            f"Unknown sweep resources {unknown}. Use ray.remote options per point: "
            f"{', '.join(RAY_RESOURCE_OPTIONS)} (custom resources as "
            "{'resources': {'name': amount}})."
        )


def _check_picklable(task: Task) -> None:
    try:
        pickle.dumps(task)
    except Exception as error:
        raise InputError(
            f"The sweep task {task!r} cannot be sent to worker processes ({error}). Define it "
            "with def at the top level of an importable module, or use workers=1."
        ) from error
