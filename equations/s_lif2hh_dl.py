r"""s-LIF2HH of the paper's deep-learning code (``LIF_hh_fc``/``LIF_hh_conv``).

Each unit has four LIF sub-neurons with the lazy reset of :mod:`lif_dl`. Sub-neurons
1-3 have their own inputs (three separate learned projections of the layer input);
sub-neuron 4 is driven by a learned affine map of the *previous-step* membranes
u_1..u_3 (pre-reset, as the paper reads ``mem[:, :, 0:3]``), shared by all units::

    u_k,t = decay u_k,t-1 (1 - s_k,t-1) + I_k,t                                 k = 1, 2, 3
    u_4,t = decay u_4,t-1 (1 - s_4,t-1) + a_1 u_1,t-1 + a_2 u_2,t-1 + a_3 u_3,t-1 + b_4
    s_k,t = H(u_k,t - theta)                                                    k = 1..4

Quirks kept (digest section 1.5): there is **no AND gate**, each sub-neuron spikes and
resets on its own and the next layer sees all 4 x width spike trains (events
``spike_1`` .. ``spike_4``); the 3->1 map (a_1, a_2, a_3, b_4) is a single shared
set of parameters, its weights initialised to |w| of a default ``Linear(3, 1)``
(U(0, 1/sqrt(3))) and its bias to U(-1/sqrt(3), 1/sqrt(3)).

Discrete-time map at dt = 1 ms (``DT_FIXED``), forward Euler of the equations below.
Multi-task fc settings: decay 0.5, theta 2, surrogate half-width 0.4.
"""

import math

from brian2 import ms

EQUATIONS = """
du_1/dt = (u_1*(decay*(1 - s_1) - 1) + I_1)/ms : 1
du_2/dt = (u_2*(decay*(1 - s_2) - 1) + I_2)/ms : 1
du_3/dt = (u_3*(decay*(1 - s_3) - 1) + I_3)/ms : 1
du_4/dt = (u_4*(decay*(1 - s_4) - 1) + a_1*u_1 + a_2*u_2 + a_3*u_3 + b_4)/ms : 1
ds_1/dt = -s_1/ms : 1
ds_2/dt = -s_2/ms : 1
ds_3/dt = -s_3/ms : 1
ds_4/dt = -s_4/ms : 1
I_1 : 1
I_2 : 1
I_3 : 1
a_1 : 1 (shared)
a_2 : 1 (shared)
a_3 : 1 (shared)
b_4 : 1 (shared)
decay : 1
theta : 1
"""

THRESHOLD = None
RESET = None
REFRACTORY = None
EVENTS = {f"spike_{k}": (f"u_{k} > theta", f"s_{k} = 1") for k in (1, 2, 3, 4)}
METHOD = "euler"
METHODS = ("euler",)
DT = 1 * ms
DT_FIXED = True

INPUTS = ("I_1", "I_2", "I_3")
MEMBRANE = ("u_1", "u_2", "u_3", "u_4")
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.4

PARAMETERS = {"I_1": 0.0, "I_2": 0.0, "I_3": 0.0, "decay": 0.5, "theta": 2.0}

_BOUND = 1 / math.sqrt(3)
RANDOM_PARAMETERS = {
    "a_1": (0.0, _BOUND),
    "a_2": (0.0, _BOUND),
    "a_3": (0.0, _BOUND),
    "b_4": (-_BOUND, _BOUND),
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I_1": 3.0, "I_2": 2.5, "I_3": 3.5}

INITIAL = {f"{var}_{k}": 0.0 for var in ("u", "s") for k in (1, 2, 3, 4)}
