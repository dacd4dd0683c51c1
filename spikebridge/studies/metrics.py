r"""Spike-train comparison metrics of the equivalence study.

Spike times are in ms (1-d arrays, sorted). ``reference`` is the HH train, ``model`` the
train compared with it.

* :func:`spike_count_relative_error`: |N_model - N_ref| / N_ref.
* :func:`normalised_spike_time_error` (the paper's): sum_k |t_k^model - t_k^ref| / N / mean
  ISI of the reference; defined when both trains have the same number of spikes.
* :func:`isi_difference` (the paper's): mean ISI(model) - mean ISI(ref), first interval
  excluded (ms).
* :func:`coincidence_factor` (Kistler et al. 1997): Gamma = (N_coinc - <N_coinc>) /
  (0.5 (N_ref + N_model)) / (1 - 2 nu Delta), with <N_coinc> = 2 nu Delta N_ref, nu the
  model's rate, N_coinc the number of reference spikes with a model spike within +-Delta
  (each model spike used once). 1 for identical trains, about 0 for chance.
* :func:`gamma_factor`, the coincidence measure model-fitting tools report (Jolivet et al.
  2008; Brian2's brian2modelfitting): Gamma = (N_coinc - 2 nu Delta N_ref) /
  (0.5 (1 - 2 nu Delta) (N_ref + N_model)) with nu the *reference's* rate and N_coinc the
  reference spikes whose nearest model spike lies within +-Delta (a model spike may serve
  several); on a grid of step dt when one is given, as those tools count in steps.
  :func:`gamma_error` is the error they minimise: max(0, 1 + 2 |nu_ref - nu_model| / nu_ref -
  Gamma) (the rate term of Clopath et al. 2007), or max(0, 1 - Gamma) without it.
* :func:`van_rossum_distance` (van Rossum 2001): D^2 = (1/tau) int (f - g)^2 dt with trains
  filtered by exp(-t/tau), computed in closed form (the paper's normalisation; elephant's
  ``van_rossum_distance`` is sqrt(2) times it, 1 for one spike against none).

These are written here rather than taken from elephant because elephant has no coincidence
or gamma factor and its functions take neo ``SpikeTrain`` objects with units, too slow for
the optimisers' inner loop; the tests check van Rossum and the coincidence count against
elephant.
"""

from __future__ import annotations

import math

import numpy as np


def _train(times: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(times, dtype=float).ravel())


def spike_count_relative_error(reference: np.ndarray, model: np.ndarray) -> float:
    """|N_model - N_ref| / N_ref (NaN if the reference has no spike)."""
    n_ref, n_model = len(_train(reference)), len(_train(model))
    return abs(n_model - n_ref) / n_ref if n_ref else math.nan


def normalised_spike_time_error(reference: np.ndarray, model: np.ndarray) -> float:
    """The paper's sum |t_model - t_ref| / N / mean ISI(ref); NaN unless counts are equal (>= 2)."""
    ref, mod = _train(reference), _train(model)
    if len(ref) != len(mod) or len(ref) < 2:
        return math.nan
    return float(np.sum(np.abs(mod - ref)) / len(ref) / np.mean(np.diff(ref)))


def isi_difference(reference: np.ndarray, model: np.ndarray) -> float:
    """Mean ISI(model) - mean ISI(ref) without the first interval (ms); NaN if undefined."""
    ref, mod = _train(reference), _train(model)
    if len(ref) < 3 or len(mod) < 3:
        return math.nan
    return float(np.mean(np.diff(mod)[1:]) - np.mean(np.diff(ref)[1:]))


