"""Checks of counts, sizes, seeds and amounts, shared by the Python API and the command line.

Every entry point that takes a count (steps, epochs, samples, neurons, repeats, a batch
size), a seed, a thread count or an amount (a duration, a rate, a learning rate) checks it
with one of these, so that ``-5``, ``0``, ``2.5`` or ``nan`` is refused with the same clear
message wherever it is given, instead of being rounded, clipped or run as one step:

================  ===========================================================
``count``         an integer >= 1 (``True``, ``2.0``, ``"3"`` and ``0`` refused)
``index``         an integer >= 0 (seeds, thread counts; ``0`` allowed)
``positive``      a finite real number > 0
``non_negative``  a finite real number >= 0
================  ===========================================================

The ``cli_*`` functions are the same checks as ``argparse`` types: they parse the text
and report a bad value as ``argument --epochs: must be an integer >= 1, got 0``.
"""

from __future__ import annotations

import argparse
import math
import numbers
from collections.abc import Callable
from typing import Any

from .errors import InputError


def _integer(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def count(value: Any, name: str) -> int:
    """``value`` as an int if it is a whole number >= 1; else an :class:`InputError`."""
    return _integer(value, name, 1)


def index(value: Any, name: str) -> int:
    """``value`` as an int if it is a whole number >= 0 (a seed, a thread count)."""
    return _integer(value, name, 0)


def _real(value: Any, name: str, what: str, accept: Callable[[float], bool]) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be {what}, got {value!r}.")
    real = float(value)
    if not math.isfinite(real) or not accept(real):
        raise InputError(f"{name} must be {what}, got {value!r}.")
    return real


def positive(value: Any, name: str) -> float:
    """``value`` as a float if it is a finite number > 0."""
    return _real(value, name, "a finite number > 0", lambda x: x > 0)


def non_negative(value: Any, name: str) -> float:
    """``value`` as a float if it is a finite number >= 0."""
    return _real(value, name, "a finite number >= 0", lambda x: x >= 0)


def optional_count(value: Any, name: str) -> int | None:
    """None, or :func:`count` of ``value``."""
    return None if value is None else count(value, name)


# -- argparse types ------------------------------------------------------------------------------
def _cli(check: Callable[[Any, str], Any], parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        try:
            return check(value, "it")
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("it ").rstrip(".")) from None

    convert.__name__ = check.__name__
    return convert


def _number(text: str) -> float | int:
    """An int if the text is one, else a float (which an integer check then refuses)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


cli_count = _cli(count, _number)
cli_index = _cli(index, _number)
cli_positive = _cli(positive, float)
cli_non_negative = _cli(non_negative, float)


def cli_list(check: Callable[[Any, str], Any]) -> Callable[[str], list[Any]]:
    """An argparse type for a comma-separated list whose items all pass ``check``."""
    item = _cli(check, _number)

    def convert(text: str) -> list[Any]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError("an empty list")
        return [item(p) for p in parts]

    convert.__name__ = f"{check.__name__} list"
    return convert
