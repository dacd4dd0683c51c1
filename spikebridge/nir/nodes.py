"""NIR's neuron nodes and the model files that hold their equations.

Each NIR neuron node maps to one model file of ``equations/`` whose equations are the
node's continuous-time equations as the NIR documentation states them (dimensionless
values, times in seconds), its parameters to the model's parameters one to one:

=========  ===============  =====  ================================================
NIR node   model            input  output
=========  ===============  =====  ================================================
LIF        ``nir_lif``      I      spikes
IF         ``nir_if``       I      spikes
LI         ``nir_li``       I      ``v`` at every step
I          ``nir_i``        I      ``v`` at every step
CubaLIF    ``nir_cubalif``  S      spikes
CubaLI     ``nir_cubali``   S      ``v`` at every step
Threshold  ``nir_threshold`` I     spikes (no state: networks only)
=========  ===============  =====  ================================================

``cuba="split"`` runs a CubaLIF (CubaLI) node as two populations in one step: the synapse
(``nir_synapse``: tau_syn dI/dt = -I + w_in S) and then the membrane (``nir_lif``, ``nir_li``)
driven by the new current, the order in which snnTorch and Norse integrate the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .models import model_path

#: NIR parameter -> (model parameter, is a time in seconds)
ParameterMap = Mapping[str, tuple[str, bool]]


@dataclass(frozen=True)
class NeuronNode:
    """How one NIR neuron node type becomes a population."""

    nir_type: str
    model: str
    parameters: ParameterMap
    input: str
    #: None: the node's output is its spikes; else the variable delivered at every step
    value: str | None
    #: the method that integrates the node exactly when the import asks for "exact" (IF and
    #: I: forward Euler is their exact solution for an input held over a step, and Brian2's
    #: exact solver takes no equation without the state on its right-hand side)
    exact_method: str = "exact"


_LEAK = {"tau": ("tau", True), "r": ("r", False), "v_leak": ("v_leak", False)}
_FIRE = {"v_threshold": ("v_threshold", False), "v_reset": ("v_reset", False)}
_CUBA = {
    "tau_syn": ("tau_syn", True),
    "tau_mem": ("tau_mem", True),
    "r": ("r", False),
    "v_leak": ("v_leak", False),
    "w_in": ("w_in", False),
}

NEURON_NODES: dict[str, NeuronNode] = {
    node.nir_type: node
    for node in (
        NeuronNode("LIF", str(model_path("nir_lif")), {**_LEAK, **_FIRE}, "I", None),
        NeuronNode(
            "IF", str(model_path("nir_if")), {"r": ("r", False), **_FIRE}, "I", None, "euler"
        ),
        NeuronNode("LI", str(model_path("nir_li")), _LEAK, "I", "v"),
        NeuronNode("I", str(model_path("nir_i")), {"r": ("r", False)}, "I", "v", "euler"),
        NeuronNode("CubaLIF", str(model_path("nir_cubalif")), {**_CUBA, **_FIRE}, "S", None),
        NeuronNode("CubaLI", str(model_path("nir_cubali")), _CUBA, "S", "v"),
        NeuronNode(
            "Threshold",
            str(model_path("nir_threshold")),
            {"threshold": ("threshold", False)},
            "I",
            None,
        ),
    )
}

#: the two stages of a split CubaLIF/CubaLI node: the synapse, then the membrane
SYNAPSE_STAGE = NeuronNode(
    "CubaLIF",
    str(model_path("nir_synapse")),
    {"tau_syn": ("tau_syn", True), "w_in": ("w_in", False)},
    "S",
    "I",
)
MEMBRANE_STAGE = {
    "CubaLIF": NeuronNode(
        "CubaLIF",
        str(model_path("nir_lif")),
        {"tau_mem": ("tau", True), "r": ("r", False), "v_leak": ("v_leak", False), **_FIRE},
        "I",
        None,
    ),
    "CubaLI": NeuronNode(
        "CubaLI",
        str(model_path("nir_li")),
        {"tau_mem": ("tau", True), "r": ("r", False), "v_leak": ("v_leak", False)},
        "I",
        "v",
    ),
}
