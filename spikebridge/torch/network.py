"""Large networks on the torch engine: N neurons of a model, batched, optionally coupled.

Each neuron runs the model's generated step (:func:`~spikebridge.torch.codegen.torch_step`,
the statements Brian2 generates for it; no dynamics are typed here). Neurons may be coupled
by synapses ``j -> i`` with weights ``w_ij`` (in the unit of a state variable ``x``, the
*target*, by default the membrane potential). Step k of the network is::

    state(k+1), s(k) = step(state(k), params, t_k)      # update, threshold, reset (generated)
    x_i(k+1) <- x_i(k+1) + sum_j w_ij s_j(k)            # jump of the spikes of step k

so the spikes of step k reach their targets at the end of step k and act from the update
of step k+1 on. This is Brian2's ``Synapses(G, G, "w : <unit of x>", on_pre="x_post += w")``
without delay in Brian2's default schedule (update, threshold, synapses, reset): the jump
lands after the step's threshold and before the next update. Two of Brian2's rules carry
over: a variable declared ``(unless refractory)`` is written under that condition by the
synapses too, so refractory neurons (including those that just fired) ignore jumps to it;
and Brian2 adds the jump *before* the step's reset while the generated step has reset
already, so a reset that sets ``x`` (``v = v_reset``) keeps its value for the neurons that
fired (their jumps are dropped, as Brian2's reset overwrites them), an additive reset
(``x -= c``) commutes with the jump, and other resets of ``x`` are refused.
:func:`spikebridge.brian.network.simulate_network_brian2` builds that Brian2 network.

Connectivity (:func:`spikebridge.network.random_connectivity`): a fixed in-degree K (each
neuron receives from K distinct others) or a connection probability p (each ordered pair
independently), without self-connections unless asked. Synapses are delivered one of three
ways (``synapses=``): ``"event"`` (default): the outgoing synapses of the neurons that fired
are gathered from a CSR table and added with ``index_add_``, one addition per synapse in
Brian2's order (cost per step ~ spikes x K); ``"sparse"``: ``x += W @ s`` with ``W`` a
``torch.sparse_csr_tensor`` (cost ~ synapses per step, no host synchronisation on a GPU);
``"dense"``: the same with a dense ``W`` (small N). The matrix forms sum the weights of a
step first, so they can differ from Brian2 in the last bit of ``x``.

Drives are the model's parameters and inputs, as in :func:`spikebridge.simulate`
(constant, per neuron, or waveforms; no noise). The loop runs under
``torch.inference_mode()`` on any torch device in float32 or float64, counts spikes and
optionally records every spike; ``compile=True`` runs the step through
:func:`spikebridge.torch.compiled.compile_step` (``torch.compile``, eager fallback).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..model import NeuronModel
from ..network import Connectivity, NetworkPlan, NetworkResult, check_repeats, plan_network
from ..results import spike_rows
from ..run import RunSpec
from .codegen import GeneratedStep, StepFunction, torch_step
from .loop import initial_state, parameter_tensors

DTYPES = {"float64": torch.float64, "float32": torch.float32}
#: Ways of delivering spikes (see the module docstring); ``"auto"`` is ``"event"``.
SYNAPSES = ("auto", "event", "sparse", "dense")


def simulate_network(
    model: NeuronModel | str,
    n: int,
    *,
    device: str = "cpu",
    dtype: str = "float64",
    synapses: str = "auto",
    compile: bool = False,
    compile_options: Mapping[str, Any] | None = None,
    record_spikes: bool = False,
    repeats: int = 1,
    **network: Any,
) -> NetworkResult:
    """Simulate ``n`` neurons of ``model`` with the torch engine (no autograd).

    ``network``: coupling and run options of :func:`plan_network` (``p``/``in_degree``/
    ``connectivity``, ``weight``, ``target``, ``seed``, ``duration``/``n_steps``,
    ``parameters``, ``inputs``, ``initial``, ...). ``device``: a torch device; ``synapses``:
    ``"event"``, ``"sparse"``, ``"dense"`` or ``"auto"`` (event); ``compile``: run the step
    through ``torch.compile`` (compilation happens before the timed loop) with inductor
    ``compile_options`` (e.g. ``{"cpp.threads": 1}``: CPU kernels on one thread);
    ``record_spikes``: keep every spike (one byte per neuron and step on ``device``);
    ``repeats``: run the loop that many times from the initial state (timing; the results
    of the runs are identical, the last is returned).
    """
    plan = plan_network(model, n, **network)
    return run_network(
        plan,
        device=device,
        dtype=dtype,
        synapses=synapses,
        compile=compile,
        compile_options=compile_options,
        record_spikes=record_spikes,
        repeats=repeats,
    )


def run_network(
    plan: NetworkPlan,
    *,
    device: str = "cpu",
    dtype: str = "float64",
    synapses: str = "auto",
    compile: bool = False,
    compile_options: Mapping[str, Any] | None = None,
    record_spikes: bool = False,
    repeats: int = 1,
) -> NetworkResult:
    """Execute a planned network with the generated step (see :func:`simulate_network`)."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be 'float64' or 'float32', got {dtype!r}.")
    if synapses not in SYNAPSES:
        raise InputError(f"synapses must be one of {', '.join(SYNAPSES)}, got {synapses!r}.")
    repeats = check_repeats(repeats)
    torch_device = torch.device(device)
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested, but torch sees no CUDA GPU here.")
    mode = "event" if synapses == "auto" else synapses
    spec, torch_dtype = plan.spec, DTYPES[dtype]
    generated = torch_step(spec.model, spec.method)
    if "spike" not in generated.events:
        raise InputError(f"Model '{spec.model.name}' has no 'spike' event to count or deliver.")
    spike_index = generated.events.index("spike")
    reset_indices = tuple(generated.events.index(event) for event in plan.reset_events)
    condition = _write_condition(spec, plan.target)
    started = time.perf_counter()
    with torch.inference_mode():
        params = parameter_tensors(spec.model, spec.parameters, torch_dtype, torch_device)
        per_step = {
            name: torch.as_tensor(wave, dtype=torch_dtype, device=torch_device).unbind(0)
            for name, wave in spec.waveforms.items()
        }
        times = torch.arange(spec.n_steps, dtype=torch.float64, device=torch_device) * spec.dt
        deliver = None
        if plan.connectivity is not None:
            assert plan.weights is not None and plan.target is not None
            deliver = _delivery(mode, plan.connectivity, plan.weights, torch_dtype, torch_device)
        step = generated.step
        if compile:
            from .compiled import compile_step

            step = compile_step(
                generated, dtype=torch_dtype, device=torch_device, options=compile_options
            )
        warm = time.perf_counter()
        # one step, discarded: compiles a compiled step and allocates, outside the timed loop
        first = {**params, **{name: values[0] for name, values in per_step.items()}}
        state = initial_state(generated, spec.initial, (spec.n,), torch_dtype, torch_device)
        step(state, first, times[0], spec.dt, heaviside)
        _synchronize(torch_device)
        compile_seconds = time.perf_counter() - warm
        loop_seconds = []
        for _ in range(repeats):
            state = initial_state(generated, spec.initial, (spec.n,), torch_dtype, torch_device)
            _synchronize(torch_device)
            began = time.perf_counter()
            counts, fired = _loop(
                generated,
                step,
                state,
                params,
                per_step,
                times,
                spec.dt,
                spike_index,
                plan.target,
                deliver,
                reset_indices,
                condition,
                record_spikes,
            )
            _synchronize(torch_device)
            loop_seconds.append(time.perf_counter() - began)
        rows = None
        if fired is not None:
            steps, neurons = torch.nonzero(fired, as_tuple=True)
            rows = spike_rows(steps.cpu().numpy(), neurons.cpu().numpy())
        spike_counts = counts.cpu().numpy().astype(np.int64)
    return NetworkResult(
        model=spec.model.name,
        method=spec.method,
        engine=f"torch:{torch_device}",
        dtype=dtype,
        n=spec.n,
        n_steps=spec.n_steps,
        dt=spec.dt,
        spike_counts=spike_counts,
        spikes=rows,
        connectivity=plan.connectivity,
        loop_seconds=tuple(loop_seconds),
        metadata={
            "synapses": mode if plan.connectivity is not None else None,
            "compiled": bool(compile),
            # compile_step falls back to the eager step (with a warning) if compilation fails
            "compile_fell_back": bool(getattr(step, "failed", False)),
            "compile_seconds": compile_seconds,
            "setup_seconds": warm - started,
            "torch_threads": torch.get_num_threads(),
            "seed": spec.seed,
        },
    )


