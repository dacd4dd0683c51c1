"""spikebridge: spiking neuron models written once as Brian2 equations.

Each model in ``equations/`` is simulated by Brian2 code generation (runtime,
``cpp_standalone``, ``cuda_standalone``, ``genn``) and run as a PyTorch module whose step
function is generated from Brian2's own state-update code, so both engines compute the
same dynamics in the same step order.

>>> import spikebridge as sb
>>> model = sb.load_model("hh")
>>> result = sb.simulate(model, engine="torch", duration=5 * sb.ms)
"""

import warnings
from importlib.metadata import PackageNotFoundError, version

# Brian2 2.8 imports setuptools' Windows compiler module, which warns on every import with
# recent setuptools; the warning concerns MSVC only and says nothing about the simulation.
warnings.filterwarnings("ignore", message="_get_vc_env is private", category=UserWarning)

from brian2 import cm, ms, mV, namp, second, uamp

try:
    __version__ = version("spikebridge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from .errors import (
    DeviceUnavailableError,
    InputError,
    MethodError,
    ModelFileError,
    ParameterError,
    SpikebridgeError,
    UnknownModelError,
)
from .model import NeuronModel, list_models, load_model
from .parity import ParityReport, parity
from .results import SimulationResult
from .simulate import simulate
from .torch import SpikingNeurons, rectangular, surrogate

__all__ = [
    "DeviceUnavailableError",
    "InputError",
    "MethodError",
    "ModelFileError",
    "NeuronModel",
    "ParameterError",
    "ParityReport",
    "SimulationResult",
    "SpikebridgeError",
    "SpikingNeurons",
    "UnknownModelError",
    "__version__",
    "cm",
    "list_models",
    "load_model",
    "mV",
    "ms",
    "namp",
    "parity",
    "rectangular",
    "second",
    "simulate",
    "surrogate",
    "uamp",
]
