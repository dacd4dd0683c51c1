"""An independent reference for convergence tests: the model's ODE right-hand side, from its
equation string through sympy, integrated by scipy's DOP853 at tight tolerances.

Only the *integrator* is independent here; the right-hand side is the model file's, read
through Brian2's parser and sympy (never re-typed), which is what a convergence test needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy
from brian2 import DEFAULT_UNITS
from brian2.parsing.sympytools import str_to_sympy
from scipy.integrate import solve_ivp

from spikebridge.model import NeuronModel


def _exprel(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-16
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0, np.expm1(safe) / safe)


def rhs(
    model: NeuronModel, values: Mapping[str, float]
) -> Callable[[float, np.ndarray], np.ndarray]:
    """f(t, y) of the model's differential equations in SI, with parameters ``values``."""
    eqs = model._eqs
    subexpressions = {name: str_to_sympy(str(eqs[name].expr)) for name in eqs.subexpr_names}
    states = list(model.state_variables)
    exprs = []
    for name in states:
        expr = str_to_sympy(str(eqs[name].expr))
        for _ in range(10):  # inline (nested) subexpressions
            expr = expr.subs({sympy.Symbol(k, real=True): v for k, v in subexpressions.items()})
        constants = {
            sym: float(DEFAULT_UNITS[sym.name])
            for sym in expr.free_symbols
            if sym.name in DEFAULT_UNITS
        }
        constants.update(
            {sym: float(values[sym.name]) for sym in expr.free_symbols if sym.name in values}
        )
        exprs.append(expr.subs(constants))
    symbols = [sympy.Symbol(name, real=True) for name in states]
    function = sympy.lambdify(symbols, exprs, modules=[{"exprel": _exprel}, "numpy"])
    return lambda t, y: np.asarray(function(*y), dtype=float)


def reference(
    model: NeuronModel,
    values: Mapping[str, float],
    y0: np.ndarray,
    t_end: float,
    samples: np.ndarray,
) -> np.ndarray:
    """DOP853 solution (rtol = atol = 1e-12 relative scale) at times ``samples``."""
    solution = solve_ivp(
        rhs(model, values),
        (0.0, t_end),
        y0,
        method="DOP853",
        rtol=1e-12,
        atol=1e-15,
        t_eval=samples,
    )
    assert solution.success, solution.message
    return solution.y.T
