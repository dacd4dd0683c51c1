r"""NIR's ``I`` node: an integrator (no spikes), dimensionless, times in seconds.

::

    dv/dt = r I            (r per second: NIR's times are in seconds)

as the NIR documentation states it (``nir.I``). The node's output is ``v`` at every step
(event ``output`` at every step, as ``nir_li``). ``I``: the node's input,
held over the step. Declared method ``euler``: for an input held over the step it is the
exact solution (v <- v + dt r I); Brian2's ``exact`` solver takes no equation whose right-
hand side lacks the state.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = r*I/second : 1
I : 1
r : 1
"""

EVENTS = {"output": ("True", None)}
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler",)
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1

PARAMETERS = {"I": 0.0, "r": 1000.0}

EXAMPLE_INPUT = {"I": 1.5}

INITIAL = {"v": 0.0}
