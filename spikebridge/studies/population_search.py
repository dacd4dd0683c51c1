"""Population searches of a study file's fits: scipy's differential evolution and pycma's CMA-ES.

Both search the unit cube of the free parameters (:func:`.fit_study.unit_values` maps it to
the parameters' ranges) and call ``batch(points)`` once per generation with all of that
generation's points, ``(D, S)``, getting one loss each: one batched simulation per
generation.

* ``de``: scipy's differential evolution (``popsize`` rounded up to a multiple of the
  dimension, a scrambled Sobol initial population, deferred updating, no polishing, no
  early stop but scipy's ``tol = 0`` one, a population of equal losses); scipy rounds a
  Sobol population up to a power of two. Its solver is driven generation by generation
  (the initial population, then ``generations`` generations), exactly as
  ``scipy.optimize.differential_evolution`` runs it, so that it can be checkpointed.
* ``cma``: ``cma.CMAEvolutionStrategy`` from the cube's centre with sigma 0.3, bounded to the
  cube, ``popsize`` points per generation, no stop on a flat generation (the count loss is
  piecewise flat) but pycma's ``tolfunhist`` one (the best loss unchanged over its recent
  generations), so a search may end before ``generations``;
  the lowest loss ever tested is returned. Its normal deviates come from its own
  ``numpy.random.RandomState(seed + 1)`` (the stream pycma's ``seed`` option would draw from
  numpy's global generator), so that the pickled strategy carries its generator.

:class:`SearchProgress` counts the budget (generations, candidates, simulated neurons,
seconds) and keeps the best loss after every generation.

**Checkpoints.** Given a ``checkpoint`` file, :func:`search` writes (atomically) after every
generation the optimiser's whole state, the :class:`SearchProgress` and the best point so
far, and when the file is there at the start it resumes from it: a resumed search ends with
the same point, loss, budget counts and trace (all but the seconds) as an uninterrupted one.
The file is a pickle, our own cache and never read from elsewhere; one that cannot be read
or is from another search (method, dimension, popsize, generations or seed) is an
:class:`~spikebridge.errors.InputError`, never overwritten.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import write_atomic
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
    """The best point of the unit cube ``(D,)`` and its loss, by ``optimiser.method``;
    ``checkpoint``: a file the search's state is written to after every generation, and
    resumed from when it is there (module docstring)."""
    if optimiser.method not in ("de", "cma"):
        raise ValueError(f"{optimiser.method!r} is not a population search (de or cma).")
    saver = _Checkpoint(checkpoint, dims, optimiser, progress)
    if optimiser.method == "de":
        return _differential_evolution(batch, dims, optimiser, saver)
    return _cma(batch, dims, optimiser, saver)


_FORMAT = "spikebridge population search checkpoint"
_VERSION = 1


class _Checkpoint:
    """Writes and reads a search's checkpoint file (``path`` None: neither)."""

    def __init__(
        self, path: Path | None, dims: int, optimiser: Optimiser, progress: SearchProgress
    ) -> None:
        self.path = None if path is None else Path(path)
        self.progress = progress
        self.search = {
            "method": optimiser.method,
            "dims": dims,
            "popsize": optimiser.popsize,
            "generations": optimiser.generations,
            "seed": optimiser.seed,
        }

    def _refuse(self, why: str) -> InputError:
        return InputError(
            f"The fit checkpoint '{self.path}' {why}. Delete it to start the fit over."
        )

    def load(self) -> dict[str, Any] | None:
        """The saved state (the progress restored into ``progress``), or None without a file."""
        if self.path is None or not self.path.exists():
            return None
        try:
            saved = pickle.loads(self.path.read_bytes())
        except Exception as error:  # truncated, or not a pickle at all
            raise self._refuse(f"cannot be read ({type(error).__name__}: {error})") from error
        if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
            raise self._refuse("is not a population search checkpoint")
        if saved.get("version") != _VERSION:
            raise self._refuse(f"has version {saved.get('version')!r}, not {_VERSION}")
        if saved.get("search") != self.search:
            raise self._refuse(f"is from another search ({saved.get('search')}, not {self.search})")
        try:
            done = saved["progress"]
            self.progress.generations = int(done["generations"])
            self.progress.candidates = int(done["candidates"])
            self.progress.simulated_neurons = int(done["simulated_neurons"])
            self.progress.best = float(done["best"])
            self.progress.trace = [tuple(row) for row in done["trace"]]
            self.progress.seconds_before = float(done["seconds"])
            self.progress.began = time.perf_counter()
            saved["best_x"] = np.asarray(saved["best_x"], dtype=float)
            saved["best_f"] = float(saved["best_f"])
            if "state" not in saved:
                raise KeyError("state")
        except (KeyError, TypeError, ValueError) as error:
            raise self._refuse(f"is incomplete ({type(error).__name__}: {error})") from error
        state: dict[str, Any] = saved
        return state

    def save(self, state: Any, best_x: np.ndarray, best_f: float) -> None:
        if self.path is None:
            return
        progress = self.progress
        payload = {
            "format": _FORMAT,
            "version": _VERSION,
            "search": self.search,
            "progress": {
                "generations": progress.generations,
                "candidates": progress.candidates,
                "simulated_neurons": progress.simulated_neurons,
                "best": progress.best,
                "trace": list(progress.trace),
                "seconds": progress.seconds(),
            },
            "best_x": np.array(best_x, dtype=float),
            "best_f": float(best_f),
            "state": state,
        }
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(self.path, lambda tmp: tmp.write_bytes(data))


