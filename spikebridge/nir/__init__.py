"""NIR both ways: spikebridge as a Brian2 backend of the Neuromorphic Intermediate
Representation.

* :func:`import_nir`: a NIR graph (file or ``nir.NIRGraph``) becomes a network description
  (:mod:`.importer`): NIR neuron nodes as populations of model files holding the node's
  equations (:mod:`.nodes`), operator chains as projections, run by Brian2 (runtime,
  cpp_standalone, cuda_standalone) and torch; ``dt`` and ``method`` are arguments.
* :func:`export_nir`: a network description becomes a NIR graph in the node forms the
  peers' importers read (:mod:`.exporter`; ``reader="snntorch"`` or ``"norse"``).

Semantics both ways: a node's input is held over a step (a spike counts 1 in the step it
occurs), feed-forward edges act within the step and recurrent edges from the previous one
(the ``layered`` schedule), as in snnTorch and Norse.
"""

from .exporter import READERS, export_nir, save_nir
from .importer import ImportedGraph, ImportedRun, import_nir, read_graph

__all__ = [
    "READERS",
    "ImportedGraph",
    "ImportedRun",
    "export_nir",
    "import_nir",
    "read_graph",
    "save_nir",
]
