r"""NIR's ``CubaLIF`` node: a LIF neuron with a current-based synapse, dimensionless, times in
seconds.

::

    tau_syn dI/dt = -I + w_in S
    tau_mem dv/dt = (v_leak - v) + r I
    spike when v > v_threshold;  then v <- v_reset

as the NIR documentation states it (``nir.CubaLIF``). ``S``: the node's input, held over
the step (upstream spikes count 1 in the step they are emitted; see
``nir_lif``). Declared method ``exact`` (linear: the coupled system is
integrated exactly for an input held over the step); ``euler`` integrates both equations
from the values at the start of the step. snnTorch's ``Synaptic`` and Norse's CubaLIF
update the current first and drive the membrane with the new current; an imported graph
reproduces that order with ``cuba="split"`` (:mod:`spikebridge.nir`), the synapse as its
own population (``nir_synapse``) ahead of a ``nir_lif``.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = ((v_leak - v) + r*I)/tau_mem : 1
dI/dt = (w_in*S - I)/tau_syn : 1
S : 1
tau_syn : second
tau_mem : second
r : 1
v_leak : 1
w_in : 1
v_threshold : 1
v_reset : 1
"""

THRESHOLD = "v > v_threshold"
RESET = "v = v_reset"
REFRACTORY = None
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("S",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.5

PARAMETERS = {
    "S": 0.0,
    "tau_syn": 5 * ms,
    "tau_mem": 10 * ms,
    "r": 1.0,
    "v_leak": 0.0,
    "w_in": 1.0,
    "v_threshold": 1.0,
    "v_reset": 0.0,
}

EXAMPLE_INPUT = {"S": 1.5}

INITIAL = {"v": 0.0, "I": 0.0}