def _de_solver(batch: Batch, dims: int, optimiser: Optimiser) -> Any:
    """scipy's solver with the arguments ``differential_evolution`` was called with."""
    from scipy.optimize._differentialevolution import DifferentialEvolutionSolver

    return DifferentialEvolutionSolver(
        batch,
        [(0.0, 1.0)] * dims,
        popsize=max(1, math.ceil(optimiser.popsize / dims)),
        maxiter=optimiser.generations,
        rng=optimiser.seed,  # differential_evolution(seed=...) passes it on as rng
        polish=False,
        tol=0,
        vectorized=True,
        updating="deferred",
        init="sobol",
    )


#: What ``DifferentialEvolutionSolver.__next__`` reads and changes between generations.
_DE_STATE = (
    "population",
    "population_energies",
    "feasible",
    "constraint_violation",
    "scale",
    "_nfev",
    "random_number_generator",
    "_random_population_index",  # shuffled in place to draw each generation's samples
)


def _differential_evolution(
    batch: Batch, dims: int, optimiser: Optimiser, saver: _Checkpoint
) -> tuple[np.ndarray, float]:
    """``differential_evolution(...)``'s ``solve`` unrolled: the initial population's losses,
    then up to ``generations`` generations, stopping early where scipy does (``tol = 0``:
    every loss of the population equal); the state is saved after each."""
    solver = _de_solver(batch, dims, optimiser)
    with solver:
        saved = saver.load()
        if saved is not None:
            state = saved["state"]
            shape = solver.population.shape
            if np.shape(state.get("population")) != shape:
                raise saver._refuse(f"holds a population not of shape {shape}")
            for name in _DE_STATE:
                setattr(solver, name, state[name])
            nit = int(state["nit"])
        else:  # as solve() does before its loop
            solver.feasible, solver.constraint_violation = (
                solver._calculate_population_feasibilities(solver.population)
            )
            solver.population_energies[solver.feasible] = solver._calculate_population_energies(
                solver.population[solver.feasible]
            )
            solver._promote_lowest_energy()
            nit = 0
            _save_de(saver, solver, nit)
        while nit < optimiser.generations and not (nit > 0 and solver.converged()):
            try:
                next(solver)
            except StopIteration:  # scipy's maxfun, infinite here
                break
            nit += 1
            _save_de(saver, solver, nit)
        return np.asarray(solver.x), float(solver.population_energies[0])


def _save_de(saver: _Checkpoint, solver: Any, nit: int) -> None:
    if saver.path is None:
        return
    state = {name: getattr(solver, name) for name in _DE_STATE}
    state["nit"] = nit
    saver.save(state, solver.x, float(solver.population_energies[0]))


def _cma(
    batch: Batch, dims: int, optimiser: Optimiser, saver: _Checkpoint
) -> tuple[np.ndarray, float]:
    import cma

    saved = saver.load()
    if saved is not None:
        strategy = saved["state"]
        if not isinstance(strategy, cma.CMAEvolutionStrategy) or dims != strategy.N:
            raise saver._refuse(f"holds no CMA-ES strategy in {dims} dimensions")
        best_x, best_f = saved["best_x"], saved["best_f"]
    else:
        generations = optimiser.generations
        options = {
            "bounds": [0.0, 1.0],
            "popsize": max(optimiser.popsize, 2),
            # pycma's seed option seeds numpy's global generator and draws from it; its own
            # generator, seeded alike, gives the same stream and is pickled with the strategy
            "randn": np.random.RandomState(optimiser.seed + 1).randn,
            "seed": math.nan,  # no seeding of numpy's global generator
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
        saver.save(strategy, best_x, best_f)
    return best_x, best_f
