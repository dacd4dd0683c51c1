r"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

::

    C dv/dt = -g_L (v - E_L) + g_L Delta_T exp((v - V_T) / Delta_T) - w + I
    tau_w dw/dt = a (v - E_L) - w
    spike when v > V_T + 5 Delta_T;  then v <- V_r, w <- w + b

Constants: the paper's regular-spiking cell (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV,
V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS, b = 0.0805 nA, V_r = E_L).
The cut-off V_T + 5 Delta_T is where the exponential term has taken over (Brian2's AdEx
example uses it). Method: Euler, as AdEx is integrated in the original and in Brian2's
examples; dt = 0.01 ms (the exponential is stiff near the cut-off).
"""

from brian2 import ms, mV, nA, nS, pF

EQUATIONS = """
dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w + I)/C : volt
dw/dt = (a*(v - E_L) - w)/tau_w : amp
I : amp
C : farad
g_L : siemens
E_L : volt
V_T : volt
Delta_T : volt
tau_w : second
a : siemens
b : amp
V_r : volt
"""
THRESHOLD = "v > V_T + 5*Delta_T"
RESET = "v = V_r; w += b"
METHOD = "euler"
METHODS = ("euler", "rk2", "rk4")
DT = 0.01 * ms
INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV
EXAMPLE_INPUT = {"I": 1 * nA}
PARAMETERS = {
    "I": 0 * nA,
    "C": 281 * pF,
    "g_L": 30 * nS,
    "E_L": -70.6 * mV,
    "V_T": -50.4 * mV,
    "Delta_T": 2 * mV,
    "tau_w": 144 * ms,
    "a": 4 * nS,
    "b": 0.0805 * nA,
    "V_r": -70.6 * mV,
}
INITIAL = {"v": -70.6 * mV, "w": 0 * nA}
