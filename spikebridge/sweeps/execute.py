"""One grid point, run wherever the engine puts it: in-process, a pool worker or a Ray task.

:func:`execute_point` never raises for an error of the task: it returns an :class:`Outcome`
holding either the task's result as plain JSON or the error and its traceback, formatted in
the process where it happened. The process that owns the sweep folder writes the outcome.
"""

from __future__ import annotations

import copy
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .grid import json_value

#: The signature of a sweep task: ``task(point, **fixed) -> result``.
Task = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Outcome:
    """What became of one point: ``result`` (plain JSON) or ``error`` with its traceback."""

    point_id: str
    result: dict[str, Any] | None
    error: str | None
    traceback: str | None
    seconds: float
    host: str

    @classmethod
    def failure(
        cls, point_id: str, error: BaseException, seconds: float = 0.0, hint: str = ""
    ) -> Outcome:
        """The outcome of a point whose task, worker or transport raised ``error``."""
        return cls(
            point_id,
            None,
            f"{type(error).__name__}: {error}{hint}",
            "".join(traceback.format_exception(error)),
            seconds,
            socket.gethostname(),
        )


def execute_point(
    task: Task, point_id: str, point: dict[str, Any], fixed: dict[str, Any]
) -> Outcome:
    """Run ``task(point, **fixed)`` and return its JSON result or its error as an Outcome."""
    start = time.perf_counter()
    try:
        value = task(copy.deepcopy(point), **copy.deepcopy(fixed))
        if not isinstance(value, Mapping):
            raise TypeError(
                f"the task returned {type(value).__name__}, not a dict; return the point's "
                "result as {name: value}"
            )
        result = json_value(value, "The task's result", allow_nan=True)
    except Exception as error:
        return Outcome.failure(point_id, error, time.perf_counter() - start)
    return Outcome(point_id, result, None, None, time.perf_counter() - start, socket.gethostname())