def heaviside(x: Tensor) -> Tensor:
    """The spike function of the network loop: ``(x > 0)`` as 0/1 (the forward value of every
    surrogate spike function; no autograd here)."""
    return (x > 0).to(x.dtype)


Delivery = Callable[[Tensor, Tensor], None]


def _loop(
    generated: GeneratedStep,
    step: StepFunction,
    state: Any,
    params: Mapping[str, Tensor],
    per_step: Mapping[str, tuple[Tensor, ...]],
    times: Tensor,
    dt: float,
    spike_index: int,
    target: str | None,
    deliver: Delivery | None,
    reset_indices: tuple[int, ...],
    condition: str | None,
    record_spikes: bool,
) -> tuple[Tensor, Tensor | None]:
    """The time loop: the generated step, spike counting, synaptic jumps after each step."""
    field = generated.state_variables.index(target) if target is not None else -1
    allowed = generated.state_variables.index(condition) if condition is not None else -1
    masked = bool(reset_indices) or condition is not None
    counts = torch.zeros(state[0].shape, dtype=torch.float64, device=state[0].device)
    fired: list[Tensor] = []
    step_params = params
    for k, t in enumerate(times.unbind(0)):
        if per_step:
            step_params = {**params, **{name: values[k] for name, values in per_step.items()}}
        events, state = step(state, step_params, t, dt, heaviside)
        spikes = events[spike_index]
        counts.add_(spikes)
        if record_spikes:
            fired.append(spikes > 0)
        if deliver is not None:
            x = state[field]
            kept = x.clone() if masked else None
            deliver(x, spikes)  # in place: the step returned fresh tensors
            if kept is not None:
                x.copy_(torch.where(_accepts(state, events, allowed, reset_indices), x, kept))
    return counts, (torch.stack(fired) if record_spikes else None)


