"""Vogels-Abbott COBA network: 80/20 excitatory/inhibitory LIF neurons, conductance synapses.

Benchmark 1 of Brette et al. (2007, J. Comput. Neurosci. 23:349), after Vogels & Abbott
(2005): ``n`` LIF neurons (``equations/lif_coba.py``: C_m = 200 pF, g_L = 10 nS,
E_L = -60 mV, threshold -50 mV, reset -60 mV, refractory 5 ms), 80 % excitatory and
20 % inhibitory, every ordered pair connected with probability ``p`` = 0.02; a spike
adds 6 nS to ``g_e`` (excitatory, E_e = 0 mV, tau_e = 5 ms) or 67 nS to ``g_i``
(inhibitory, E_i = -80 mV, tau_i = 10 ms) of its targets. Initial state as Brian2's
benchmark: v ~ N(-55, 5) mV, g_e ~ N(40, 15) nS, g_i ~ N(200, 120) nS; the activity is
self-sustained (no external input). Euler, dt = 0.1 ms.
"""

from brian2 import ms, mV, nS

from spikebridge.network import Network, Normal, Population, ei_projections


def build(n: int = 4000, p: float = 0.02, duration_ms: float = 200.0, seed: int = 1) -> Network:
    n_e = int(0.8 * n)
    initial = {
        "v": Normal(-55 * mV, 5 * mV),
        "g_e": Normal(40 * nS, 15 * nS),
        "g_i": Normal(200 * nS, 120 * nS),
    }
    exc = Population("exc", "lif_coba", n_e, initial=initial, seed=seed)
    inh = Population("inh", "lif_coba", n - n_e, initial=initial, seed=seed + 1)
    projections = ei_projections(p, 6 * nS, 67 * nS, seed=seed)
    return Network(
        "coba",
        0.1 * ms,
        (exc, inh),
        (),
        tuple(projections),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )
