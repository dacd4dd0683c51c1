"""Run a network description on either engine: the network counterpart of ``simulate``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError
from .description import Network
from .plan import NetworkPlan, plan_network
from .result import NetworkResult
from .run import prepare_run

ENGINES = ("brian2", "torch")


def simulate_network(
    network: Network | NetworkPlan,
    *,
    engine: str = "torch",
    device: str | None = None,
    dtype: str = "float64",
    duration: Any = None,
    n_steps: int | None = None,
    trials: int = 1,
    inputs: Mapping[str, Any] | None = None,
    record: Sequence[str] = (),
    **options: Any,
) -> NetworkResult:
    """Simulate ``network`` on ``engine`` (``brian2``: ``device`` a Brian2 device, default
    ``cpp_standalone``; ``torch``: a torch device, default ``cpu``). ``duration`` defaults
    to the description's; ``inputs`` and ``record`` as :func:`~.run.prepare_run`;
    ``options``: the engine's (``threads``, ``repeats`` for Brian2; ``synapses``,
    ``compile``, ``repeats`` for torch)."""
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    plan = network if isinstance(network, NetworkPlan) else plan_network(network)
    run = prepare_run(
        plan, duration=duration, n_steps=n_steps, trials=trials, inputs=inputs, record=record
    )
    if engine == "brian2":
        from ..brian.network import run_network_brian2

        return run_network_brian2(run, device=device or "cpp_standalone", dtype=dtype, **options)
    from ..torch.network import run_network_torch

    return run_network_torch(run, device=device or "cpu", dtype=dtype, **options)
