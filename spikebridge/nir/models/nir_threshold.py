r"""NIR's ``Threshold`` node: a stateless spike generator, dimensionless.

::

    spike when I > threshold       (z = H(I - threshold))

as the NIR documentation states it (``nir.Threshold``). ``I``: the node's input of the
current step. No state and no equations to integrate (the declared method applies to
nothing).
"""

from brian2 import ms

EQUATIONS = """
I : 1
threshold : 1
"""

THRESHOLD = "I > threshold"
RESET = None
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler", "exact")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("I",)
MEMBRANE_UNIT = 1
SURROGATE_WIDTH = 0.5

PARAMETERS = {"I": 0.0, "threshold": 1.0}

EXAMPLE_INPUT = {"I": 1.5}

INITIAL: dict[str, float] = {}
