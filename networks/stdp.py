"""Spike-timing-dependent plasticity: Poisson inputs onto LIF neurons through STDP synapses.

After Song, Miller & Abbott (2000, Nat. Neurosci. 3:919): ``inputs`` Poisson neurons at
``rate`` drive ``neurons`` conductance-based LIF neurons (``equations/lif_coba.py``)
through all-to-all excitatory synapses whose weights change by pair-based STDP with
event-driven traces (tau_pre = tau_post = 20 ms)::

    da_pre/dt = -a_pre / tau_pre,  da_post/dt = -a_post / tau_post     (event-driven)
    on a presynaptic spike:   g_e_post += w;  a_pre += d_pre;  w = clip(w + a_post, 0, w_max)
    on a postsynaptic spike:  a_post += d_post;  w = clip(w + a_pre, 0, w_max)

with d_pre = 0.01 w_max, d_post = -1.05 d_pre, w_max = 1 nS (Brian2 reserves the suffixes
``_pre``/``_post``, so the traces are ``apre``/``apost`` in the code); initial weights uniform in
[0, w_max]. The weights and traces are per-synapse state (run without autograd). The
Poisson trains are drawn once from the seed and given to both engines.
"""

from brian2 import Hz, ms, nS

from spikebridge.network import (
    Dense,
    Network,
    PoissonSource,
    Population,
    Projection,
    Synapse,
    Uniform,
)

STDP = Synapse(
    model="""
w : siemens
dapre/dt = -apre/taupre : siemens (event-driven)
dapost/dt = -apost/taupost : siemens (event-driven)
taupre : second (shared, constant)
taupost : second (shared, constant)
dpre : siemens (shared, constant)
w_max : siemens (shared, constant)
""",
    on_pre="""
g_e_post += w
apre += dpre
w = clip(w + apost, 0*nS, w_max)
""",
    on_post="""
apost += -1.05*dpre
w = clip(w + apre, 0*nS, w_max)
""",
)


def build(
    inputs: int = 1000,
    neurons: int = 10,
    rate_hz: float = 15.0,
    duration_ms: float = 500.0,
    seed: int = 1,
) -> Network:
    w_max = 1 * nS
    return Network(
        "stdp",
        0.1 * ms,
        (Population("neurons", "lif_coba", neurons, seed=seed),),
        (PoissonSource("inputs", inputs, rates=rate_hz * Hz, seed=seed + 1),),
        (
            Projection(
                "plastic",
                "inputs",
                "neurons",
                STDP,
                Dense(),
                weights=Uniform(0 * nS, w_max),
                values={
                    "taupre": 20 * ms,
                    "taupost": 20 * ms,
                    "dpre": 0.01 * w_max,
                    "w_max": w_max,
                },
                seed=seed + 2,
            ),
        ),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )
