"""Fit the s-LIF2HH unit (and the LIF baseline) to HH spike trains.

The paper's fixed s-LIF2HH constants match HH only near one input level. Here the unit's
free parameters are fitted with scipy's differential evolution on the training amplitude
levels and judged on held-out levels. Candidate parameter sets are evaluated in one batched
torch simulation (one neuron per candidate and condition, per-neuron parameters): the
engine is the generated torch step, proven identical to Brian2 by the parity suite, and the
fitted values are re-simulated with Brian2 by the study.

Differential evolution is stochastic and the count loss is piecewise constant, so one run can
stop in a poor basin: with ``restarts`` > 1 it runs from seeds ``seed, seed + 1, ...`` and keeps
the run with the lowest training loss (held-out levels play no part in the choice).

Loss of a parameter set on conditions c, averaged over both layers of the two-layer chain
(unit 1 vs HH1, unit 2 vs HH2, so that the unit alone and the chain both match):
mean_c |N_model - N_HH| / max(N_HH, 1) + 0.05 mean_c (1 - Gamma_c), with Gamma Kistler's
coincidence factor (+-2 ms): the count error is the target, the timing term breaks ties.

Fitted parameters are saved as JSON (:func:`save_fit`) with SI values and units, and
:func:`load_fit` returns Brian2 quantities ready for ``parameters=`` of any simulation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, cm, get_unit, ms, mV, ohm, uamp
from scipy.optimize import differential_evolution

from ..io import write_json
from ..model import load_model
from ..units import as_quantity
from .chains import TORCH, ChainResult, lif_chain, unit_chain
from .metrics import coincidence_factor

FIT_VERSION = 1


@dataclass(frozen=True)
class FreeParameter:
    """A fitted parameter: its model name, search bounds and unit (``log`` searches log10).

    With ``relative_to`` the search runs over a multiple of that (earlier) parameter: the
    value is ``x`` times its value, and ``unit`` is the unit it is shown in.
    """

    name: str
    low: float
    high: float
    unit: Any
    log: bool = False
    relative_to: str | None = None

    def value(self, x: np.ndarray) -> np.ndarray:
        return 10.0**x if self.log else x


#: The s-LIF2HH unit: decay (channels), decay_4, threshold, input gain, coupling, offset,
#: reset (a multiple of the threshold, at or below rest), W. Scale parameters are searched
#: in log10 (bounds are then exponents).
UNIT_SPACE: tuple[FreeParameter, ...] = (
    FreeParameter("decay", 0.5, 1.0, 1),
    FreeParameter("decay_4", 0.0, 1.0, 1),
    FreeParameter("v_th", 0.5, 3.5, mV, log=True),
    FreeParameter("R_in", -2.0, 1.5, mV / (uamp / cm**2), log=True),
    FreeParameter("w_4", 0.0, 10.0, 1),
    FreeParameter("I_0", -60.0, 10.0, uamp / cm**2),
    FreeParameter("u_reset", -3.0, 0.0, mV, relative_to="v_th"),
    FreeParameter("W", 0.0, 5.0, 1, log=True),
)
#: The LIF baseline: time constant, input resistance (1 cm2), rest (an offset), threshold,
#: reset (a multiple of the threshold, at or below 0), W.
LIF_SPACE: tuple[FreeParameter, ...] = (
    FreeParameter("tau_m", 0.0, 2.5, ms, log=True),
    FreeParameter("R_m", 1.0, 4.5, ohm, log=True),
    FreeParameter("E_L", -50.0, 300.0, mV),
    FreeParameter("v_th", 0.0, 2.5, mV, log=True),
    FreeParameter("v_reset", -3.0, 0.0, mV, relative_to="v_th"),
    FreeParameter("W", 0.0, 5.0, 1, log=True),
)
SPACES = {"s_lif2hh": UNIT_SPACE, "lif": LIF_SPACE}
CHAINS: dict[str, Callable[..., ChainResult]] = {"s_lif2hh": unit_chain, "lif": lif_chain}


def parameters_of(space: Sequence[FreeParameter], x: np.ndarray) -> tuple[dict[str, Any], Any]:
    """Model parameters (quantities, one value per column of ``x``) and the chain weight W."""
    values: dict[str, Any] = {}
    for i, p in enumerate(space):
        searched = p.value(np.asarray(x[i], dtype=float))
        values[p.name] = searched * (values[p.relative_to] if p.relative_to else p.unit)
    w = values.pop("W")
    return values, w


def chain_counts(model: str, x_bins: np.ndarray, params: Mapping[str, Any], w: Any) -> ChainResult:
    """Layer-1 and layer-2 spike times of ``model``'s chain on the torch engine."""
    return CHAINS[model](x_bins, params, w, TORCH)


#: Weight of the timing term (1 - coincidence factor) next to the count error in :func:`loss`.
TIMING_WEIGHT = 0.05


def loss(
    model_trains: list[np.ndarray],
    hh_trains: list[np.ndarray],
    duration: float,
    timing_weight: float = TIMING_WEIGHT,
) -> float:
    counts = np.array([len(t) for t in model_trains])
    reference = np.array([len(t) for t in hh_trains])
    count_error = np.abs(counts - reference) / np.maximum(reference, 1)
    timing = np.array(
        [
            1 - coincidence_factor(h, m, duration)
            for h, m in zip(hh_trains, model_trains, strict=True)
        ]
    )
    return float(count_error.mean() + timing_weight * np.nan_to_num(timing, nan=1.0).mean())


