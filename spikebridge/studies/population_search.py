"""Population searches of a study file's fits: scipy's differential evolution and pycma's CMA-ES.

Both search the unit cube of the free parameters (:func:`.fit_study.unit_values` maps it to
the parameters' ranges) and call ``batch(points)`` once per generation with all of that
generation's points, ``(D, S)``, getting one loss each: one batched simulation per
generation.

* ``de``: ``scipy.optimize.differential_evolution`` (``popsize`` rounded up to a multiple of
  the dimension, a scrambled Sobol initial population, deferred updating, no polishing, no
  early stop); scipy rounds a Sobol population up to a power of two.
* ``cma``: ``cma.CMAEvolutionStrategy`` from the cube's centre with sigma 0.3, bounded to the
  cube, ``popsize`` points per generation, no early stop (the count loss is piecewise flat);
  the lowest loss ever tested is returned.

:class:`SearchProgress` counts the budget (generations, candidates, simulated neurons,
seconds) and keeps the best loss after every generation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .study_file import Optimiser

#: ``batch(points (D, S)) -> losses (S,)``: one generation's simulations.
Batch = Callable[[np.ndarray], np.ndarray]


@dataclass
class SearchProgress:
    """The budget spent so far and the best loss after each generation."""

    generations: int = 0
    candidates: int = 0
    simulated_neurons: int = 0
    best: float = math.inf
    seconds_before: float = 0.0  # spent in earlier runs of a resumed search
    trace: list[tuple[int, float, float]] = field(default_factory=list)
    began: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.began

    def record(self, losses: np.ndarray, conditions: int) -> None:
        """Count one generation of ``len(losses)`` candidates on ``conditions`` each."""
        self.generations += 1
        self.candidates += len(losses)
        self.simulated_neurons += len(losses) * conditions
        self.best = min(self.best, float(np.min(losses)))
        self.trace.append((self.candidates, self.best, self.seconds()))

    def budget(self) -> dict[str, Any]:
        return {
            "generations": self.generations,
            "candidates": self.candidates,
            "simulated_neurons": self.simulated_neurons,
            "seconds": self.seconds(),
        }

    def curve(self) -> list[dict[str, float]]:
        return [{"candidates": c, "loss": b, "seconds": round(t, 3)} for c, b, t in self.trace]


def search(
    batch: Batch,
    dims: int,
    optimiser: Optimiser,
    progress: SearchProgress,
    checkpoint: Path | None = None,
) -> tuple[np.ndarray, float]:
    """The best point of the unit cube ``(D,)`` and its loss, by ``optimiser.method``."""
    if optimiser.method == "de":
        return _differential_evolution(batch, dims, optimiser)
    if optimiser.method == "cma":
        return _cma(batch, dims, optimiser)
    raise ValueError(f"{optimiser.method!r} is not a population search (de or cma).")


def _differential_evolution(
    batch: Batch, dims: int, optimiser: Optimiser
) -> tuple[np.ndarray, float]:
    from scipy.optimize import differential_evolution

    found = differential_evolution(
        batch,
        [(0.0, 1.0)] * dims,
        popsize=max(1, math.ceil(optimiser.popsize / dims)),
        maxiter=optimiser.generations,
        seed=optimiser.seed,
        polish=False,
        tol=0,
        vectorized=True,
        updating="deferred",
        init="sobol",
    )
    return np.asarray(found.x), float(found.fun)


def _cma(batch: Batch, dims: int, optimiser: Optimiser) -> tuple[np.ndarray, float]:
    import cma

    generations = optimiser.generations
    options = {
        "bounds": [0.0, 1.0],
        "popsize": max(optimiser.popsize, 2),
        "seed": optimiser.seed + 1,  # pycma reads 0 as "draw a seed"
        "maxiter": generations,
        "verbose": -9,
        "tolfun": 0,
        "tolx": 0,
        "tolflatfitness": generations + 1,  # the count loss is piecewise flat: do not stop
    }
    strategy = cma.CMAEvolutionStrategy([0.5] * dims, 0.3, options)
    best_x, best_f = np.full(dims, 0.5), math.inf
    while not strategy.stop():
        points = strategy.ask()
        losses = batch(np.array(points).T)
        strategy.tell(points, losses.tolist())
        k = int(np.argmin(losses))
        if losses[k] < best_f:
            best_x, best_f = np.asarray(points[k]), float(losses[k])
    return best_x, best_f
