r"""Time-varying LIF (tv-LIF): a LIF whose time constant and input scaling may change in time.

::

    tau_m(t) dv/dt = (E_L - v) + R_m(t) I(t)
    spike when v > v_th;  then v <- v_reset

``tau_m`` and ``R_m`` are ordinary parameters: drive them with waveforms (like the
input ``I``) to make them time-varying; left alone they are constants and the model
is a LIF without refractoriness. This is the building block of the paper's
tv-LIF2HH construction (digest section 1.2: C du/dt = -(u - u_rest) + I(t), with C
and/or the input scaling changing in time), integrated with forward Euler as in
the paper's code.

Step order: every driven value (I, tau_m, R_m) of step n is sampled at t_n and held
over the step; integrate (``euler``; ``exact`` and rk2/rk4 supported, exact taking
the step's tau_m as constant over the step); threshold; reset.
"""

from brian2 import ms

from .lif import EXAMPLE_INPUT as EXAMPLE_INPUT
from .lif import INITIAL as INITIAL
from .lif import INPUTS as INPUTS
from .lif import LIF_PARAMETERS, MEMBRANE_EQUATION
from .lif import MEMBRANE as MEMBRANE
from .lif import MEMBRANE_UNIT as MEMBRANE_UNIT
from .lif import PARAMETERS as LIF_DEFAULTS

# The LIF membrane equation without refractoriness: the time constant and the input gain
# are parameters, so any of them can be driven in time.
EQUATIONS = MEMBRANE_EQUATION + "\n" + LIF_PARAMETERS

THRESHOLD = "v > v_th"
RESET = "v = v_reset"
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler", "exact", "rk2", "rk4")
DT = 0.1 * ms

PARAMETERS = {name: value for name, value in LIF_DEFAULTS.items() if name != "t_ref"}
