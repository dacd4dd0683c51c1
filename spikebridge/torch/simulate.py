"""Simulate a model with the generated torch step and return a :class:`SimulationResult`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..model import NeuronModel
from ..results import SimulationResult, spike_rows
from ..run import RunSpec, make_result, plan_run
from .codegen import GeneratedStep, torch_step
from .loop import initial_state, parameter_tensors, run_steps
from .surrogate import SpikeFunction, rectangular

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def simulate_torch(
    model: NeuronModel | str,
    *,
    device: str = "cpu",
    dtype: str = "float64",
    spike_fn: SpikeFunction | None = None,
    compile: bool | str = False,
    **run: Any,
) -> SimulationResult:
    """Run a model with the torch engine (no autograd): ``run`` options as
    :func:`spikebridge.run.plan_run`; ``device`` is a torch device; ``compile``: ``False``
    (eager), ``"step"`` or ``"loop"`` (:mod:`spikebridge.torch.compiled`)."""
    return run_torch(
        plan_run(model, **run), device=device, dtype=dtype, spike_fn=spike_fn, compile=compile
    )


def run_torch(
    spec: RunSpec,
    *,
    device: str = "cpu",
    dtype: str = "float64",
    spike_fn: SpikeFunction | None = None,
    compile: bool | str = False,
) -> SimulationResult:
    """Execute a planned run with the generated step function (``compile``: as
    :func:`simulate_torch`; compiled runs agree with eager ones to rounding)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got '{dtype}'.")
    torch_dtype = DTYPES[dtype]
    model = spec.model
    generated = torch_step(model, spec.method)
    params = parameter_tensors(model, spec.parameters, torch_dtype, device)
    drives = {
        name: torch.as_tensor(wave, dtype=torch_dtype, device=device)
        for name, wave in spec.waveforms.items()
    }
    state = initial_state(generated, spec.initial, (spec.n,), torch_dtype, device)
    options = compiled_options(generated, compile, spec.n_steps, torch_dtype, device)
    started = time.perf_counter()
    with torch.no_grad():
        spikes, traces, _ = run_steps(
            generated,
            state,
            params,
            drives,
            dt=spec.dt,
            spike_fn=spike_fn or rectangular(model.surrogate_width),
            n_steps=spec.n_steps,
            record=spec.record,
            **options,
        )
    if spikes.is_cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    spike_array = spikes.cpu().numpy()
    events = {}
    for index, event in enumerate(generated.events):
        steps, neurons = np.nonzero(spike_array[:, index] > 0)
        events[event] = spike_rows(steps, neurons)
    shape = (spec.n_steps, spec.n)
    return make_result(
        spec,
        f"torch:{device}",
        dtype,
        {
            name: np.broadcast_to(t.cpu().double().numpy(), shape).copy()
            for name, t in traces.items()
        },
        events,
        wall_seconds=elapsed,
        loop_seconds=elapsed,
    )


def compiled_options(
    generated: GeneratedStep, mode: bool | str, n_steps: int, dtype: torch.dtype, device: str
) -> dict[str, Any]:
    """:func:`run_steps` options of a compile mode (none when eager); with gradients enabled
    the compiled functions run backward too."""
    from . import compiled

    chosen = compiled.check_mode(mode)
    if chosen is None:
        return {}
    if chosen == "step":
        return {"step_fn": compiled.compile_step(generated, dtype=dtype, device=device)}
    return {
        "chunk_fn": compiled.compile_chunk(generated, dtype=dtype, device=device),
        "chunk_steps": compiled.loop_chunk_steps(n_steps),
    }
