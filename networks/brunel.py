"""Brunel (2000) sparse network of excitatory and inhibitory LIF neurons with a delay.

After Brunel (2000, J. Comput. Neurosci. 8:183), model A: ``n`` LIF neurons (the catalogue
``lif``, set to tau_m = 20 ms, rest 0 mV, threshold 20 mV, reset 10 mV, refractory 2 ms),
80 % excitatory; every neuron receives ``C_E = epsilon N_E`` excitatory and
``C_I = epsilon N_I`` inhibitory inputs (fixed in-degree), delta synapses ``v_post += J``
(J = 0.1 mV, inhibitory -g J with g = 5) with the homogeneous delay D = 1.5 ms. External
drive: a pool of ``C_E`` Poisson neurons at ``eta`` times the threshold rate
nu_thr = theta / (J C_E tau_m), each neuron receiving ``C_E`` of them (a shared pool, the
usual variant of Brunel's independent inputs; drawn once from the seed and given to both
engines). g = 5, eta = 2: the asynchronous irregular regime. Exact integration, dt = 0.1 ms.
"""

from brian2 import Hz, ms, mV

from spikebridge.network import (
    FixedInDegree,
    Network,
    PoissonSource,
    Population,
    Projection,
    Synapse,
    Uniform,
)


def build(
    n: int = 5000,
    epsilon: float = 0.1,
    g: float = 5.0,
    eta: float = 2.0,
    duration_ms: float = 200.0,
    seed: int = 1,
) -> Network:
    n_e = int(0.8 * n)
    n_i = n - n_e
    c_e, c_i = max(1, int(epsilon * n_e)), max(1, int(epsilon * n_i))
    j, theta, tau = 0.1 * mV, 20 * mV, 20 * ms
    nu_thr = theta / (j * c_e * tau)
    parameters = {
        "tau_m": tau,
        "E_L": 0 * mV,
        "v_th": theta,
        "v_reset": 10 * mV,
        "t_ref": 2 * ms,
    }
    initial = {"v": Uniform(0 * mV, 20 * mV)}
    exc = Population("exc", "lif", n_e, parameters=parameters, initial=initial, seed=seed)
    inh = Population("inh", "lif", n_i, parameters=parameters, initial=initial, seed=seed + 1)
    external = PoissonSource("external", c_e, rates=eta * nu_thr, seed=seed + 2)
    delta = Synapse("w : volt", on_pre="v_post += w")
    projections = []
    for k, (name, src, dst, in_degree, weight) in enumerate(
        [
            ("ee", "exc", "exc", c_e, j),
            ("ei", "exc", "inh", c_e, j),
            ("ie", "inh", "exc", c_i, -g * j),
            ("ii", "inh", "inh", c_i, -g * j),
            ("ext_e", "external", "exc", c_e, j),
            ("ext_i", "external", "inh", c_e, j),
        ]
    ):
        delay = 1.5 * ms if src != "external" else None
        projections.append(
            Projection(
                name,
                src,
                dst,
                delta,
                FixedInDegree(in_degree, seed=seed + 10 + k),
                weights=weight,
                delay=delay,
            )
        )
    return Network(
        "brunel",
        0.1 * ms,
        (exc, inh),
        (external,),
        tuple(projections),
        duration=duration_ms * ms,
        doc=__doc__ or "",
    )


assert Hz  # rates are frequencies (nu_thr comes out in Hz)
