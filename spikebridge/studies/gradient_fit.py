"""Gradient-based fitting of a study file's candidate: surrogate gradients through the torch engine.

``[optimiser] method = "adam"`` fits the free parameters by backpropagation through time
instead of a population search:

* **Parameters.** Each free parameter is ``low + sigmoid(z) (high - low)`` (in log10 for a
  log range, times the earlier parameter for relative bounds), ``z`` unconstrained. ``popsize``
  independent starts (a scrambled Sobol sample of the unit cube, seeded) run side by side in
  one batched simulation, one neuron per start and training condition.
* **Loss.** With ``[metrics] loss = "trace"``, the mean squared difference (mV^2) of the
  membrane from the reference's trace (no surrogate needed: the membrane is differentiable
  between spikes; resets pass their gradient as Brian2's code does). Otherwise the squared
  van Rossum distance between the candidate's spike trains and the
  reference's, both filtered with ``exp(-t / tau)`` (``[metrics] van_rossum_tau_ms``):
  ``D^2 = (1 / tau) integral (f_model - f_ref)^2 dt`` (the convention of
  :func:`.metrics.van_rossum_distance`, which it equals on the forward pass), averaged over
  conditions and summed over starts (so each start gets its own gradient). Spikes carry the
  model's surrogate derivative (:mod:`spikebridge.torch.surrogate`) backward.
* **Steps.** ``generations`` Adam steps (``learning_rate`` on ``z``); a start whose
  gradient is not finite (backpropagation through many resets can overflow) stays put for
  that step, and the count of such steps is recorded. Every step's forward
  pass gives each start's spike trains, on which the study's own loss (count or gamma,
  :func:`.fit_study.study_loss`) is computed; the result is the start and step of lowest
  study loss, so the outcome is judged exactly as the population optimisers' are. The budget
  counts one candidate per start and step (a forward and a backward pass each).

The simulation is the generated step of the model file, as in every other fit; with
``compile`` other than ``"none"`` the step, or the unrolled loop, is compiled with its
backward pass.

**Checkpoints.** Given a ``checkpoint`` file, the fit writes (atomically, with
``torch.save``) after every Adam step ``z``, Adam's state, the step count, the best start so
far, the count of skipped gradients, the trace and the seconds spent, and when the file is
there at the start it resumes from it: the resumed fit returns the same values, loss and
trace (all but the seconds) as an uninterrupted one. A file that cannot be read or is from
another fit (starts, steps, seed, learning rate or free parameters) is an
:class:`~spikebridge.errors.InputError`, never overwritten.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import qmc

from ..errors import InputError
from ..io import write_atomic
from ..run import plan_run
from ..torch.codegen import torch_step
from ..torch.loop import initial_state, parameter_tensors, run_steps
from ..torch.simulate import compiled_options
from ..torch.surrogate import rectangular
from .fit_study import model_step, run_options, study_loss, unit_values
from .study_file import ModelEntry, StudyFile, quantity_text

DTYPE = torch.float64

_FORMAT = "spikebridge gradient fit checkpoint"
_VERSION = 1


def _refused(path: Path, why: str) -> InputError:
    return InputError(f"The fit checkpoint '{path}' {why}. Delete it to start the fit over.")


def _load_checkpoint(path: Path | None, fit: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state of the fit described by ``fit``, or None without a file."""
    if path is None or not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, or not a torch file at all
        raise _refused(path, f"cannot be read ({type(error).__name__}: {error})") from error
    if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
        raise _refused(path, "is not a gradient fit checkpoint")
    if saved.get("version") != _VERSION:
        raise _refused(path, f"has version {saved.get('version')!r}, not {_VERSION}")
    if saved.get("fit") != fit:
        raise _refused(path, f"is from another fit ({saved.get('fit')}, not {fit})")
    keys = ("z", "adam", "step", "best", "skipped", "trace", "seconds")
    if any(k not in saved for k in keys):
        raise _refused(path, f"is incomplete (it lacks {[k for k in keys if k not in saved]})")
    state: dict[str, Any] = saved
    return state


