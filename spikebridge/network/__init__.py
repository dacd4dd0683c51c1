"""Networks as data: one description, generated into both engines.

A :class:`Network` lists populations of model files, sources, inputs and projections
with Brian2 ``Synapses`` models (:mod:`.description`); :func:`plan_network` checks it
against the models and resolves its values (:mod:`.plan`); :func:`prepare_run` fixes a
run's steps, trials and input data (:mod:`.run`). The Brian2 engine builds it
(:func:`spikebridge.brian.network.run_network_brian2`); the torch engine renders Brian2's
code for it into one step function (:class:`spikebridge.torch.network.SpikingNetwork`,
:func:`spikebridge.torch.network.run_network_torch`); :func:`simulate_network` runs either;
:func:`network_parity` compares them. Networks are saved losslessly as ``.npz`` files
(:mod:`.file`) and written as Python modules like the catalogue in ``networks/``
(:mod:`.catalogue`).

>>> from spikebridge.network import network_from, simulate_network
>>> net = network_from("coba", {"n": 400})
>>> result = simulate_network(net, engine="torch", duration=100 * ms)
"""

from .builders import ei_projections
from .catalogue import build_options, list_networks, load_network_module, network_from
from .connectivity import (
    Chain,
    ChannelBias,
    Connectivity,
    Conv2d,
    Dense,
    FixedInDegree,
    OneToOne,
    Pool2d,
    Probability,
    Sparse,
    SynapseArrays,
)
from .coupled import coupled_population
from .description import (
    ConstantSource,
    CurrentInput,
    Network,
    PoissonSource,
    Population,
    Projection,
    SpikeSource,
    Synapse,
    ValueSource,
)
from .file import load_network, save_network
from .parity import NetworkParity, network_parity
from .plan import NetworkPlan, plan_network
from .result import NetworkResult
from .run import NetworkRun, prepare_run
from .simulate import simulate_network
from .values import Normal, Uniform

__all__ = [
    "Chain",
    "ChannelBias",
    "Connectivity",
    "ConstantSource",
    "Conv2d",
    "CurrentInput",
    "Dense",
    "FixedInDegree",
    "Network",
    "NetworkParity",
    "NetworkPlan",
    "NetworkResult",
    "NetworkRun",
    "Normal",
    "OneToOne",
    "PoissonSource",
    "Pool2d",
    "Population",
    "Probability",
    "Projection",
    "Sparse",
    "SpikeSource",
    "Synapse",
    "SynapseArrays",
    "Uniform",
    "ValueSource",
    "build_options",
    "coupled_population",
    "ei_projections",
    "list_networks",
    "load_network",
    "load_network_module",
    "network_from",
    "network_parity",
    "plan_network",
    "prepare_run",
    "save_network",
    "simulate_network",
]
