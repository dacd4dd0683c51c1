"""brian2modelfitting's spike fitting, rebuilt as the baseline of ``benchmarks/fitting.py``.

brian2modelfitting (Brian2's model-fitting toolbox) is what a Brian2 user fits spiking
models with today, but its newest release (0.4) fails to import with numpy 2 (``from numpy
import NaN``), so its method is run here as its source states it
(``brian2modelfitting/fitter.py``, ``optimizer.py``, ``simulator.py``, ``metric.py``):

* one Brian2 ``NeuronGroup`` in runtime mode (Cython) with one neuron per candidate and
  input trace, the inputs a ``TimedArray``; the network is stored once and restored before
  every round (``RuntimeSimulator``);
* each round asks the nevergrad optimiser for a population (``NevergradOptimizer``: the free
  parameters as ``nevergrad.p.Scalar(lower, upper)`` in SI, linear, ``num_workers`` = the
  population; the round size is the optimiser's own, e.g. nevergrad's DE draws 30), sets the
  parameters, runs, and tells nevergrad every candidate's error;
* the error is ``GammaFactor(delta, time, rate_correction=True)`` averaged over the traces:
  ``1 + 2 |r_data - r_model| / r_data - Gamma`` per trace
  (:func:`spikebridge.studies.metrics.gamma_error`);
* the result is the tested candidate of lowest error (its default, not nevergrad's
  recommendation).

The budget is the study's (population x generations candidates); rounds are as many as fit
in it. brian2modelfitting searches absolute linear bounds only, so a free parameter with a
log scale or bounds relative to another is an error here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from brian2 import Network, SpikeMonitor, second

from spikebridge.brian.devices import brian2_session
from spikebridge.brian.simulate import driven_group
from spikebridge.errors import InputError
from spikebridge.run import plan_run
from spikebridge.studies.fit_study import run_options
from spikebridge.studies.metrics import gamma_error
from spikebridge.studies.study_file import ModelEntry, StudyFile, quantity_text
from spikebridge.units import as_quantity

#: nevergrad optimisers by the names benchmarks/fitting.py gives them.
METHODS = {"b2mf-de": "DE", "b2mf-cma": "CMA"}


def check_linear(entry: ModelEntry) -> None:
    """brian2modelfitting's search space: one neuron per candidate, absolute linear bounds."""
    if entry.chain is not None:
        raise InputError(
            f"'{entry.name}' drives a layer 2; brian2modelfitting fits one neuron per "
            "candidate. Remove its layer2 to compare with it."
        )
    other = [p.name for p in entry.free if p.log or p.relative_to is not None]
    if other:
        raise InputError(
            f"'{entry.name}': brian2modelfitting searches absolute linear bounds, but "
            f"{', '.join(other)} has a log scale or relative bounds; give them as plain "
            "low/high values to compare with it."
        )


def fitter(method: str) -> Any:
    """A :data:`spikebridge.studies.fit_study.Fitter` running brian2modelfitting's method
    with nevergrad's ``method`` (``"DE"`` or ``"CMA"``)."""

    def fit_like_brian2modelfitting(
        study: StudyFile,
        entry: ModelEntry,
        current: np.ndarray,
        targets: Sequence[np.ndarray],
    ) -> dict[str, Any]:
        return fit(study, entry, current, targets, method=method)

    fit_like_brian2modelfitting.__qualname__ = f"fit_like_brian2modelfitting[{method}]"
    return fit_like_brian2modelfitting


def fit(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    targets: Sequence[np.ndarray],
    *,
    method: str = "DE",
) -> dict[str, Any]:
    """Fit ``entry``'s free parameters on ``current`` ``(steps, traces)`` (SI study units)
    to the reference ``targets`` (ms) as brian2modelfitting's ``SpikeFitter`` does."""
    import nevergrad

    check_linear(entry)
    began = time.perf_counter()
    traces = current.shape[1]
    budget = study.optimiser.popsize * study.optimiser.generations
    parametrization = nevergrad.p.Dict(
        **{p.name: nevergrad.p.Scalar(lower=p.low, upper=p.high) for p in entry.free}
    )
    parametrization.random_state.seed(study.optimiser.seed)
    optimiser = nevergrad.optimizers.registry[method](
        parametrization=parametrization, num_workers=study.optimiser.popsize, budget=budget
    )
    samples = int(getattr(optimiser, "llambda", study.optimiser.popsize))
    rounds = max(1, budget // samples)
    model = entry.model
    midpoints = {p.name: np.full(samples * traces, (p.low + p.high) / 2) for p in entry.free}
    spec = plan_run(model, **run_options(study, entry, np.tile(current, (1, samples)), midpoints))
    dt = spec.dt
    duration_ms = study.duration_s * 1e3
    window = study.metrics.window_ms
    tested: list[tuple[float, dict[str, float]]] = []
    trace: list[dict[str, float]] = []
    best = math.inf
    with brian2_session("runtime"):
        group = driven_group(spec)
        monitor = SpikeMonitor(group, name="spikes")
        network = Network(group, monitor)
        network.store()
        for _ in range(rounds):
            asked = [optimiser.ask() for _ in range(samples)]
            network.restore()
            for p in entry.free:
                values = np.repeat([float(c.value[p.name]) for c in asked], traces)
                setattr(group, p.name, as_quantity(values, model.dim(p.name)))
            with np.errstate(over="ignore"):
                network.run(spec.n_steps * dt * second, namespace={})
            trains = monitor.spike_trains()
            for s, candidate in enumerate(asked):
                errors = [
                    gamma_error(
                        targets[k],
                        np.asarray(trains[s * traces + k] / second) * 1e3,
                        duration_ms,
                        window,
                    )
                    for k in range(traces)
                ]
                error = float(np.mean(errors))
                optimiser.tell(candidate, error)
                tested.append((error, {k: float(v) for k, v in candidate.value.items()}))
                best = min(best, error)
            trace.append(
                {
                    "candidates": len(tested),
                    "loss": best,
                    "seconds": round(time.perf_counter() - began, 3),
                }
            )
    loss, values = min(tested, key=lambda item: item[0])
    return {
        "values": values,
        "shown": {k: quantity_text(v, model.dim(k)) for k, v in values.items()},
        "loss": loss,
        "loss_definition": "brian2modelfitting's GammaFactor error (rate-corrected), mean "
        "over the training traces",
        "budget": {
            "generations": rounds,
            "candidates": len(tested),
            "simulated_neurons": len(tested) * traces,
            "seconds": time.perf_counter() - began,
        },
        "best_loss_by_candidates": trace,
        "method": f"brian2modelfitting's SpikeFitter method, nevergrad {method}, "
        f"{samples} per round, {rounds} rounds, Brian2 runtime",
    }