def exponential_filter(trains: torch.Tensor, dt_ms: float, tau_ms: float) -> torch.Tensor:
    """``f[k] = f[k-1] exp(-dt / tau) + s[k]`` along axis 0 of ``trains`` ``(T, n)``, by FFT
    convolution with the kernel truncated where it falls below 1e-12."""
    steps = trains.shape[0]
    length = min(steps, math.ceil(tau_ms / dt_ms * 12 * math.log(10)))
    kernel = torch.exp(-torch.arange(length, dtype=trains.dtype) * dt_ms / tau_ms)
    size = steps + length
    spectrum = torch.fft.rfft(trains, n=size, dim=0) * torch.fft.rfft(kernel, n=size)[:, None]
    return torch.fft.irfft(spectrum, n=size, dim=0)[:steps]


def spike_matrix(targets: Sequence[np.ndarray], steps: int, dt_ms: float) -> torch.Tensor:
    """Reference spike times (ms) as a ``(steps, C)`` 0/1 tensor on the model's grid."""
    out = torch.zeros(steps, len(targets), dtype=DTYPE)
    for c, times in enumerate(targets):
        index = np.clip(np.rint(np.asarray(times) / dt_ms).astype(int), 0, steps - 1)
        out[index, c] = 1.0
    return out


def free_tensors(entry: ModelEntry, z: torch.Tensor) -> dict[str, torch.Tensor]:
    """SI values ``(S,)`` of the free parameters from unconstrained ``z`` ``(S, D)``."""
    values: dict[str, torch.Tensor] = unit_values(entry, torch.sigmoid(z).T)
    return values


