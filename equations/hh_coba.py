r"""Hodgkin-Huxley neuron of Traub & Miles (1991) with exponential conductance synapses.

The neuron of Brian2's ``COBAHH`` example (Brette et al. 2007, benchmark 3), a
membrane patch of 20000 um2::

    C_m dv/dt = g_L (E_L - v) + g_e (E_e - v) + g_i (E_i - v)
                - g_Na m^3 h (v - E_Na) - g_K n^4 (v - E_K) + I
    dx/dt     = alpha_x (1 - x) - beta_x x                         x in {m, h, n}
    dg_e/dt   = -g_e / tau_e,  dg_i/dt = -g_i / tau_i

    alpha_m = 0.32 * 4 / exprel((13 mV - v + V_T)/4 mV)      beta_m = 0.28 * 5 / exprel((v - V_T - 40 mV)/5 mV)
    alpha_h = 0.128 exp((17 mV - v + V_T)/18 mV)             beta_h = 4 / (1 + exp((40 mV - v + V_T)/5 mV))
    alpha_n = 0.032 * 5 / exprel((15 mV - v + V_T)/5 mV)     beta_n = 0.5 exp((10 mV - v + V_T)/40 mV)     [1/ms]

Constants (Brian2's COBAHH): C_m = 1 uF/cm2, g_L = 5e-5 S/cm2, g_Na = 100 mS/cm2,
g_K = 30 mS/cm2 (times the area), E_L = -60 mV, E_K = -90 mV, E_Na = 50 mV,
V_T = -63 mV, E_e = 0 mV, E_i = -80 mV, tau_e = 5 ms, tau_i = 10 ms; the network's
weights are 6 nS and 67 nS. A spike is ``v > -20 mV`` with a refractory period of 3 ms
(no reset: the action potential itself repolarises), as in the example.

Step order (Brian2 schedule): refractoriness, integration (declared method
``exponential_euler``, Brian2's choice for HH),
threshold, synaptic jumps.
"""

from brian2 import cm, ms, msiemens, mV, namp, siemens, ufarad, umetre

AREA = 20000 * umetre**2

EQUATIONS = """
dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) - g_Na*(m*m*m)*h*(v - E_Na) - g_K*(n*n*n*n)*(v - E_K) + I)/C_m : volt
dm/dt = alpha_m*(1 - m) - beta_m*m : 1
dn/dt = alpha_n*(1 - n) - beta_n*n : 1
dh/dt = alpha_h*(1 - h) - beta_h*h : 1
dg_e/dt = -g_e/tau_e : siemens
dg_i/dt = -g_i/tau_i : siemens
alpha_m = 0.32*4/exprel((13*mV - v + V_T)/(4*mV))/ms : Hz
beta_m = 0.28*5/exprel((v - V_T - 40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV - v + V_T)/(18*mV))/ms : Hz
beta_h = 4/(1 + exp((40*mV - v + V_T)/(5*mV)))/ms : Hz
alpha_n = 0.032*5/exprel((15*mV - v + V_T)/(5*mV))/ms : Hz
beta_n = 0.5*exp((10*mV - v + V_T)/(40*mV))/ms : Hz
I : amp
C_m : farad
g_L : siemens
g_Na : siemens
g_K : siemens
E_L : volt
E_K : volt
E_Na : volt
V_T : volt
E_e : volt
E_i : volt
tau_e : second
tau_i : second
v_spike : volt
t_ref : second
"""

THRESHOLD = "v > v_spike"
RESET = None
REFRACTORY = "t_ref"
METHOD = "exponential_euler"
METHODS = ("exponential_euler",)
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * namp,
    "C_m": 1 * ufarad / cm**2 * AREA,
    "g_L": 5e-5 * siemens / cm**2 * AREA,
    "g_Na": 100 * msiemens / cm**2 * AREA,
    "g_K": 30 * msiemens / cm**2 * AREA,
    "E_L": -60 * mV,
    "E_K": -90 * mV,
    "E_Na": 50 * mV,
    "V_T": -63 * mV,
    "E_e": 0 * mV,
    "E_i": -80 * mV,
    "tau_e": 5 * ms,
    "tau_i": 10 * ms,
    "v_spike": -20 * mV,
    "t_ref": 3 * ms,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 0.3 * namp}

INITIAL = {"v": -60 * mV}
