"""Fit-DNN: a deep network folded in time onto one delay element (Stelzer et al. 2021).

* :mod:`.element`: the element file (``equations/delay/``) and Brian2's update for it;
* :mod:`.config`: sizes, timing and the delay loops' diagonals;
* :mod:`.folded`: the torch module and its three modes (``dde``, ``network``, ``decoupled``);
* :mod:`.modulations`: the trained weights as modulation functions, delays and input mask;
* :mod:`.brian_delay`: the same system integrated by Brian2, one element per sample;
* :mod:`.training`: backpropagation through the folded system, resumable.

The study that uses them: :mod:`spikebridge.studies.fit_dnn` (``spikebridge study fit-dnn``).
"""

from .config import FitDNNConfig
from .element import DelayElement, element_update, list_elements, load_element
from .folded import MODES, FitDNN
from .training import TrainConfig, load_fitdnn, train_fitdnn

__all__ = [
    "MODES",
    "DelayElement",
    "FitDNN",
    "FitDNNConfig",
    "TrainConfig",
    "element_update",
    "list_elements",
    "load_element",
    "load_fitdnn",
    "train_fitdnn",
]
