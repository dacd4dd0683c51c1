r"""The synapse of NIR's ``CubaLIF``/``CubaLI`` nodes on its own: a current-based synaptic
filter (no spikes), dimensionless, times in seconds.

::

    tau_syn dI/dt = -I + w_in S

The first equation of ``nir.CubaLIF`` (``nir_cubalif``). A graph imported with
``cuba="split"`` (:mod:`spikebridge.nir`) runs a CubaLIF node as this population followed,
in the same step, by a ``nir_lif`` population whose input is ``I``: the
current is updated first and the membrane is driven by the new current, the order of
snnTorch's ``Synaptic`` and Norse's CubaLIF. The output ``I`` is delivered at every step
(event ``output``). ``S``: the input, held over the step. Declared method ``exact``;
``euler`` supported.
"""

from brian2 import ms

EQUATIONS = """
dI/dt = (w_in*S - I)/tau_syn : 1
S : 1
tau_syn : second
w_in : 1
"""

EVENTS = {"output": ("True", None)}
REFRACTORY = None
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 0.1 * ms

INPUTS = ("S",)
MEMBRANE = ("I",)
MEMBRANE_UNIT = 1

PARAMETERS = {"S": 0.0, "tau_syn": 5 * ms, "w_in": 1.0}

EXAMPLE_INPUT = {"S": 1.5}

INITIAL = {"I": 0.0}
