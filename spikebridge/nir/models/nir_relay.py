r"""A relay: its input ``I`` is its output, delivered at every step; dimensionless.

::

    output = I        (event ``output`` at every step)

Not a NIR neuron: the points of a graph imported from NIR (:mod:`spikebridge.nir`) where a
value enters or leaves the spiking populations: each ``Input`` node (its data drive ``I``
step by step; spikes as 0/1) and each ``Output`` fed by a weighted node (the output is
``I``, the weighted sum arriving in the step). No state and no equations to integrate.
"""

from brian2 import ms

EQUATIONS = """
I : 1
"""

EVENTS = {"output": ("True", None)}
REFRACTORY = None
METHOD = "euler"
METHODS = ("euler", "exact")
DT = 0.1 * ms

INPUTS = ("I",)
MEMBRANE = ("I",)
MEMBRANE_UNIT = 1

PARAMETERS = {"I": 0.0}

EXAMPLE_INPUT = {"I": 1.0}

INITIAL: dict[str, float] = {}