def fit_by_gradient(
    study: StudyFile,
    entry: ModelEntry,
    current: np.ndarray,
    targets: Sequence[np.ndarray],
    *,
    reference_trace: np.ndarray | None = None,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Fit ``entry``'s free parameters on ``current`` ``(steps, C)`` to the reference
    ``targets`` by Adam on the van Rossum distance, or with ``loss = "trace"`` on the mean
    squared membrane difference from ``reference_trace`` ``(steps, C)``, volts;
    ``checkpoint``: a file the fit's state is written to after every step, and resumed from
    when it is there (module docstring)."""
    began, seconds_before = time.perf_counter(), 0.0

    def seconds() -> float:
        return seconds_before + time.perf_counter() - began

    options = study.optimiser
    starts, conditions_n = options.popsize, current.shape[1]
    n = starts * conditions_n
    model = entry.model
    spec = plan_run(model, **run_options(study, entry, np.tile(current, (1, starts))))
    dt, steps = spec.dt, spec.n_steps
    generated = torch_step(model, spec.method)
    fixed = parameter_tensors(model, spec.parameters, DTYPE)
    drives = {k: torch.as_tensor(w, dtype=DTYPE) for k, w in spec.waveforms.items()}
    spike_event = generated.events.index("spike")
    mode = False if options.compile == "none" else options.compile
    speed = compiled_options(generated, mode, steps, DTYPE, "cpu")
    dt_ms = dt * 1e3
    tau = study.metrics.van_rossum_tau_ms
    by_trace = study.metrics.loss == "trace"
    reference = (
        None if by_trace else exponential_filter(spike_matrix(targets, steps, dt_ms), dt_ms, tau)
    )
    if by_trace and reference_trace is None:
        raise ValueError('loss = "trace" needs the reference_trace.')
    _, ratio = model_step(study, entry)
    membrane = entry.model.membrane[0]
    target_trace = (
        torch.as_tensor(np.asarray(reference_trace) * 1e3, dtype=DTYPE) if by_trace else None
    )
    sample = qmc.Sobol(len(entry.free), scramble=True, seed=options.seed).random(starts)
    sample = np.clip(sample, 0.02, 0.98)
    z = torch.tensor(np.log(sample / (1 - sample)), dtype=DTYPE, requires_grad=True)
    adam = torch.optim.Adam([z], lr=options.learning_rate)
    spike_fn = rectangular(model.surrogate_width)
    duration_ms = study.duration_s * 1e3
    best: tuple[float, dict[str, float]] = (math.inf, {})
    skipped = 0
    trace: list[dict[str, float]] = []
    first = 0
    fit = {
        "starts": starts,
        "steps": options.generations,
        "seed": options.seed,
        "learning_rate": options.learning_rate,
        "free": [p.name for p in entry.free],
    }
    saved = _load_checkpoint(checkpoint, fit)
    if saved is not None:
        assert checkpoint is not None
        if tuple(saved["z"].shape) != tuple(z.shape):
            raise _refused(checkpoint, f"holds z of shape {tuple(saved['z'].shape)}")
        with torch.no_grad():
            z.copy_(saved["z"])
        adam.load_state_dict(saved["adam"])
        first, skipped, seconds_before = int(saved["step"]), int(saved["skipped"]), saved["seconds"]
        best = (float(saved["best"][0]), dict(saved["best"][1]))
        trace = list(saved["trace"])
    for step in range(first, options.generations):
        adam.zero_grad()
        free = free_tensors(entry, z)
        params = {**fixed, **{k: v.repeat_interleave(conditions_n) for k, v in free.items()}}
        state = initial_state(generated, spec.initial, (n,), DTYPE, "cpu")
        spikes, traces, _ = run_steps(
            generated,
            state,
            params,
            drives,
            dt=dt,
            spike_fn=spike_fn,
            n_steps=steps,
            record=(membrane,) if by_trace else (),
            **speed,
        )
        trains = spikes[:, spike_event, :].reshape(steps, starts, conditions_n)
        if target_trace is not None:  # mean squared membrane difference, mV^2, per start
            v = traces[membrane].repeat_interleave(ratio, dim=0) * 1e3
            length = min(v.shape[0], target_trace.shape[0])
            v = v[:length].reshape(length, starts, conditions_n)
            distance = ((v - target_trace[:length, None, :]) ** 2).mean(dim=0)  # (S, C)
        else:
            assert reference is not None
            filtered = exponential_filter(trains.reshape(steps, n), dt_ms, tau)
            difference = filtered.reshape(steps, starts, conditions_n) - reference[:, None, :]
            distance = (difference**2).sum(dim=0) * dt_ms / tau  # (S, C): D^2 per condition
        distance.mean(dim=1).sum().backward()
        assert z.grad is not None
        finite = torch.isfinite(z.grad).all(dim=1)  # BPTT through resets can overflow
        z.grad[~finite] = 0.0  # such a start does not move this step
        skipped += int((~finite).sum())
        adam.step()
        with torch.no_grad():
            hits = trains.detach().numpy()
            for s in range(starts):
                if by_trace:
                    loss = float(distance[s].mean())
                else:
                    times = [np.nonzero(hits[:, s, c])[0] * dt_ms for c in range(conditions_n)]
                    loss = study_loss(
                        times,
                        targets,
                        duration_ms,
                        study.metrics.window_ms,
                        study.metrics.timing_weight,
                        study.metrics.loss,
                    )
                if loss < best[0]:
                    best = (loss, {k: float(v[s]) for k, v in free.items()})
        trace.append(
            {
                "candidates": (step + 1) * starts,
                "loss": best[0],
                "seconds": round(seconds(), 3),
                "objective": float(distance.detach().mean()),
                "non_finite_gradients": skipped,
            }
        )
        if checkpoint is not None:
            state = {
                "format": _FORMAT,
                "version": _VERSION,
                "fit": fit,
                "z": z.detach().clone(),
                "adam": adam.state_dict(),
                "step": step + 1,
                "best": best,
                "skipped": skipped,
                "trace": trace,
                "seconds": seconds(),
            }
            write_atomic(checkpoint, partial(torch.save, state))
    loss, values = best
    return {
        "values": values,
        "shown": {k: quantity_text(v, model.dim(k)) for k, v in values.items()},
        "loss": loss,
        "budget": {
            "generations": options.generations,
            "candidates": options.generations * starts,
            "simulated_neurons": options.generations * n,
            "seconds": seconds(),
        },
        "best_loss_by_candidates": trace,
        "method": f"Adam (lr {options.learning_rate}) on "
        + (
            "the mean squared membrane difference (mV^2)"
            if by_trace
            else f"the squared van Rossum distance (tau {tau} ms), surrogate gradients"
        )
        + f", {starts} starts x {options.generations} steps",
    }