@dataclass(frozen=True)
class FitResult:
    model: str
    values: dict[str, float]  # SI values of the model parameters, and W
    loss: float
    generations: int  # of the kept run
    evaluations: int  # of all runs
    seed: int = 0  # of the kept run


def fit(
    model: str,
    x_bins: np.ndarray,
    hh_layer1: list[np.ndarray],
    hh_layer2: list[np.ndarray],
    *,
    duration: float,
    popsize: int = 12,
    maxiter: int = 60,
    seed: int = 0,
    timing_weight: float = TIMING_WEIGHT,
    restarts: int = 1,
) -> FitResult:
    """Fit ``model``'s two-layer chain to the HH chain.

    ``x_bins``: ``(steps, C)`` 1-ms input bins of the C training conditions; ``hh_layer1`` and
    ``hh_layer2``: HH1's and HH2's spike times (ms) under the same conditions;
    ``timing_weight``: weight of the timing term of :func:`loss`; ``restarts``: independent
    optimiser runs (seeds ``seed, seed + 1, ...``), the lowest training loss is kept.
    """
    if restarts < 1:
        raise ValueError(f"restarts={restarts}: at least one optimiser run is needed (use 1).")
    space = SPACES[model]
    conditions = x_bins.shape[1]
    bounds = [(p.low, p.high) for p in space]
    layer1 = (hh_layer1, duration, timing_weight)
    layer2 = (hh_layer2, duration, timing_weight)

    def objective(x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x.T).T if x.ndim == 1 else x  # (n_params, S)
        candidates = x.shape[1]
        tiled = np.repeat(x, conditions, axis=1)  # candidate-major, condition-minor
        params, w = parameters_of(space, tiled)
        result = chain_counts(model, np.tile(x_bins, (1, candidates)), params, w)
        return np.array(
            [
                0.5 * loss(result.layer1[s * conditions : (s + 1) * conditions], *layer1)
                + 0.5 * loss(result.layer2[s * conditions : (s + 1) * conditions], *layer2)
                for s in range(candidates)
            ]
        )

    runs = [
        differential_evolution(
            objective,
            bounds,
            popsize=popsize,
            maxiter=maxiter,
            seed=seed + k,
            polish=False,
            tol=0,
            vectorized=True,
            updating="deferred",
            init="sobol",
        )
        for k in range(restarts)
    ]
    best = min(range(restarts), key=lambda k: float(runs[k].fun))  # first of equal losses
    found = runs[best]
    params, w = parameters_of(space, found.x[:, None])
    values = {name: float(np.asarray(q)[0]) for name, q in params.items()}
    values["W"] = float(np.asarray(w)[0])
    evaluations = sum(int(run.nfev) for run in runs)
    return FitResult(model, values, float(found.fun), int(found.nit), evaluations, seed=seed + best)


def as_quantities(model: str, values: Mapping[str, float]) -> tuple[dict[str, Any], float]:
    """SI values (as saved) -> Brian2 quantities for ``parameters=``, and the chain weight W."""
    spec = load_model(model)
    params = {
        name: (value * get_unit(spec.dim(name)) if not spec.dim(name).is_dimensionless else value)
        for name, value in values.items()
        if name != "W"
    }
    return params, float(values["W"])


def paper_value(name: str) -> Any:
    """The paper's constant ``name`` of the s-LIF2HH unit (its model file's value)."""
    return load_model("s_lif2hh").parameters[name]


def with_units(model: str, si: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Per-neuron parameter arrays in SI as Brian2 quantities of ``model``'s dimensions."""
    spec = load_model(model)
    return {name: as_quantity(values, spec.dim(name)) for name, values in si.items()}


def save_fit(
    path: str | Path, fits: Mapping[str, Mapping[str, FitResult]], protocol: dict[str, Any]
) -> None:
    """Write fitted parameter sets (``fits[model][key]``, key a waveform or ``shared``)."""
    data = {
        "format": "spikebridge-fit",
        "version": FIT_VERSION,
        "protocol": protocol,
        "units": "SI (volt, second, ohm, amp/meter**2, ...); W in uA/cm2 per spike",
        "models": {
            model: {
                key: {
                    "values": fit.values,
                    "loss": fit.loss,
                    "generations": fit.generations,
                    "seed": fit.seed,
                }
                for key, fit in by_key.items()
            }
            for model, by_key in fits.items()
        },
    }
    write_json(path, data)


def load_fit(
    path: str | Path, model: str = "s_lif2hh", key: str = "shared"
) -> tuple[dict[str, Quantity], float]:
    """Fitted parameters of ``model`` for ``key`` (a waveform or ``shared``) and the chain W.

    >>> params, w = load_fit("reports/equivalence/fitted_parameters.json", key="square")
    >>> sb.simulate("s_lif2hh", engine="brian2", parameters=params, ...)
    """
    data = json.loads(Path(path).read_text())
    if data.get("format") != "spikebridge-fit":
        raise ValueError(f"{path} is not a spikebridge fit file (no 'format': 'spikebridge-fit').")
    try:
        values = data["models"][model][key]["values"]
    except KeyError as exc:
        available = {m: sorted(v) for m, v in data.get("models", {}).items()}
        raise KeyError(f"{path} has no fit for {model}/{key}; it has {available}.") from exc
    return as_quantities(model, values)
