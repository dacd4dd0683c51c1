"""Fast torch steps: a model's generated step, or its unrolled loop, run through ``torch.compile``.

The eager step (the function :mod:`spikebridge.torch.codegen` renders from Brian2's code) is
the reference and the default. Compiling it lets inductor fuse the step's elementwise
operations (one C++/OpenMP kernel on CPU, Triton on GPU) forward and backward, from the same
expression trees, so float64 results agree with eager to rounding. Two granularities:

* ``"step"`` (:func:`compile_step`): the step function compiled; the time loop stays in
  Python and calls one fused forward (and, in backward, one fused backward) per step.
  One graph for any number of steps.
* ``"loop"`` (:func:`compile_chunk`): :func:`~spikebridge.torch.loop.run_chunk` compiled,
  i.e. the loop over a chunk of steps unrolled into one graph, which inductor fuses across
  steps. One graph per chunk length; :data:`LOOP_STEPS` bounds the unrolled length (longer
  runs go chunk by chunk), since compile time grows with it.

``SpikingNeurons(..., compile="step" | "loop" | True)`` uses them; any code calling
:func:`~spikebridge.torch.loop.run_steps` can pass them as ``step_fn`` / ``chunk_fn``.

Compiled functions are cached per (what, model, method, dtype, device, backend, options);
each key compiles its own copy of the function's code object, so torch's per-code cache and
recompile limit are per key. If compilation fails (no C++ compiler, an unsupported
operation), a warning is issued and the eager function runs instead: the results are then
the eager results.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import torch
import torch.utils.checkpoint

from ..errors import InputError
from .codegen import GeneratedStep, StepFunction
from .loop import ChunkFunction, run_chunk

#: Granularities of compilation; ``True`` means :data:`DEFAULT_MODE`.
MODES = ("step", "loop")
DEFAULT_MODE = "loop"
#: Longest loop unrolled into one compiled graph in ``"loop"`` mode (longer runs: chunks).
LOOP_STEPS = 32
#: Inductor options of ``"loop"`` mode. Inductor inlines chains of pointwise operations into
#: their users; across unrolled steps the inlined expressions grow so fast that code
#: generation took 13 s for 4 hh_dl steps, 184 s for 8 and over 10 min for 32 (2-core CPU).
#: Materialising every intermediate of more than 4 operations keeps it linear (35 s for 32
#: steps) at a small run-time cost (LIF-fc training step 15.7 ms against 14.9 ms with
#: inductor's defaults, one round-robin run on the same machine).
LOOP_OPTIONS: dict[str, Any] = {"realize_opcount_threshold": 4}

#: Exceptions that are control flow, not failures: checkpoint's early stop of a recomputation.
_CONTROL_FLOW = getattr(torch.utils.checkpoint, "_StopRecomputationError", ())

_CACHE: dict[tuple[Hashable, ...], _EagerFallback] = {}


def check_mode(value: bool | str | None) -> str | None:
    """A ``compile`` argument as a mode: ``None`` (eager) or one of :data:`MODES`."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_MODE
    if isinstance(value, str) and value in MODES:
        return value
    raise InputError(
        f"compile must be False, True or one of {', '.join(repr(m) for m in MODES)}; got {value!r}."
    )


class _EagerFallback:
    """Calls the compiled function; if that fails where the eager one works, warns once and
    runs the eager function from then on."""

    def __init__(self, compiled: Callable[..., Any], eager: Callable[..., Any], label: str):
        self.compiled = compiled
        self.eager = eager
        self.label = label
        self.failed = False

    def __call__(self, *args: Any) -> Any:
        if self.failed:
            return self.eager(*args)
        try:
            return self.compiled(*args)
        except Exception as error:
            if isinstance(error, _CONTROL_FLOW):
                raise
            result = self.eager(*args)  # an error of the inputs themselves is raised here
            self.failed = True
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            warnings.warn(
                f"torch.compile failed for {self.label} ({type(error).__name__}: {reason[:300]}); "
                "running the eager step instead (same results, slower).",
                RuntimeWarning,
                stacklevel=2,
            )
            return result


