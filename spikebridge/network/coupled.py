"""One population coupled to itself: the simplest network, as a description.

:func:`coupled_population` describes ``n`` neurons of a model whose spikes jump a state
variable of their targets (by default the membrane potential) through
``Synapses(G, G, "w : <unit>", on_pre="<target>_post += w")``: random connectivity (a
fixed in-degree or a probability, no autapses unless asked) or explicit ``(i, j)`` pairs,
one weight or one per synapse. The benchmarks' HH networks are such populations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from brian2 import get_unit

from ..errors import InputError
from ..model import NeuronModel, load_model
from .connectivity import Connectivity, FixedInDegree, Probability, Sparse
from .description import Network, Population, Projection, Synapse


def coupled_population(
    model: NeuronModel | str,
    n: int,
    *,
    p: float | None = None,
    in_degree: int | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    weight: Any = None,
    target: str | None = None,
    seed: int = 0,
    autapses: bool = False,
    parameters: Mapping[str, Any] | None = None,
    initial: Mapping[str, Any] | None = None,
    method: str | None = None,
    dt: Any = None,
    duration: Any = None,
    name: str = "coupled",
) -> Network:
    """``n`` neurons of ``model`` (population ``neurons``), coupled as described above
    (projection ``synapses``); without ``p``, ``in_degree`` or ``pairs`` uncoupled."""
    model = load_model(model) if isinstance(model, str) else model
    population = Population(
        "neurons",
        model,
        n,
        method=method,
        parameters=dict(parameters or {}),
        initial=dict(initial or {}),
        seed=seed,
    )
    given = [k for k, v in (("p", p), ("in_degree", in_degree), ("pairs", pairs)) if v is not None]
    if len(given) > 1:
        raise InputError(f"Give at most one of p, in_degree and pairs, got {given}.")
    projections: tuple[Projection, ...] = ()
    if given:
        target = target if target is not None else model.membrane[0]
        if target not in model.state_variables:
            raise InputError(
                f"target '{target}' is not a state variable of model '{model.name}'; synapses "
                f"can change one of {', '.join(model.state_variables)}."
            )
        if weight is None:
            raise InputError(
                f"Coupled networks need a weight (a quantity in the unit of '{target}')."
            )
        dim = model.dim(target)
        unit = "1" if dim.is_dimensionless else repr(get_unit(dim))
        connectivity: Connectivity
        if p is not None:
            connectivity = Probability(p, seed=seed, autapses=autapses)
        elif in_degree is not None:
            connectivity = FixedInDegree(in_degree, seed=seed, autapses=autapses)
        else:
            assert pairs is not None
            connectivity = Sparse(np.asarray(pairs[0]), np.asarray(pairs[1]))
        synapse = Synapse(f"w : {unit}", on_pre=f"{target}_post += w")
        projections = (
            Projection("synapses", "neurons", "neurons", synapse, connectivity, weights=weight),
        )
    elif weight is not None or target is not None:
        raise InputError("weight and target need synapses: give p, in_degree or pairs.")
    return Network(
        name, model.dt if dt is None else dt, (population,), (), projections, duration=duration
    )
