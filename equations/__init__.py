"""The spikebridge model catalogue: one Brian2 model file per neuron model.

Every module in this package defines one neuron model with plain module-level
constants (read and validated by :func:`spikebridge.load_model`):

``EQUATIONS``
    The Brian2 equation string (differential equations, subexpressions, parameters).
``METHOD`` / ``METHODS``
    The declared integration method and every method the model supports.
``PARAMETERS``
    Default parameter values as Brian2 quantities (``RANDOM_PARAMETERS`` for
    per-neuron values drawn uniformly from ``(low, high)``).
``INITIAL``
    Initial values of state variables (others start at 0).
``THRESHOLD`` / ``RESET`` / ``REFRACTORY`` / ``EVENTS``
    Spike condition, reset statements, refractoriness and extra named events.
``DT`` / ``DT_FIXED`` / ``MAX_DT``
    Default time step; whether the model is a discrete-time map defined only at
    ``DT``; the largest stable step per method.
``INPUTS`` / ``MEMBRANE`` / ``MEMBRANE_UNIT``
    The parameters that carry input, the membrane variables and their display unit.

The module docstring states the equations once.  Nothing else in spikebridge
types a model's dynamics: the Brian2 engine builds a ``NeuronGroup`` from these
strings and the torch engine is generated from Brian2's own state-update code.
"""
