r"""Leaky integrate-and-fire neuron with exponential current synapses (CUBA).

The neuron of the Vogels-Abbott network in its CUBA form (Brette et al. 2007,
benchmark 2; Brian2's ``CUBA`` example), synaptic inputs as voltages::

    tau_m dv/dt = (E_L - v) + g_e + g_i + R_m I     (clamped while refractory)
    dg_e/dt     = -g_e / tau_e
    dg_i/dt     = -g_i / tau_i
    spike when v > v_th;  then v <- v_reset, refractory for t_ref

Synapses add to ``g_e``/``g_i`` (in volts). Constants (Brette et al. 2007): tau_m =
20 ms, E_L = -49 mV, v_th = -50 mV, v_reset = -60 mV, tau_e = 5 ms, tau_i = 10 ms,
t_ref = 5 ms, R_m = 100 MOhm for an injected current; the network's weights are
1.62 mV (excitatory) and -9 mV (inhibitory). With E_L above threshold the neurons
fire without input.

Step order (Brian2 schedule): refractoriness, integration (declared method ``exact``:
the equations are linear; ``euler`` supported), threshold, synaptic jumps, reset.
"""

from brian2 import Mohm, ms, mV, namp

EQUATIONS = """
dv/dt = (E_L - v + g_e + g_i + R_m*I)/tau_m : volt (unless refractory)
dg_e/dt = -g_e/tau_e : volt
dg_i/dt = -g_i/tau_i : volt
I : amp
R_m : ohm
tau_m : second
E_L : volt
tau_e : second
tau_i : second
v_th : volt
v_reset : volt
t_ref : second
"""

THRESHOLD = "v > v_th"
RESET = "v = v_reset"
REFRACTORY = "t_ref"
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * namp,
    "R_m": 100 * Mohm,
    "tau_m": 20 * ms,
    "E_L": -49 * mV,
    "tau_e": 5 * ms,
    "tau_i": 10 * ms,
    "v_th": -50 * mV,
    "v_reset": -60 * mV,
    "t_ref": 5 * ms,
}

# An input at which the model fires regularly (examples, parity checks); E_L is above
# threshold, so the model fires without input as well.
EXAMPLE_INPUT = {"I": 0.2 * namp}

INITIAL = {"v": -60 * mV}
