r"""Fit-DNN node (Stelzer et al., Nat. Commun. 2021): a leaky element driven by sin(a).

::

    tau dx/dt = -x + sin(a)

``a(t)`` is the signal the folded network feeds in: the input layer's mask, a time-varying
bias and the delayed feedback ``sum_d M_d(t) x(t - tau_d)`` (see :mod:`spikebridge.fitdnn`).
``tau`` is the time unit of the system (the paper's alpha = -1); node separations ``theta``
and delays are given in units of ``tau``.

Discretisation: ``a`` is held over a step. Brian2's ``exponential_euler`` (declared) is
exact for that: ``x <- c x + (1 - c) sin(a)`` with ``c = exp(-dt/tau)``.
"""

from brian2 import ms

EQUATIONS = """
dx/dt = (-x + sin(a))/tau : 1
a : 1
tau : second
"""
METHOD = "exponential_euler"
METHODS = ("exponential_euler", "euler", "rk2", "rk4")
STATE = "x"
INPUT = "a"
PARAMETERS = {"tau": 1 * ms}
TIME_UNIT = 1 * ms
