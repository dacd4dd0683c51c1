"""A small sweep task: spike counts of the ``lif`` model under constant currents.

It is importable wherever spikebridge is installed (pool workers, Ray nodes), so it serves
to try an engine or a cluster out::

    from spikebridge.sweeps import run_sweep
    from spikebridge.sweeps.examples import lif_spike_count

    run_sweep(lif_spike_count, {"current_nA": [0.1, 0.2, 0.3]}, "runs/lif-fI", workers=2)
"""

from __future__ import annotations

from typing import Any


def lif_spike_count(
    point: dict[str, Any], *, duration_ms: float = 50.0, method: str = "exact"
) -> dict[str, Any]:
    """Spikes (count and steps) of one ``lif`` neuron driven by ``point["current_nA"]``,
    simulated by the torch engine for ``duration_ms``."""
    import spikebridge as sb  # imported here: the sweep's parent need not load torch and Brian2

    result = sb.simulate(
        "lif",
        engine="torch",
        method=method,
        duration=duration_ms * sb.ms,
        inputs={"I": point["current_nA"] * sb.namp},
    )
    steps = result.spike_steps("spike", neuron=0)
    return {"spikes": int(steps.size), "spike_steps": steps.tolist(), "dt_ms": result.dt * 1e3}
