r"""Hodgkin-Huxley neuron (squid axon, 1952 kinetics), modern voltage convention.

Membrane and gates (x in {m, h, n}); u = v - V_hh0 is the depolarisation in the
1952 convention, so the same kinetics serve both voltage conventions::

    C_m dv/dt = I - g_Na m^3 h (v - E_Na) - g_K n^4 (v - E_K) - g_L (v - E_L)
    dx/dt     = alpha_x(u) (1 - x) - beta_x(u) x

    alpha_m = 0.1 (u - 25) / (1 - exp(-(u - 25)/10))  = 1    / exprel(-(u - 25)/10)   [1/ms, u in mV]
    beta_m  = 4 exp(-u/18)
    alpha_h = 0.07 exp(-u/20)
    beta_h  = 1 / (1 + exp(-(u - 30)/10))
    alpha_n = 0.01 (u - 10) / (1 - exp(-(u - 10)/10)) = 0.1  / exprel(-(u - 10)/10)
    beta_n  = 0.125 exp(-u/80)

The ``exprel`` form is the same function with its removable singularities (u = 10 mV,
u = 25 mV) evaluated exactly instead of as 0/0.

Constants (paper digest, section 1.1, ``time_varied_simulation``): C_m = 1 uF/cm2,
g_Na/g_K/g_L = 120/36/0.3 mS/cm2, E_Na/E_K/E_L = 50/-77/-54.387 mV, V_hh0 = -65 mV
(rest near -65 mV). Initial state (v, m, n, h) = (-70 mV, 0.0289, 0.2446, 0.7541),
the steady state at -70 mV, as in the paper.

Spike: ``v > v_spike`` (-40 mV) with the same condition as refractoriness, so a
spike is the rising edge of the level indicator: one spike per action potential.

Step order (Brian2 schedule, mirrored by the torch engine): input for step n is
sampled at t_n and held over the step; integrate (declared method
``exponential_euler``; euler, rk2 and rk4 supported); threshold on the new state.
"""

from brian2 import cm, ms, msiemens, mV, uamp, ufarad

GATING_EQUATIONS = """
dm/dt = alpha_m*(1 - m) - beta_m*m : 1
dh/dt = alpha_h*(1 - h) - beta_h*h : 1
dn/dt = alpha_n*(1 - n) - beta_n*n : 1
alpha_m = 1/exprel(-(v - V_hh0 - 25*mV)/(10*mV))/ms : Hz
beta_m = 4*exp(-(v - V_hh0)/(18*mV))/ms : Hz
alpha_h = 0.07*exp(-(v - V_hh0)/(20*mV))/ms : Hz
beta_h = 1/(1 + exp(-(v - V_hh0 - 30*mV)/(10*mV)))/ms : Hz
alpha_n = 0.1/exprel(-(v - V_hh0 - 10*mV)/(10*mV))/ms : Hz
beta_n = 0.125*exp(-(v - V_hh0)/(80*mV))/ms : Hz
V_hh0 : volt
"""

CHANNEL_PARAMETERS = """
I : amp/meter**2
C_m : farad/meter**2
g_Na : siemens/meter**2
g_K : siemens/meter**2
g_L : siemens/meter**2
E_Na : volt
E_K : volt
E_L : volt
v_spike : volt
"""

EQUATIONS = (
    """
dv/dt = (I - g_Na*m**3*h*(v - E_Na) - g_K*n**4*(v - E_K) - g_L*(v - E_L))/C_m : volt
"""
    + GATING_EQUATIONS
    + CHANNEL_PARAMETERS
)

THRESHOLD = "v > v_spike"
REFRACTORY = "v > v_spike"
RESET = None
METHOD = "exponential_euler"
METHODS = ("euler", "exponential_euler", "rk2", "rk4")
DT = 0.01 * ms
# Largest steps that reproduce the dt = 0.001 ms spike times at 10 uA/cm2 over 40 ms
# (measured): Euler adds spurious spikes at 0.06 ms and diverges at 0.08 ms, rk2 diverges at
# 0.06 ms, rk4 at 0.08 ms; exponential Euler stays stable up to 0.2 ms at least.
MAX_DT = {"euler": 0.05 * ms, "rk2": 0.05 * ms, "rk4": 0.06 * ms}

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "C_m": 1 * ufarad / cm**2,
    "g_Na": 120 * msiemens / cm**2,
    "g_K": 36 * msiemens / cm**2,
    "g_L": 0.3 * msiemens / cm**2,
    "E_Na": 50 * mV,
    "E_K": -77 * mV,
    "E_L": -54.387 * mV,
    "V_hh0": -65 * mV,
    "v_spike": -40 * mV,
    "I": 0 * uamp / cm**2,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 10 * uamp / cm**2}

INITIAL = {"v": -70 * mV, "m": 0.0289, "n": 0.2446, "h": 0.7541}
