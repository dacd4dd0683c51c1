"""Parity of the two engines: the same model, state and input on Brian2 and on torch.

:func:`parity` simulates a model on a Brian2 device and with the generated torch step
from the same initial state under a deterministic, time-varying input
(:func:`parity_inputs`), and compares membranes and spikes against the tolerance table
of :mod:`spikebridge.tolerances`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from brian2 import ms

from .brian.program import step_program
from .brian.simulate import run_brian2
from .checks import count, index
from .inputs import steps_for
from .model import NeuronModel, load_model
from .results import SimulationResult
from .run import plan_run
from .tolerances import Tolerance, tolerance_for
from .torch.simulate import run_torch
from .units import as_quantity, to_si

#: Neurons in a parity run: each gets a different input amplitude.
PARITY_NEURONS = 4
#: Period of the parity stimulus's modulation, in seconds.
STIMULUS_PERIOD = 8.5e-3


def default_duration(model: NeuronModel) -> float:
    """Default parity duration in seconds: 20 ms, and at least 200 steps."""
    return max(20e-3, 200 * float(model.dt))


def parity_inputs(
    model: NeuronModel, n_steps: int, dt: float, n: int = PARITY_NEURONS
) -> dict[str, Any]:
    """A deterministic input: the model's ``EXAMPLE_INPUT`` scaled per neuron and modulated in time.

    Neuron j gets ``A * (0.6 + 0.3 j) * (1 + 0.25 sin(2 pi t / P))`` with P = 8.5 ms (the
    paper's waveform period), so that the waveform path (TimedArray in Brian2, per-step
    indexing in torch) is exercised and the neurons fire at different rates.
    """
    t = np.arange(n_steps) * dt
    period = STIMULUS_PERIOD
    modulation = 1 + 0.25 * np.sin(2 * np.pi * t / period)
    gains = 0.6 + 0.3 * np.arange(n)
    waves: dict[str, Any] = {}
    for name, example in model.example_input.items():
        dim = model.dim(name)
        amplitude = float(to_si(example, dim, f"EXAMPLE_INPUT['{name}']"))
        waves[name] = as_quantity(amplitude * modulation[:, None] * gains[None, :], dim)
    return waves


@dataclass(frozen=True)
class ParityReport:
    """Outcome of one engine comparison; ``max_abs_v`` is in the model's membrane unit."""

    model: str
    method: str
    dtype: str
    device: str
    duration_ms: float
    n_steps: int
    neurons: int
    membrane_unit: str
    max_abs_v: float
    membrane_range: float
    spikes_brian2: int
    spikes_torch: int
    spike_steps_equal: bool
    max_spike_shift: int | None
    tolerance: dict[str, Any]
    within_tolerance: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    model: NeuronModel, reference: SimulationResult, other: SimulationResult, tolerance: Tolerance
) -> dict[str, Any]:
    """Membrane deviation, spike agreement and the tolerance verdict of two results."""
    scale = model.membrane_scale
    deviation = max(
        float(np.max(np.abs(reference.traces[m] - other.traces[m]))) / scale for m in model.membrane
    )
    span = max(float(np.ptp(reference.traces[m])) / scale for m in model.membrane)
    equal = all(
        np.array_equal(reference.spikes[event], other.spikes[event]) for event in model.event_names
    )
    shift = max_spike_shift(reference, other, model.event_names)
    allowed = tolerance.membrane_rtol * max(span, 1.0)
    ok = deviation <= allowed and shift is not None and shift <= tolerance.spike_shift_steps
    return {
        "max_abs_v": deviation,
        "membrane_range": span,
        "spikes_brian2": int(sum(len(reference.spikes[e]) for e in model.event_names)),
        "spikes_torch": int(sum(len(other.spikes[e]) for e in model.event_names)),
        "spike_steps_equal": bool(equal),
        "max_spike_shift": shift,
        "within_tolerance": bool(ok),
    }


def max_spike_shift(
    a: SimulationResult, b: SimulationResult, events: tuple[str, ...]
) -> int | None:
    """Largest step difference between matched spikes; None if any neuron's count differs."""
    worst = 0
    for event in events:
        for neuron in range(a.n):
            sa = a.spike_steps(event, neuron)
            sb = b.spike_steps(event, neuron)
            if len(sa) != len(sb):
                return None
            if len(sa):
                worst = max(worst, int(np.max(np.abs(sa - sb))))
    return worst


def parity(model: NeuronModel | str, **options: Any) -> ParityReport:
    """Simulate ``model`` on a Brian2 device and on torch (CPU) and compare them.

    ``options``: ``method``, ``dtype``, ``duration`` (default: 20 ms and at least 200 steps),
    ``device`` (a Brian2 device, default ``cpp_standalone``), ``torch_device`` (default
    ``cpu``), ``n``, ``seed``.
    """
    return parity_run(model, **options)[0]


def parity_run(
    model: NeuronModel | str,
    *,
    method: str | None = None,
    dtype: str = "float64",
    duration: Any = None,
    device: str = "cpp_standalone",
    torch_device: str = "cpu",
    n: int = PARITY_NEURONS,
    seed: int = 0,
) -> tuple[ParityReport, SimulationResult, SimulationResult]:
    """:func:`parity`, also returning the Brian2 and the torch results."""
    model = load_model(model) if isinstance(model, str) else model
    method = model.check_method(method)
    dt = float(model.dt)
    if duration is None:
        n_steps = max(1, round(default_duration(model) / dt))
    else:  # a positive whole number of steps, or an error saying which duration would be
        n_steps = steps_for(duration, dt)
    n = count(n, "n (the number of neurons)")
    seed = index(seed, "seed")
    inputs = parity_inputs(model, n_steps, dt, n)
    spec = plan_run(
        model, n_steps=n_steps, method=method, n=n, inputs=inputs, seed=seed, record=model.membrane
    )
    step_program(model, method)  # model errors surface before Brian2 compiles anything
    reference = run_brian2(spec, device=device, dtype=dtype)
    other = run_torch(spec, dtype=dtype, device=torch_device)
    tolerance = tolerance_for(model.name, dtype)
    result = compare(model, reference, other, tolerance)
    report = ParityReport(
        model=model.name,
        method=method,
        dtype=dtype,
        device=device,
        duration_ms=n_steps * dt / float(ms),
        n_steps=n_steps,
        neurons=n,
        membrane_unit=model.membrane_unit_name,
        tolerance=asdict(tolerance),
        **result,
    )
    return report, reference, other