def coincidence_factor(
    reference: np.ndarray, model: np.ndarray, duration: float, window: float = 2.0
) -> float:
    """Kistler's coincidence factor with precision ``window`` (ms) over ``duration`` (ms)."""
    ref, mod = _train(reference), _train(model)
    if len(ref) == 0 and len(mod) == 0:
        return 1.0
    if len(ref) == 0 or len(mod) == 0:
        return 0.0
    coincidences = coincidence_count(ref, mod, window)
    rate = len(mod) / duration
    expected = 2 * rate * window * len(ref)
    norm = 1 - 2 * rate * window
    if norm <= 0:
        return math.nan
    return float((coincidences - expected) / (0.5 * (len(ref) + len(mod))) / norm)


def coincidence_count(reference: np.ndarray, model: np.ndarray, window: float = 2.0) -> int:
    """Reference spikes matched by a model spike within +-``window``, each model spike used
    once (the nearest free one, in the reference's order): Kistler's N_coinc."""
    ref, mod = _train(reference), _train(model)
    used = np.zeros(len(mod), dtype=bool)
    coincidences = 0
    for t in ref:
        candidates = np.nonzero((~used) & (np.abs(mod - t) <= window))[0]
        if len(candidates):
            used[candidates[np.argmin(np.abs(mod[candidates] - t))]] = True
            coincidences += 1
    return coincidences


def _nearest_within(ref: np.ndarray, mod: np.ndarray, window: float) -> int:
    """Reference spikes whose nearest model spike is within ``window`` (reuse allowed)."""
    if len(ref) == 0 or len(mod) == 0:
        return 0
    after = np.clip(np.searchsorted(mod, ref), 0, len(mod) - 1)
    before = np.clip(after - 1, 0, len(mod) - 1)
    nearest = np.minimum(np.abs(mod[after] - ref), np.abs(mod[before] - ref))
    return int(np.sum(nearest <= window))


def gamma_factor(
    reference: np.ndarray,
    model: np.ndarray,
    duration: float,
    window: float = 2.0,
    dt: float | None = None,
) -> float:
    """The gamma factor (module docstring) over ``duration`` with precision ``window`` (ms);
    ``dt`` (ms): count on that grid. 1 for identical trains, about 0 for chance; NaN when the
    reference has no spike or the normalisation vanishes."""
    ref, mod = _train(reference), _train(model)
    if len(ref) == 0:
        return math.nan
    if dt is not None:
        ref, mod, window = np.rint(ref / dt), np.rint(mod / dt), float(np.rint(window / dt))
        duration = duration / dt
    rate = len(ref) / duration
    norm = 0.5 * (1 - 2 * rate * window)
    if norm <= 0:
        return math.nan
    expected = 2 * window * rate * len(ref)
    return float((_nearest_within(ref, mod, window) - expected) / (norm * (len(ref) + len(mod))))


def gamma_error(
    reference: np.ndarray,
    model: np.ndarray,
    duration: float,
    window: float = 2.0,
    dt: float | None = None,
    rate_correction: bool = True,
) -> float:
    """The fitting error of model-fitting tools built on :func:`gamma_factor` (0 is perfect)."""
    gamma = gamma_factor(reference, model, duration, window, dt)
    n_ref, n_model = len(_train(reference)), len(_train(model))
    rate_term = 1 + 2 * abs(n_ref - n_model) / n_ref if rate_correction and n_ref else 1.0
    return max(0.0, rate_term - gamma) if math.isfinite(gamma) else math.nan


def van_rossum_distance(reference: np.ndarray, model: np.ndarray, tau: float = 5.0) -> float:
    """van Rossum distance with time constant ``tau`` (ms), exact for exponential kernels."""
    ref, mod = _train(reference), _train(model)

    def kernel_sum(a: np.ndarray, b: np.ndarray) -> float:
        if len(a) == 0 or len(b) == 0:
            return 0.0
        return float(np.exp(-np.abs(a[:, None] - b[None, :]) / tau).sum())

    squared = 0.5 * (kernel_sum(ref, ref) + kernel_sum(mod, mod) - 2 * kernel_sum(ref, mod))
    return math.sqrt(max(squared, 0.0))
