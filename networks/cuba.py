"""Vogels-Abbott CUBA network: 80/20 excitatory/inhibitory LIF neurons, current synapses.

Benchmark 2 of Brette et al. (2007), as Brian2's ``CUBA`` example: ``n`` LIF neurons
(``equations/lif_cuba.py``: tau_m = 20 ms, E_L = -49 mV above the threshold -50 mV, reset
-60 mV, refractory 5 ms), 80 % excitatory and 20 % inhibitory, pairs connected with
probability ``p`` = 0.02; a spike adds 1.62 mV to ``g_e`` (tau_e = 5 ms) or -9 mV to
``g_i`` (tau_i = 10 ms) of its targets. Initial v uniform between reset and threshold.
Exact integration (the equations are linear), dt = 0.1 ms.
"""

from brian2 import ms, mV

from spikebridge.network import Network, Population, Uniform, ei_projections


def build(n: int = 4000, p: float = 0.02, duration_ms: float = 200.0, seed: int = 1) -> Network:
    n_e = int(0.8 * n)
    initial = {"v": Uniform(-60 * mV, -50 * mV)}
    exc = Population("exc", "lif_cuba", n_e, initial=initial, seed=seed)
    inh = Population("inh", "lif_cuba", n - n_e, initial=initial, seed=seed + 1)
    projections = ei_projections(p, 1.62 * mV, -9 * mV, unit="volt", seed=seed)
    return Network(
        "cuba",
        0.1 * ms,
        (exc, inh),
        (),
        tuple(projections),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )
