r"""Leaky integrate-and-fire neuron with an absolute refractory period.

::

    tau_m dv/dt = (E_L - v) + R_m I         (clamped while refractory)
    spike when v > v_th;  then v <- v_reset and the neuron is refractory for t_ref

Constants: tau_m = 10 ms, E_L = -65 mV, v_th = -50 mV, v_reset = -65 mV,
R_m = 100 MOhm, t_ref = 2 ms (a textbook cortical LIF).

Step order (Brian2 schedule): refractoriness is updated from the last spike
time, the membrane is integrated (declared method ``exact``, Brian2's choice
for linear equations; euler, rk2 and rk4 supported) with v frozen while
refractory, then threshold, then reset in the same step.

Discretisation: for constant input over a step, ``exact`` gives
v <- v * beta + (1 - beta) (E_L + R_m I) with beta = exp(-dt/tau_m); ``euler`` gives
beta = 1 - dt/tau_m (see :mod:`spikebridge.discretize`).
"""

from brian2 import Mohm, ms, mV, namp

MEMBRANE_EQUATION = "dv/dt = (E_L - v + R_m*I)/tau_m : volt"
LIF_PARAMETERS = """
I : amp
R_m : ohm
tau_m : second
E_L : volt
v_th : volt
v_reset : volt
"""

EQUATIONS = MEMBRANE_EQUATION + " (unless refractory)" + LIF_PARAMETERS + "t_ref : second\n"

THRESHOLD = "v > v_th"
RESET = "v = v_reset"
REFRACTORY = "t_ref"
METHOD = "exact"
METHODS = ("exact", "euler", "rk2", "rk4")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * namp,
    "R_m": 100 * Mohm,
    "tau_m": 10 * ms,
    "E_L": -65 * mV,
    "v_th": -50 * mV,
    "v_reset": -65 * mV,
    "t_ref": 2 * ms,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 0.2 * namp}

INITIAL = {"v": -65 * mV}
