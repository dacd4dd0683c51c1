r"""NIR's ``IF`` node: a (non-leaky) integrate-and-fire neuron, dimensionless, times in
seconds.

::

    dv/dt = r I            (r per second: NIR's times are in seconds)
    spike when v > v_threshold;  then v <- v_reset

as the NIR documentation states it (``nir.IF``). ``I`` is the node's input, held over the
step (see ``nir_lif``). Declared method ``euler``: for an input held over the step it is
the exact solution (v <- v + dt r I); Brian2's ``exact`` solver takes no equation whose
right-hand side lacks the state.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = r*I/second : 1
I : 1
r : 1
v_threshold : 1
v_reset : 1
"""

THRESHOLD = "v > v_threshold"
RESET = "v = v_reset"
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler",)
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.5

PARAMETERS = {"I": 0.0, "r": 1000.0, "v_threshold": 1.0, "v_reset": 0.0}

# An input at which the model fires regularly (examples, parity checks).
EXAMPLE_INPUT = {"I": 1.5}

INITIAL = {"v": 0.0}
