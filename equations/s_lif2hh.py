r"""s-LIF2HH: the simplified unit of four constant-parameter LIF neurons (paper, Fig. 3d).

Three channel neurons k in {1, 2, 3} receive the same input; neuron 4 integrates
their membranes. All four share rest and threshold::

    tau_s du_k/dt = -(1 - decay)(u_k - u_rest) + R_in (I - I_0 + I_syn_k)           k = 1, 2, 3
    tau_s du_4/dt = -(1 - decay_4)(u_4 - u_rest) + w_4 sum_k (u_k + tau_s du_k/dt)
    spike when u_1, u_2, u_3 and u_4 are all > v_th (AND);  then all four <- u_reset
    cross_k when u_k > v_th (each sub-neuron's own crossing, before the reset)

At the model's step dt = tau_s = 1 ms forward Euler gives the paper's map
u_k <- decay u_k + R_in I (with u_rest = 0), and ``u_k + tau_s du_k/dt`` is u_k
*after* this step: neuron 4 sees the channel neurons' current-step values, which
is the step order of the paper's ``lif_simplified``/``main.m``.

The model is a discrete-time map defined at dt = 1 ms (``DT_FIXED``). The input I
of a step is the mean of the HH input current over that 1-ms bin (the paper's
numerical integral); R_in = 1 mV per uA/cm2 makes ``decay u + I`` the paper's update.

I_syn_k carries a presynaptic unit's crossings in the paper's two-layer chain; I_0 is an
input offset (0 in the paper).

Constants (digest section 1.4): decay = decay_4 = 0.9, v_th = 70 mV, u_rest = u_reset = 0,
w_4 = 1, I_0 = 0. These match HH only near 9 uA/cm2 (digest section 2.3); the equivalence
study fits decay, decay_4, v_th, R_in, w_4, I_0 and u_reset. A reset below rest
(u_reset < u_rest) makes the interval after a spike longer than the latency of a first spike
from rest, as HH's refractoriness does; the paper resets to rest.
"""

from brian2 import cm, ms, mV, uamp

EQUATIONS = """
du_1/dt = drive_1/tau_s : volt
du_2/dt = drive_2/tau_s : volt
du_3/dt = drive_3/tau_s : volt
du_4/dt = (-(1 - decay_4)*(u_4 - u_rest) + w_4*(u_1 + drive_1 + u_2 + drive_2 + u_3 + drive_3))/tau_s : volt
drive_1 = -(1 - decay)*(u_1 - u_rest) + R_in*(I - I_0 + I_syn_1) : volt
drive_2 = -(1 - decay)*(u_2 - u_rest) + R_in*(I - I_0 + I_syn_2) : volt
drive_3 = -(1 - decay)*(u_3 - u_rest) + R_in*(I - I_0 + I_syn_3) : volt
I : amp/meter**2
I_syn_1 : amp/meter**2
I_syn_2 : amp/meter**2
I_syn_3 : amp/meter**2
I_0 : amp/meter**2
R_in : ohm*meter**2
decay : 1
decay_4 : 1
w_4 : 1
u_rest : volt
u_reset : volt
v_th : volt
tau_s : second
"""

THRESHOLD = "u_1 > v_th and u_2 > v_th and u_3 > v_th and u_4 > v_th"
RESET = """
u_1 = u_reset
u_2 = u_reset
u_3 = u_reset
u_4 = u_reset
"""
REFRACTORY = None
# Each sub-neuron's own threshold crossing (before the reset), which the paper's two-layer
# chain sends downstream: sub-neuron k of the next unit receives W s_k + s_4 (on I_syn_k).
EVENTS = {f"cross_{k}": (f"u_{k} > v_th", None) for k in (1, 2, 3, 4)}
METHOD = "euler"
METHODS = ("euler",)
DT = 1 * ms
DT_FIXED = True

INPUTS = ("I",)
MEMBRANE = ("u_1", "u_2", "u_3", "u_4")
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * uamp / cm**2,
    "R_in": 1 * mV / (uamp / cm**2),
    "I_syn_1": 0 * uamp / cm**2,
    "I_syn_2": 0 * uamp / cm**2,
    "I_syn_3": 0 * uamp / cm**2,
    "I_0": 0 * uamp / cm**2,
    "decay": 0.9,
    "decay_4": 0.9,
    "w_4": 1.0,
    "u_rest": 0 * mV,
    "u_reset": 0 * mV,
    "v_th": 70 * mV,
    "tau_s": 1 * ms,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 9 * uamp / cm**2}

INITIAL = {"u_1": 0 * mV, "u_2": 0 * mV, "u_3": 0 * mV, "u_4": 0 * mV}
