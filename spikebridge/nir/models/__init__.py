"""Model files of NIR's neuron nodes (:mod:`spikebridge.nir.nodes`), one per node type.

Plain model files, read by :func:`spikebridge.load_model` from their path like any user
model file: the node's continuous-time equations as the NIR documentation states them,
dimensionless, times in seconds. ``nir_threshold`` and ``nir_relay`` have no state (they
run inside networks only).
"""

from pathlib import Path

FOLDER = Path(__file__).parent


def model_path(name: str) -> Path:
    """The model file of ``name`` (e.g. ``"nir_lif"``)."""
    return FOLDER / f"{name}.py"
