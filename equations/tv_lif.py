r"""Time-varying LIF (tv-LIF): a LIF whose time constant and input scaling may change in time.

::

    tau_m(t) dv/dt = (E_L - v) + R_in(t) I(t)
    spike when v > v_th;  then v <- v_reset

``tau_m`` and ``R_in`` are ordinary parameters: drive them with waveforms (like the
input ``I``) to make them time-varying; left alone they are constants and the model
is a LIF without refractoriness. This is the building block of the paper's
tv-LIF2HH construction (digest section 1.2: C du/dt = -(u - u_rest) + I(t), with C
and/or the input scaling changing in time), integrated with forward Euler as in
the paper's code.

Step order: every driven value (I, tau_m, R_in) of step n is sampled at t_n and held
over the step; integrate (``euler``; ``exact`` and rk2/rk4 supported, exact taking
the step's tau_m as constant over the step); threshold; reset.
"""

from brian2 import Mohm, ms, mV, namp

EQUATIONS = """
dv/dt = (E_L - v + R_in*I)/tau_m : volt
I : amp
R_in : ohm
tau_m : second
E_L : volt
v_th : volt
v_reset : volt
"""

THRESHOLD = "v > v_th"
RESET = "v = v_reset"
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler", "exact", "rk2", "rk4")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV

PARAMETERS = {
    "I": 0 * namp,
    "R_in": 100 * Mohm,
    "tau_m": 10 * ms,
    "E_L": -65 * mV,
    "v_th": -50 * mV,
    "v_reset": -65 * mV,
}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 0.2 * namp}

INITIAL = {"v": -65 * mV}