def _fresh_copy(function: Callable[..., Any], suffix: str) -> Callable[..., Any]:
    """A copy of ``function`` with its own code object, named ``<name>__<suffix>``: torch.compile
    caches graphs, and keeps its automatic-dynamic records, per code object and name."""
    assert isinstance(function, types.FunctionType)
    name = f"{function.__code__.co_name}__{suffix}"
    copy = types.FunctionType(
        function.__code__.replace(co_name=name, co_qualname=name),
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy


def _cached(
    what: str,
    function: Callable[..., Any],
    generated: GeneratedStep,
    dtype: torch.dtype,
    device: torch.device | str,
    backend: str | Callable[..., Any],
    options: Mapping[str, Any] | None,
    dynamic: bool | None,
) -> Any:
    device = torch.device(device)
    frozen = tuple(sorted((options or {}).items()))
    key: tuple[Hashable, ...] = (what, generated.model, generated.method, generated.source)
    key += (dtype, device, backend, frozen, dynamic)
    if key not in _CACHE:
        suffix = f"{generated.model}_{generated.method}_{len(_CACHE)}"
        compiled = torch.compile(
            _fresh_copy(function, suffix),
            backend=backend,
            options=dict(frozen) or None,
            dynamic=dynamic,
        )
        label = f"the {what} of '{generated.model}' ({generated.method}, {dtype}, {device})"
        _CACHE[key] = _EagerFallback(compiled, function, label)
    return _CACHE[key]


def compile_step(
    generated: GeneratedStep,
    *,
    dtype: torch.dtype,
    device: torch.device | str,
    backend: str | Callable[..., Any] = "inductor",
    options: Mapping[str, Any] | None = None,
    dynamic: bool | None = False,
) -> StepFunction:
    """The step function of ``generated`` compiled with ``torch.compile`` (same signature).

    Cached per model, method, ``dtype``, ``device``, ``backend`` and inductor ``options``;
    compilation happens at the first call. Falls back to the eager step with a warning if
    compilation fails.
    """
    step: StepFunction = _cached(
        "step", generated.step, generated, dtype, device, backend, options, dynamic
    )
    return step


def compile_chunk(
    generated: GeneratedStep,
    *,
    dtype: torch.dtype,
    device: torch.device | str,
    backend: str | Callable[..., Any] = "inductor",
    options: Mapping[str, Any] | None = None,
    dynamic: bool | None = False,
) -> ChunkFunction:
    """:func:`~spikebridge.torch.loop.run_chunk` compiled for ``generated``: the unrolled loop.

    Pass it as ``chunk_fn`` to :func:`~spikebridge.torch.loop.run_steps` together with
    ``chunk_steps`` (see :func:`loop_chunk_steps`) or ``checkpoint_every``, so that the
    unrolled length stays bounded; one graph is compiled per chunk length. ``options``
    default to :data:`LOOP_OPTIONS` with the inductor backend. Cached and falling back like
    :func:`compile_step`.
    """
    if options is None and backend == "inductor":
        options = LOOP_OPTIONS
    chunk: ChunkFunction = _cached(
        "loop", run_chunk, generated, dtype, device, backend, options, dynamic
    )
    return chunk


def loop_chunk_steps(n_steps: int, longest: int | None = None) -> int:
    """Chunk length for ``n_steps`` in ``"loop"`` mode: all of them up to ``longest``
    (default :data:`LOOP_STEPS`), else the largest divisor of ``n_steps`` between
    ``longest/2`` and ``longest`` (every chunk the same graph), else ``longest``."""
    longest = LOOP_STEPS if longest is None else longest
    if n_steps <= longest:
        return max(n_steps, 1)
    for steps in range(longest, (longest + 1) // 2 - 1, -1):
        if n_steps % steps == 0:
            return steps
    return longest


#: Ways to speed up a whole net (:func:`compile_net`): none, its spiking layers' steps or
#: loops compiled, or the whole net traced by ``torch.compile``.
NET_MODES = ("none", "step", "loop", "net")


def check_net_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`NET_MODES`; else an error naming them."""
    if mode not in NET_MODES:
        raise InputError(f"compile must be one of {', '.join(NET_MODES)}; got {mode!r}.")
    return mode


def compile_net(net: torch.nn.Module, mode: str) -> torch.nn.Module:
    """The module to call for ``net`` in ``mode`` (one of :data:`NET_MODES`).

    ``"step"``/``"loop"`` set ``compile_mode`` of every
    :class:`~spikebridge.torch.SpikingNeurons` in ``net`` and return ``net``; ``"net"`` returns
    ``torch.compile(net)`` with :data:`LOOP_OPTIONS` (the generated steps traced inside the
    net, the fastest on CPU for the paper's fc nets; see ``benchmarks/README.md``), whose
    parameters are ``net``'s: save and load ``net``'s state dict.
    """
    from .module import SpikingNeurons
    from .network import SpikingNetwork

    if check_net_mode(mode) == "net":
        compiled: torch.nn.Module = torch.compile(net, options=LOOP_OPTIONS)  # type: ignore[assignment]
        return compiled
    layers: list[SpikingNeurons | SpikingNetwork] = [
        m for m in net.modules() if isinstance(m, SpikingNeurons | SpikingNetwork)
    ]
    if mode != "none" and not layers:
        raise InputError(
            f"compile={mode!r} compiles spiking layers, and this net has none; use 'net' "
            "(torch.compile of the whole net) or 'none'."
        )
    for layer in layers:
        layer.compile_mode = None if mode == "none" else mode
    return net


def clear_cache() -> None:
    """Forget the compiled functions (torch's own caches: ``torch._dynamo.reset()``)."""
    _CACHE.clear()
