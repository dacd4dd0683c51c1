"""The bridge: exported networks load back losslessly; Brian2 reproduces torch spike for spike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spikebridge.bridge import validate
from spikebridge.bridge.validate import brian2_rasters, readout, torch_rasters
from spikebridge.errors import InputError
from spikebridge.learning.train import TrainConfig, train
from spikebridge.nets import SpikingConv, SpikingFC, build_net
from spikebridge.network import load_network, save_network
from spikebridge.torch.network import SpikingNetwork

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST not installed")


@pytest.mark.parametrize("name", ["lif-fc", "hh-fc", "s-lif2hh-fc", "lif-conv", "s-lif2hh-conv"])
def test_trained_description_round_trip_is_lossless(name: str, tmp_path: Path) -> None:
    """The paper net's spiking part, saved as a network file and loaded back, is the same
    network: a new SpikingNetwork from the file gives the same spikes."""
    torch.manual_seed(0)
    net = build_net(name, steps=4, seed=3, dtype=torch.float64)
    assert isinstance(net, SpikingFC | SpikingConv)
    path = save_network(tmp_path / "net.npz", net.network.to_network())
    again = SpikingNetwork(load_network(path), synapses="matrix", dtype=torch.float64)
    pixels = 255 * torch.rand(3, 1296, dtype=torch.float64)
    with torch.no_grad():
        a = net.network({"pixels": pixels}, n_steps=4).spikes
        b = again({"pixels": pixels}, n_steps=4).spikes
    for population in a:
        assert torch.equal(a[population], b[population])
    for key, value in net.network.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(InputError, match=r"not readable|not a"):
        load_network(bad)
    with pytest.raises(InputError, match="No network file"):
        load_network(tmp_path / "missing.npz")


#: (network, time steps, Brian2 device, input synapse) of the spike-for-spike checks; the
#: runtime one with numpy code (the Cython runtime is covered by the parity suite and the
#: network catalogue, and compiles for minutes).
BRIDGED = [
    ("lif-fc", 6, "numpy", "multiply"),
    ("hh-fc", 15, "cpp_standalone", "multiply"),
    ("s-lif2hh-fc", 6, "cpp_standalone", "multiply"),
    ("lif-conv", 4, "cpp_standalone", "multiply"),
    ("lif-conv", 4, "cpp_standalone", "adder"),  # the summed abs(x - w) of the adder layer
    ("hh-conv", 15, "cpp_standalone", "multiply"),
    ("s-lif2hh-conv", 4, "cpp_standalone", "multiply"),
]


@pytest.mark.slow
@pytest.mark.standalone
@pytest.mark.parametrize(("name", "steps", "device", "synapse"), BRIDGED)
def test_brian2_reproduces_torch_spike_for_spike(
    name: str, steps: int, device: str, synapse: str
) -> None:
    """Untrained weights, random images: every spike of every layer and step in both engines."""
    torch.manual_seed(2)
    net = build_net(name, steps=steps, seed=2, dtype=torch.float64, synapse=synapse)
    assert isinstance(net, SpikingFC | SpikingConv)
    generator = torch.Generator().manual_seed(5)
    images = 255 * torch.rand(3, 1, 36, 36, dtype=torch.float64, generator=generator)
    expected = torch_rasters(net, images)
    for layer in expected:
        assert 0.01 < layer.mean() < 0.99, "the test needs neurons that spike and some that do not"
    rasters = brian2_rasters(net, images.numpy(), device)
    for got, want in zip(rasters, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(
        readout(net, rasters[-1]), net(images).detach().numpy(), rtol=1e-10, atol=1e-10
    )


@needs_fashion
@pytest.mark.slow
@pytest.mark.standalone
def test_validate_a_trained_network_on_cpp_standalone(tmp_path: Path) -> None:
    config = TrainConfig(net="s-lif2hh-fc", subset=512, test_subset=64, epochs=1)
    train(config, tmp_path / "run", progress=False)
    result = validate(
        tmp_path / "run", device="cpp_standalone", samples=40, export=tmp_path / "net.npz"
    )
    assert result["samples"] == 40
    assert result["spike_train_agreement"] == 1.0
    assert result["prediction_agreement"] == {"task1": 1.0, "task2": 1.0}
    assert result["accuracy_torch"] == result["accuracy_brian2"]
    network = load_network(tmp_path / "net.npz")
    assert network.populations[0].model == "s_lif2hh_dl"


@needs_fashion
def test_validate_refuses_networks_without_a_spiking_layer(tmp_path: Path) -> None:
    train(TrainConfig(net="ann-fc", subset=128, test_subset=32, epochs=1), tmp_path, progress=False)
    with pytest.raises(InputError, match="no spiking layer"):
        validate(tmp_path, samples=4)
