"""COBAHH: a network of Hodgkin-Huxley neurons (Traub & Miles) with conductance synapses.

Benchmark 3 of Brette et al. (2007), as Brian2's ``COBAHH`` example: ``n`` HH neurons
(``equations/hh_coba.py``, a 20000 um2 patch; spike at v > -20 mV, refractory 3 ms),
80 % excitatory and 20 % inhibitory, pairs connected with probability ``p`` = 0.02; a
spike adds 6 nS to ``g_e`` (E_e = 0 mV, tau_e = 5 ms) or 67 nS to ``g_i`` (E_i = -80 mV,
tau_i = 10 ms) of its targets. Initial state as the example: v = E_L + N(-5, 5) mV,
g_e ~ N(40, 15) nS, g_i ~ N(200, 120) nS. Exponential Euler, dt = 0.1 ms.
"""

from brian2 import ms, mV, nS

from spikebridge.network import Network, Normal, Population, ei_projections


def build(n: int = 4000, p: float = 0.02, duration_ms: float = 200.0, seed: int = 1) -> Network:
    n_e = int(0.8 * n)
    initial = {
        "v": Normal(-65 * mV, 5 * mV),
        "g_e": Normal(40 * nS, 15 * nS),
        "g_i": Normal(200 * nS, 120 * nS),
    }
    exc = Population("exc", "hh_coba", n_e, initial=initial, seed=seed)
    inh = Population("inh", "hh_coba", n - n_e, initial=initial, seed=seed + 1)
    projections = ei_projections(p, 6 * nS, 67 * nS, seed=seed)
    return Network(
        "hh_coba",
        0.1 * ms,
        (exc, inh),
        (),
        tuple(projections),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )
