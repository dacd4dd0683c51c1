r"""Discretisation of a leak: the per-step decay factor beta of tau du/dt = -u for each method.

This module is the one place where a time constant and a per-step decay are converted::

    exact   beta = exp(-dt / tau)         tau = -dt / log(beta)
    euler   beta = 1 - dt / tau           tau = dt / (1 - beta)

snnTorch's ``beta`` and the ``decay`` of the paper's deep-learning code are such factors;
which formula applies depends on how the dynamics were integrated. ``dt`` and ``tau`` are in
the same time unit (or both Brian2 quantities).
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("exact", "euler")


def _ratio(dt: Any, tau: Any) -> np.ndarray:
    return np.asarray(dt / tau, dtype=float)


def decay_from_tau(tau: Any, dt: Any, method: str) -> np.ndarray:
    """The per-step decay beta of a leak with time constant ``tau`` integrated at ``dt``."""
    ratio = _ratio(dt, tau)
    if method == "exact":
        return np.exp(-ratio)
    if method == "euler":
        return 1 - ratio
    raise ValueError(f"Unknown method '{method}'. Use one of: {', '.join(METHODS)}.")


def tau_from_decay(decay: Any, dt: Any, method: str) -> Any:
    """The time constant (in the unit of ``dt``) whose leak decays by ``decay`` per step."""
    beta = np.asarray(decay, dtype=float)
    if np.any(beta >= 1) or (method == "exact" and np.any(beta <= 0)):
        raise ValueError(
            f"decay must be below 1{' and above 0' if method == 'exact' else ''} to be a leak, "
            f"got {decay}."
        )
    if method == "exact":
        return -dt / np.log(beta)
    if method == "euler":
        return dt / (1 - beta)
    raise ValueError(f"Unknown method '{method}'. Use one of: {', '.join(METHODS)}.")
