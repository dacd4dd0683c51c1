r"""NIR's ``LIF`` node: a leaky integrate-and-fire neuron, dimensionless, times in seconds.

::

    tau dv/dt = (v_leak - v) + r I
    spike when v > v_threshold;  then v <- v_reset

as the NIR documentation states it (``nir.LIF``; no refractoriness). ``I`` is the node's
input: in a network imported from NIR (:mod:`spikebridge.nir`) the value arriving in the
current step (upstream spikes count 1 in the step they are emitted, as in snnTorch and
Norse), held over the step. Declared method ``exact`` (the equation is linear: for an input
held over a step, v <- v_leak + r I + (v - v_leak - r I) exp(-dt/tau)); ``euler`` gives
v <- v + dt/tau (v_leak - v + r I), the update of snnTorch's ``Leaky`` (beta = 1 - dt/tau,
input weight r dt/tau) and Norse's ``LIFBoxCell``.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = ((v_leak - v) + r*I)/tau : 1
I : 1
tau : second
r : 1
v_leak : 1
v_threshold : 1
v_reset : 1
"""

THRESHOLD = "v > v_threshold"
RESET = "v = v_reset"
REFRACTORY = None
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.5

PARAMETERS = {
    "I": 0.0,
    "tau": 10 * ms,
    "r": 1.0,
    "v_leak": 0.0,
    "v_threshold": 1.0,
    "v_reset": 0.0,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 1.5}

INITIAL = {"v": 0.0}
