r"""NIR's ``LI`` node: a leaky integrator (no spikes), dimensionless, times in seconds.

::

    tau dv/dt = (v_leak - v) + r I

as the NIR documentation states it (``nir.LI``). The node's output is ``v`` at every step:
the event ``output`` occurs at every step, so that a projection ``on_event="output"``
delivers ``w * v_pre`` each step. ``I``: the node's input, held over the step (see
``nir_lif``). Declared method ``exact``; ``euler`` supported.
"""

from brian2 import ms

EQUATIONS = """
dv/dt = ((v_leak - v) + r*I)/tau : 1
I : 1
tau : second
r : 1
v_leak : 1
"""

EVENTS = {"output": ("True", None)}
REFRACTORY = None
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1

PARAMETERS = {"I": 0.0, "tau": 10 * ms, "r": 1.0, "v_leak": 0.0}

# An input at which the model's output settles at 1.5 (examples, parity checks).
EXAMPLE_INPUT = {"I": 1.5}

INITIAL = {"v": 0.0}
