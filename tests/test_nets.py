"""The paper's multi-task networks: sizes, wiring, and the spiking layers' dynamics.

The spiking parts are instances of the network description run by the torch engine; these
tests check them against the paper's forms computed independently (a numpy loop of the LIF
map, torch's own conv2d and avg_pool2d)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikebridge.cost.counts import frozen_constants
from spikebridge.errors import InputError
from spikebridge.nets import NETS, SpikingConv, SpikingFC, build_net, count_parameters
from spikebridge.torch.network import SpikingNetwork

#: Trainable parameters of the paper's networks (digest section 3.4).
PAPER_PARAMETERS = {
    "lif-fc": 690_734,
    "hh-fc": 690_734,
    "ann-fc": 690_734,
    "s-lif2hh-fc": 2_095_666,
    "4lif-fc": 2_759_726,
    "lif-conv": 42_580,
    "hh-conv": 42_580,
    "cnn": 42_580,
    "s-lif2hh-conv": 166_104,
    "4lif-conv": 177_910,
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_parameter_counts_match_the_paper(name: str) -> None:
    assert count_parameters(build_net(name)) == PAPER_PARAMETERS[name]


@pytest.mark.parametrize("name", sorted(NETS))
def test_logits_shape_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    net = build_net(name, steps=3)
    images = 255 * torch.rand(2, 1, 36, 36)
    logits = net(images)
    assert logits.shape == (2, 2, 10)
    logits.sum().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_spiking_layers_are_instances_of_the_network_description() -> None:
    for name, spec in NETS.items():
        if spec.neuron is None:
            continue
        net = build_net(name)
        assert isinstance(net, SpikingFC | SpikingConv)
        assert isinstance(net.network, SpikingNetwork)
        populations = net.network.plan.populations.values()
        assert populations and all(p.model.name == spec.neuron for p in populations)


def test_lif_fc_is_the_papers_mem_update() -> None:
    """u_t = decay u_{t-1} (1 - s_{t-1}) + W x + b, s_t = H(u_t - theta) (numpy oracle)."""
    torch.manual_seed(3)
    net = build_net("lif-fc", dtype=torch.float64)
    assert isinstance(net, SpikingFC)
    images = 255 * torch.rand(4, 1, 36, 36, dtype=torch.float64)
    weight = net.network.get_parameter("input_0__W").detach().numpy()  # [1296, 512]
    bias = net.network.get_parameter("input_0__b").detach().numpy()
    current = images.flatten(1).numpy() @ weight + bias
    with torch.no_grad():
        spikes = net.spikes(images).numpy()
    u = np.zeros_like(current)
    s = np.zeros_like(current)
    expected = []
    for _ in range(net.steps):
        u = 0.2 * u * (1 - s) + current
        s = (u > 0.3).astype(np.float64)
        expected.append(s)
    np.testing.assert_array_equal(spikes, np.stack(expected))
    assert 0.05 < spikes.mean() < 0.95


def test_hh_fc_weights_are_scaled_at_initialisation() -> None:
    torch.manual_seed(0)
    lif = build_net("lif-fc")
    torch.manual_seed(0)
    hh = build_net("hh-fc")
    assert isinstance(lif, SpikingFC) and isinstance(hh, SpikingFC)
    ratio = (
        hh.network.get_parameter("input_0__W").detach().std()
        / lif.network.get_parameter("input_0__W").detach().std()
    )
    assert float(ratio) == pytest.approx(0.01, rel=1e-5)


def test_hh_conv_gate_rates_are_per_column_and_frozen() -> None:
    net = build_net("hh-conv")
    assert isinstance(net, SpikingConv)
    for layer, size in (("layer1", 36), ("layer2", 18)):
        rates = net.network.get_buffer(f"{layer}__alpha_m").view(10, size, size)
        assert torch.equal(rates, rates[:1, :1].expand_as(rates))  # one value per column
        assert len(torch.unique(rates)) == size
    assert frozen_constants(net) == 324  # digest section 3.4: 324 frozen gate constants
    assert all(not n.endswith("alpha_m") for n, _ in net.named_parameters())


def test_s_lif2hh_conv_shares_its_3_to_1_map_across_layers() -> None:
    net = build_net("s-lif2hh-conv")
    assert isinstance(net, SpikingConv)
    for name in ("a_1", "a_2", "a_3", "b_4"):
        first = net.network.get_parameter(f"layer1__{name}")
        assert net.network.get_parameter(f"layer2__{name}") is first
        assert first.requires_grad


def test_s_lif2hh_conv_layer2_input_is_the_sum_over_sub_neuron_maps() -> None:
    """sum_e conv2(avgpool(s1_e)) + n_events b (the paper's form, torch's own ops) is what
    drives layer 2 at every step (recorded from the network)."""
    torch.manual_seed(1)
    net = build_net("s-lif2hh-conv", steps=2, dtype=torch.float64)
    assert isinstance(net, SpikingConv)
    images = 255 * torch.rand(2, 1, 36, 36, dtype=torch.float64)
    inputs = net.network.plan.populations["layer2"].model.inputs
    with torch.no_grad():
        spk1, _ = net.spikes(images)
        out = net.network({"pixels": images.flatten(1)}, n_steps=2,
                          record=tuple(f"layer2.{name}" for name in inputs))  # fmt: skip
        for k, name in enumerate(inputs):
            weight = net.network.get_parameter(f"conv2_{k}__W")
            bias = net.network.get_parameter(f"bias2_{k}__W")
            expected = sum(
                torch.nn.functional.conv2d(
                    torch.nn.functional.avg_pool2d(spk1[:, e].flatten(0, 1), 2), weight,
                    padding=1,
                )
                for e in range(spk1.shape[1])
            ) + spk1.shape[1] * bias[:, None, None]  # fmt: skip
            got = out.traces[f"layer2.{name}"]
            torch.testing.assert_close(got, expected.view_as(got), rtol=1e-12, atol=1e-12)


def test_unknown_net_names_the_choices() -> None:
    with pytest.raises(InputError, match="hh-fc"):
        build_net("hh-transformer")
