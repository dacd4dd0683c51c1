"""Adder input synapses in the paper nets (``--synapse adder``): the input is AdderNet's
negative L1 distance under the fixed affine map (checked against numpy), the other layers
start as the multiplying net's, the cost counts no multiplication per input synapse, and
checkpoints keep the synapse. Brian2 runs the adder lif-conv spike for spike in
``test_bridge.py``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from spikebridge.cli import main
from spikebridge.cost import count_costs
from spikebridge.errors import InputError
from spikebridge.learning.checkpoint import load_trained
from spikebridge.learning.train import TrainConfig, train
from spikebridge.nets import NETS, SpikingConv, SpikingFC, build_net
from spikebridge.nets.input_synapses import ADDER_CENTRE, PIXEL_SCALE

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST not installed")


def _images(batch: int, seed: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 255 * torch.rand(batch, 1, 36, 36, dtype=torch.float64, generator=generator)


def _first_input(net: SpikingFC | SpikingConv, images: torch.Tensor) -> np.ndarray:
    population = "hidden" if isinstance(net, SpikingFC) else "layer1"
    out = net.network({"pixels": images.flatten(1)}, n_steps=1, record=(f"{population}.I",))
    return out.traces[f"{population}.I"][0].detach().numpy()


def test_the_fc_adder_input_is_the_scaled_negative_l1_distance() -> None:
    torch.manual_seed(0)
    net = build_net("lif-fc", steps=1, dtype=torch.float64, synapse="adder")
    assert isinstance(net, SpikingFC)
    assert "_0A_input_0(" in net.network.network_step("matrix", frozenset()).prepare_source
    images = _images(3)
    w = net.network.get_parameter("input_0__W").detach().numpy()  # [1296, 512]
    v = 0.5 + 18 * w  # the templates: 1/2 + sqrt(K)/2 w
    x = images.flatten(1).numpy() / PIXEL_SCALE
    distance = np.abs(x[:, :, None] - v[None]).sum(1)
    expected = NETS["lif-fc"].adder_gain * (1296 * ADDER_CENTRE - distance) / math.sqrt(1296)
    np.testing.assert_allclose(_first_input(net, images), expected, rtol=1e-12)


def test_the_conv_adder_input_leaves_the_padding_out() -> None:
    """Each 3x3 place sums only the pixels inside the image, as Brian2's synapses do."""
    torch.manual_seed(0)
    net = build_net("lif-conv", steps=1, dtype=torch.float64, synapse="adder")
    assert isinstance(net, SpikingConv)
    images = _images(2)
    w = 0.5 + 1.5 * net.network.get_parameter("conv1_0__W").detach().numpy()[:, 0]  # [C, 3, 3]
    x = images[:, 0].numpy() / PIXEL_SCALE
    expected = np.zeros((2, w.shape[0], 36, 36))
    for i in range(36):
        for j in range(36):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if 0 <= i + di < 36 and 0 <= j + dj < 36:
                        pixel = x[:, i + di, j + dj][:, None]
                        term = ADDER_CENTRE - np.abs(pixel - w[None, :, di + 1, dj + 1])
                        expected[:, :, i, j] += NETS["lif-conv"].adder_gain * term / 3.0
    np.testing.assert_allclose(
        _first_input(net, images), expected.reshape(2, -1), rtol=1e-10, atol=1e-12
    )


def test_the_adder_variant_starts_from_the_multiplying_nets_weights() -> None:
    """The same draws: the adder layer stores its templates in the multiplying layer's units
    (templates 1/2 + 3 w uniform on [0, 1] for the 3x3 kernels)."""
    nets = {}
    for synapse in ("multiply", "adder"):
        torch.manual_seed(4)
        nets[synapse] = build_net("lif-conv", steps=2, seed=4, synapse=synapse).state_dict()
    multiply, adder = nets["multiply"], nets["adder"]
    assert set(multiply) - set(adder) == {"network.conv1_0__b"}  # the adder layer has no bias
    for key, value in adder.items():
        assert torch.equal(value, multiply[key]), key
    templates = 0.5 + 1.5 * adder["network.conv1_0__W"]
    assert 0 <= float(templates.min()) < 0.1 and 0.9 < float(templates.max()) <= 1


def test_an_adder_input_layer_counts_no_multiplication_per_synapse() -> None:
    multiply = {p["name"]: p for p in count_costs("lif-conv", steps=2)["parts"]}
    adder = {p["name"]: p for p in count_costs("lif-conv", steps=2, synapse="adder")["parts"]}
    outputs = 10 * 36 * 36
    assert (multiply["conv1_0"]["mul"], multiply["conv1_0"]["add"]) == (9 * outputs, 8 * outputs)
    assert (adder["conv1_0"]["mul"], adder["conv1_0"]["add"]) == (outputs, 18 * outputs)
    for name, part in multiply.items():  # every other part as counted for the multiplying net
        if name != "conv1_0":
            assert adder[name] == part, name
    with pytest.raises(InputError, match="binary ANN"):
        count_costs("cnn", synapse="adder")
    with pytest.raises(InputError, match="Unknown synapse"):
        build_net("lif-fc", synapse="divide")


@needs_fashion
def test_an_adder_checkpoint_loads_back_and_resumes_only_as_adder(tmp_path: Path) -> None:
    config = TrainConfig(
        net="hh-fc", subset=64, test_subset=16, epochs=1, steps=2, batch_size=32, synapse="adder"
    )
    train(config, tmp_path, progress=False)
    net, data = load_trained(tmp_path, dtype=torch.float64)
    assert isinstance(net, SpikingFC) and net.synapse == "adder"
    assert data["config"]["synapse"] == "adder"
    assert net.network.plan.network.name == "paper_hh_fc_adder"
    other = TrainConfig(**{**config.to_dict(), "synapse": "multiply", "epochs": 2})
    with pytest.raises(InputError, match=r"synapse: 'adder' -> 'multiply'"):
        train(other, tmp_path, resume=True, progress=False)


def test_the_cli_refuses_adder_synapses_where_they_do_not_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_a, out_b = str(tmp_path / "a"), str(tmp_path / "b")
    assert main(["train", "cnn", "--synapse", "adder", "--epochs", "1", "--out", out_a]) == 2
    assert "binary ANN" in capsys.readouterr().err
    ff = ["train", "lif-fc", "--rule", "forward-forward", "--synapse", "adder", "--out", out_b]
    assert main(ff) == 2
    assert "backpropagation" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