def _accepts(
    state: Any, events: tuple[Tensor, ...], allowed: int, reset_indices: tuple[int, ...]
) -> Tensor:
    """Neurons whose target takes this step's jump: the conditional write holds (not
    refractory) and no reset set the target."""
    accept: Tensor | None = state[allowed] if allowed >= 0 else None
    for index in reset_indices:
        not_reset = events[index] <= 0
        accept = not_reset if accept is None else torch.logical_and(accept, not_reset)
    assert accept is not None
    return accept


def _write_condition(spec: RunSpec, target: str | None) -> str | None:
    """The variable under which Brian2 writes ``target`` (``not_refractory`` for a variable
    declared ``(unless refractory)``; it applies to synaptic writes as well), or None."""
    if target is None:
        return None
    from ..brian.program import step_program

    for block in step_program(spec.model, spec.method).blocks:
        if target in block.conditional_writes:
            return str(block.conditional_writes[target])
    return None


def _delivery(
    mode: str,
    connectivity: Connectivity,
    weights: np.ndarray,
    dtype: torch.dtype,
    device: torch.device,
) -> Delivery:
    """``deliver(x, spikes)``: add the weights of the synapses of the spiking neurons to ``x``."""
    n = connectivity.n
    pre = torch.as_tensor(connectivity.pre, device=device)
    post = torch.as_tensor(connectivity.post, device=device)
    w = torch.as_tensor(weights, dtype=dtype, device=device)
    if mode == "event":
        counts = torch.bincount(pre, minlength=n)
        crow = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])

        def event(x: Tensor, spikes: Tensor) -> None:
            fired = torch.nonzero(spikes).squeeze(1)
            if fired.numel() == 0:
                return
            starts = crow[fired]
            lengths = crow[fired + 1] - starts
            total = int(lengths.sum())
            if total == 0:
                return
            # synapse positions: starts[j], ..., starts[j] + lengths[j] - 1 for each fired j
            shift = starts - (torch.cumsum(lengths, 0) - lengths)
            positions = torch.repeat_interleave(shift, lengths, output_size=total)
            positions += torch.arange(total, device=device)
            x.index_add_(0, post[positions], w[positions])

        return event
    if mode == "sparse":
        order = torch.as_tensor(np.lexsort((connectivity.pre, connectivity.post)), device=device)
        rows = torch.bincount(post, minlength=n)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we only multiply
            warnings.simplefilter("ignore", UserWarning)
            matrix = torch.sparse_csr_tensor(
                torch.cat([rows.new_zeros(1), torch.cumsum(rows, 0)]),
                pre[order],
                w[order],
                size=(n, n),
            )
    else:
        matrix = torch.zeros((n, n), dtype=dtype, device=device)
        matrix.index_put_((post, pre), w, accumulate=True)

    def matrix_product(x: Tensor, spikes: Tensor) -> None:
        x.addmv_(matrix, spikes)

    return matrix_product


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
