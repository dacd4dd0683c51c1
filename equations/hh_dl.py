r"""HH of the paper's deep-learning code (``HH_fc``/``HH_conv``), with its quirks.

::

    dv/dt = I - g_Na m^3 h (v - E_Na) - g_K n^4 (v - E_K) - g_L (v - E_L)      (C = 1 omitted)
    dx/dt = alpha_x (1 - x) - beta_x x                                          x in {m, h, n}
    s_t   = H(v_t - theta)                                                      (no reset)

Forward Euler with dt = 0.01 (time in ms; the gates and v are updated from the
same old state). Quirks of the paper's code, all kept (digest section 1.5):

* alpha_x and beta_x are **not voltage-dependent**: per-neuron constants drawn once
  as ``coe_scaling * U[0, 1)`` (coe_scaling = 0.01) and not trained.
* **No reset and no refractoriness**: the spike is the level indicator, so the
  neuron fires at every step while v > theta.
* Initial state v = m = n = h = 0; E_L = 10.6 (not 10.613).
* With gates starting at 0, rates <= 0.01 and 15 steps, m, n, h stay below ~1e-3:
  the layer behaves almost like a non-resetting leaky integrator.
* Layer-level quirks that belong to the network, not the neuron: fc weights x0.01
  at initialisation; in conv the ionic currents are detached from the graph;
  conv uses dt = 0.1, theta = 2.3, surrogate half-width 0.5.

Multi-task fc settings: theta = 0.2, rectangular surrogate of half-width 0.3.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = (I - g_Na*m**3*h*(v - E_Na) - g_K*n**4*(v - E_K) - g_L*(v - E_L))/ms : 1
dm/dt = (alpha_m*(1 - m) - beta_m*m)/ms : 1
dh/dt = (alpha_h*(1 - h) - beta_h*h)/ms : 1
dn/dt = (alpha_n*(1 - n) - beta_n*n)/ms : 1
I : 1
g_Na : 1
g_K : 1
g_L : 1
E_Na : 1
E_K : 1
E_L : 1
alpha_m : 1
beta_m : 1
alpha_h : 1
beta_h : 1
alpha_n : 1
beta_n : 1
theta : 1
"""

THRESHOLD = "v > theta"
RESET = None
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler",)
DT = 0.01 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.3

PARAMETERS = {
    "I": 0.0,
    "g_Na": 120.0,
    "g_K": 36.0,
    "g_L": 0.3,
    "E_Na": 115.0,
    "E_K": -12.0,
    "E_L": 10.6,
    "theta": 0.2,
}

COE_SCALING = 0.01
RANDOM_PARAMETERS = {
    name: (0.0, COE_SCALING)
    for name in ("alpha_m", "beta_m", "alpha_h", "beta_h", "alpha_n", "beta_n")
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 1.0}

INITIAL = {"v": 0.0, "m": 0.0, "h": 0.0, "n": 0.0}
