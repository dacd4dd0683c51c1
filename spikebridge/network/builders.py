"""Building blocks of descriptions that recur: the projections of an E/I network.

:func:`ei_projections` gives the four projections of a network of an excitatory and an
inhibitory population connected with probability ``p`` (E->E, E->I, I->E, I->I; no
autapses within a population), each spike adding its weight to a conductance or current
variable of the target (``on_pre="<var>_post += w"``). The classic networks of
``networks/`` (COBA, CUBA, COBAHH, the mixed HH/LIF network) are built with it.
"""

from __future__ import annotations

from typing import Any

from .connectivity import Probability
from .description import Projection, Synapse


def ei_projections(
    p: float,
    excitatory_weight: Any,
    inhibitory_weight: Any,
    *,
    excitatory: tuple[str, str] = ("exc", "g_e"),
    inhibitory: tuple[str, str] = ("inh", "g_i"),
    unit: str = "siemens",
    seed: int = 0,
) -> tuple[Projection, ...]:
    """``ee``, ``ei``, ``ie``, ``ii``: the excitatory population ``excitatory[0]`` adds
    ``excitatory_weight`` to ``excitatory[1]`` of its targets, the inhibitory one
    ``inhibitory_weight`` to ``inhibitory[1]``; ``unit``: the weights' Brian2 unit; the
    connections are drawn from ``seed + 10 + k`` for the k-th projection."""
    (exc, exc_var), (inh, inh_var) = excitatory, inhibitory
    synapses = {
        exc: Synapse(f"w : {unit}", on_pre=f"{exc_var}_post += w"),
        inh: Synapse(f"w : {unit}", on_pre=f"{inh_var}_post += w"),
    }
    weights = {exc: excitatory_weight, inh: inhibitory_weight}
    pairs = ((exc, exc), (exc, inh), (inh, exc), (inh, inh))
    return tuple(
        Projection(
            f"{src[0]}{dst[0]}",
            src,
            dst,
            synapses[src],
            Probability(p, seed=seed + 10 + k),
            weights=weights[src],
        )
        for k, (src, dst) in enumerate(pairs)
    )
