r"""tv-LIF2HH: four time-varying LIF neurons wired to reproduce one HH neuron (paper, Fig. 2).

Three *channel* neurons, one per ionic channel i in {Na, K, L}, each a tv-LIF with
rest E_i, time constant tau_ch and input scaled by 1/g_s(t); an accumulator F;
and a fourth tv-LIF with rest 0 and time-varying time constant C_m/g_s(t)::

    tau_ch du_i/dt = (E_i - u_i) + I / g_s                         i in {Na, K, L}
    C_m    dF/dt   = sum_i g_i (E_i - u_i + I/g_s)       (F = integral of sum_i g_i tau_ch/C_m du_i)
    (C_m/g_s) du_4/dt = -u_4 + (-F + sum_i g_i u_i / g_s)
    v = F + u_4                                          (the unit's output)

    g_Na = gbar_Na m^3 h,   g_K = gbar_K n^4,   g_L = gbar_L,   g_s = g_Na + g_K + g_L

Adding the equations gives C_m dv/dt = I - sum_i g_i (v - E_i): the HH membrane
equation. Under forward Euler the identity also holds step by step (the update of
F + u_4 equals the Euler update of HH's v), so V(t) equals HH's to rounding error.

Time-varying conductances: the paper takes g_Na(t), g_K(t) from the gating
trajectories of an HH neuron simulated alongside. Here the gates m, h, n are part
of the unit, following the HH kinetics of :mod:`hh` (the same equation lines)
driven by the unit's own output v. The LIF neurons themselves carry no gating
dynamics: they only see g_i(t) as time-varying parameters.

Constants and initial state as the paper's ``time_varied_simulation``: modern
convention (E_Na/E_K/E_L = 50/-77/-54.387 mV), tau_ch = 1 ms (the paper's C_i = 1),
u_i(0) = 0, F(0) = 0, u_4(0) = -70 mV, gates at their -70 mV steady state.
Spike: rising edge of ``v > -40 mV``, as :mod:`hh`. Declared method: ``euler``.
"""

from brian2 import ms, mV

from .hh import CHANNEL_PARAMETERS, GATING_EQUATIONS
from .hh import EXAMPLE_INPUT as HH_EXAMPLE_INPUT
from .hh import INITIAL as HH_INITIAL
from .hh import MAX_DT as MAX_DT
from .hh import MEMBRANE_UNIT as MEMBRANE_UNIT
from .hh import PARAMETERS as HH_PARAMETERS

EQUATIONS = (
    """
du_Na/dt = (E_Na - u_Na + I/g_s)/tau_ch : volt
du_K/dt = (E_K - u_K + I/g_s)/tau_ch : volt
du_L/dt = (E_L - u_L + I/g_s)/tau_ch : volt
dF/dt = (g_Na_t*(E_Na - u_Na + I/g_s) + g_K_t*(E_K - u_K + I/g_s) + g_L*(E_L - u_L + I/g_s))/C_m : volt
du_4/dt = (-g_s*(u_4 + F) + g_Na_t*u_Na + g_K_t*u_K + g_L*u_L)/C_m : volt
v = F + u_4 : volt
g_Na_t = g_Na*m**3*h : siemens/meter**2
g_K_t = g_K*n**4 : siemens/meter**2
g_s = g_Na_t + g_K_t + g_L : siemens/meter**2
tau_ch : second
"""
    + GATING_EQUATIONS
    + CHANNEL_PARAMETERS
)

THRESHOLD = "v > v_spike"
REFRACTORY = "v > v_spike"
RESET = None
METHOD = "euler"
METHODS = ("euler", "rk2", "rk4")
DT = 0.001 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)

PARAMETERS = {**HH_PARAMETERS, "tau_ch": 1 * ms}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = HH_EXAMPLE_INPUT

INITIAL = {
    "u_Na": 0 * mV,
    "u_K": 0 * mV,
    "u_L": 0 * mV,
    "F": 0 * mV,
    "u_4": HH_INITIAL["v"],
    "m": HH_INITIAL["m"],
    "n": HH_INITIAL["n"],
    "h": HH_INITIAL["h"],
}
