"""A network mixing two neuron models: Hodgkin-Huxley excitatory, LIF inhibitory neurons.

The paper's outlook (several neuron models in one network) as a small E/I circuit:
``n`` neurons, 80 % Traub-Miles HH (``equations/hh_coba.py``) and 20 % LIF
(``equations/lif_coba.py``), both with conductance synapses (6 nS excitatory, 67 nS
inhibitory, E_e = 0 mV, E_i = -80 mV), pairs connected with probability ``p``. The
excitatory neurons receive a constant current drawn per neuron from U(0.1, 0.5) nA, the
inhibitory ones 0.2 nA. Each population keeps its own integration method (exponential
Euler for HH, Euler for LIF) on one dt = 0.1 ms.
"""

from brian2 import ms, mV, namp, nS

from spikebridge.network import Network, Population, Uniform, ei_projections


def build(n: int = 1000, p: float = 0.05, duration_ms: float = 200.0, seed: int = 1) -> Network:
    n_e = int(0.8 * n)
    exc = Population(
        "exc",
        "hh_coba",
        n_e,
        parameters={"I": Uniform(0.1 * namp, 0.5 * namp)},
        initial={"v": Uniform(-70 * mV, -60 * mV)},
        seed=seed,
    )
    inh = Population(
        "inh",
        "lif_coba",
        n - n_e,
        parameters={"I": 0.2 * namp},
        initial={"v": Uniform(-60 * mV, -50 * mV)},
        seed=seed + 1,
    )
    projections = ei_projections(p, 6 * nS, 67 * nS, seed=seed)
    return Network(
        "mixed_ei",
        0.1 * ms,
        (exc, inh),
        (),
        tuple(projections),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )
