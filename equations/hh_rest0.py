r"""Hodgkin-Huxley neuron in the 1952 convention (rest at 0 mV), as in the paper's simulations.

The dynamics are those of :mod:`hh` (the same equation string); only the constants
differ. With V_hh0 = 0 the rate functions are the 1952 ones written in the paper's
code (digest section 1.1, ``simplified_simulation``)::

    C_m dv/dt = I - 120 m^3 h (v - 115) - 36 n^4 (v + 12) - 0.3 (v - 10.613)
    dx/dt     = alpha_x(v) (1 - x) - beta_x(v) x

    alpha_n = 0.01 (v - 10)/(1 - exp(-(v - 10)/10)),  beta_n = 0.125 exp(-v/80)
    alpha_m = 0.1 (v - 25)/(1 - exp(-(v - 25)/10)),   beta_m = 4 exp(-v/18)
    alpha_h = 0.07 exp(-v/20),                        beta_h = 1/(1 + exp(-(v - 30)/10))

(v in mV, rates in 1/ms, currents in uA/cm2.) Forward Euler at dt = 0.001 ms.

Spike: ``v > 70 mV`` counted as the rising edge of the level indicator (the paper
counts rising edges of ``V > 70``), implemented by the refractory condition
``v > 70 mV``.

Quirk kept as written: the paper's initial state (v, m, n, h) = (0, 0.0489,
0.6446, 0.1341) is *not* the resting steady state (which is m = 0.0529,
n = 0.3177, h = 0.5961); the first few ms show a transient.
"""

from brian2 import ms, mV

from .hh import EQUATIONS as EQUATIONS
from .hh import EXAMPLE_INPUT as HH_EXAMPLE_INPUT
from .hh import INPUTS as INPUTS
from .hh import MAX_DT as MAX_DT
from .hh import MEMBRANE as MEMBRANE
from .hh import MEMBRANE_UNIT as MEMBRANE_UNIT
from .hh import METHODS as METHODS
from .hh import PARAMETERS as HH_PARAMETERS

THRESHOLD = "v > v_spike"
REFRACTORY = "v > v_spike"
RESET = None
METHOD = "euler"
DT = 0.001 * ms

PARAMETERS = {
    **HH_PARAMETERS,
    "E_Na": 115 * mV,
    "E_K": -12 * mV,
    "E_L": 10.613 * mV,
    "V_hh0": 0 * mV,
    "v_spike": 70 * mV,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = HH_EXAMPLE_INPUT

INITIAL = {"v": 0 * mV, "m": 0.0489, "n": 0.6446, "h": 0.1341}
