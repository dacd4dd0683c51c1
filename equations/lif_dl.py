r"""LIF of the paper's deep-learning code (``LIF_fc``/``LIF_conv``): a discrete-time map.

::

    u_t = decay * u_{t-1} * (1 - s_{t-1}) + I_t
    s_t = H(u_t - theta)

The reset is *lazy*: the membrane keeps its supra-threshold value and is zeroed by
the factor (1 - s_{t-1}) at the next step, exactly as the paper's ``mem_update``
(so a recorded membrane is the paper's pre-reset one, and the gradient flows
through s_{t-1}). In Brian2 terms the previous spike s is a state variable: the
step's Euler update clears it (ds/dt = -s/ms at dt = 1 ms gives s <- 0), the
spike's reset sets it to 1.

The map is defined at dt = 1 ms (``DT_FIXED``), where forward Euler of the
equations below is the update above. Multi-task settings (digest 1.5): decay 0.2,
theta 0.3, rectangular surrogate of half-width 0.5. The input I_t = W x_t comes
from the layer that owns the weights.
"""

from brian2 import ms

EQUATIONS = """
du/dt = (u*(decay*(1 - s) - 1) + I)/ms : 1
ds/dt = -s/ms : 1
I : 1
decay : 1
theta : 1
"""

THRESHOLD = "u > theta"
RESET = "s = 1"
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler",)
DT = 1 * ms
DT_FIXED = True

INPUTS = ("I",)
MEMBRANE = ("u",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.5

PARAMETERS = {"I": 0.0, "decay": 0.2, "theta": 0.3}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 0.5}

INITIAL = {"u": 0.0, "s": 0.0}
