"""Delay-system elements: the single nonlinear node of a folded-in-time network (Fit-DNN).

Each module defines one element with plain constants, read by
:func:`spikebridge.fitdnn.load_element`:

``EQUATIONS``
    Brian2 equations with one state variable (``STATE``) and one input parameter
    (``INPUT``), the signal the folded network drives the node with.
``METHOD`` / ``METHODS``
    The declared integration method and every method the element supports.
``PARAMETERS``
    Values of the other parameters (with units).
``TIME_UNIT``
    The unit in which node separations and delays are given (the element's time constant).
"""
