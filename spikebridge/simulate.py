"""One entry point for both engines: ``simulate(model, engine="brian2" | "torch", ...)``."""

from __future__ import annotations

from typing import Any

from .brian.simulate import simulate_brian2
from .errors import SpikebridgeError
from .model import NeuronModel
from .results import SimulationResult
from .torch.simulate import simulate_torch

ENGINES = ("brian2", "torch")


def simulate(
    model: NeuronModel | str, *, engine: str = "brian2", **options: Any
) -> SimulationResult:
    """Simulate ``model`` with ``engine``; ``options`` are those of
    :func:`~spikebridge.brian.simulate_brian2` (``device``: a Brian2 device) or
    :func:`~spikebridge.torch.simulate_torch` (``device``: a torch device)."""
    if engine == "brian2":
        return simulate_brian2(model, **options)
    if engine == "torch":
        return simulate_torch(model, **options)
    raise SpikebridgeError(f"Unknown engine '{engine}'. Use one of: {', '.join(ENGINES)}.")
