r"""Leaky integrate-and-fire neuron with exponential conductance synapses (COBA).

The neuron of the Vogels-Abbott network in its COBA form (Brette et al. 2007,
benchmark 1; Brian2's ``COBA`` benchmark)::

    C_m dv/dt = g_L (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I     (clamped while refractory)
    dg_e/dt   = -g_e / tau_e
    dg_i/dt   = -g_i / tau_i
    spike when v > v_th;  then v <- v_reset, refractory for t_ref

Synapses add to the conductances (``g_e_post += w`` with ``w`` in siemens). Constants
(Brette et al. 2007): C_m = 200 pF, g_L = 10 nS (tau_m = 20 ms), E_L = -60 mV,
v_th = -50 mV, v_reset = -60 mV, E_e = 0 mV, E_i = -80 mV, tau_e = 5 ms,
tau_i = 10 ms, t_ref = 5 ms; the network's weights are 6 nS (excitatory) and 67 nS
(inhibitory).

Step order (Brian2 schedule): refractoriness from the last spike time, integration
(declared method ``euler``; the conductances make the membrane equation bilinear, so
``exact`` does not apply), threshold, synaptic jumps, reset.
"""

from brian2 import ms, mV, namp, nS, pF

EQUATIONS = """
dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) + I)/C_m : volt (unless refractory)
dg_e/dt = -g_e/tau_e : siemens
dg_i/dt = -g_i/tau_i : siemens
I : amp
C_m : farad
g_L : siemens
E_L : volt
E_e : volt
E_i : volt
tau_e : second
tau_i : second
v_th : volt
v_reset : volt
t_ref : second
"""

THRESHOLD = "v > v_th"
RESET = "v = v_reset"
REFRACTORY = "t_ref"
METHOD = "euler"
METHODS = ("euler", "rk2")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * namp,
    "C_m": 200 * pF,
    "g_L": 10 * nS,
    "E_L": -60 * mV,
    "E_e": 0 * mV,
    "E_i": -80 * mV,
    "tau_e": 5 * ms,
    "tau_i": 10 * ms,
    "v_th": -50 * mV,
    "v_reset": -60 * mV,
    "t_ref": 5 * ms,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 0.3 * namp}

INITIAL = {"v": -60 * mV}
