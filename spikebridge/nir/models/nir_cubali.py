r"""NIR's ``CubaLI`` node: a leaky integrator with a current-based synapse (no spikes),
dimensionless, times in seconds.

::

    tau_syn dI/dt = -I + w_in S
    tau_mem dv/dt = (v_leak - v) + r I

as the NIR documentation states it (``nir.CubaLI``). The node's output is ``v`` at every
step (event ``output`` at every step, as ``nir_li``). ``S``: the node's
input, held over the step. Declared method ``exact``; ``euler`` supported (see
``nir_cubalif`` for the peers' order and ``cuba="split"``).
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
"""

EVENTS = {"output": ("True", None)}
REFRACTORY = None
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("S",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1

PARAMETERS = {
    "S": 0.0,
    "tau_syn": 5 * ms,
    "tau_mem": 10 * ms,
    "r": 1.0,
    "v_leak": 0.0,
    "w_in": 1.0,
}

EXAMPLE_INPUT = {"S": 1.5}

INITIAL = {"v": 0.0, "I": 0.0}
