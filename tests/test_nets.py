"""The paper's multi-task networks: sizes, wiring, and the spiking layers' dynamics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikebridge.errors import InputError
from spikebridge.nets import NETS, SpikingConv, SpikingFC, build_net, count_parameters
from spikebridge.torch import SpikingNeurons

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


def test_spiking_layers_are_the_torch_engine() -> None:
    for name, spec in NETS.items():
        if spec.neuron is None:
            continue
        net = build_net(name)
        layers = [m for m in net.modules() if isinstance(m, SpikingNeurons)]
        assert layers and all(layer.model.name == spec.neuron for layer in layers)


def test_lif_fc_is_the_papers_mem_update() -> None:
    """u_t = decay u_{t-1} (1 - s_{t-1}) + W x, s_t = H(u_t - theta), from the currents."""
    torch.manual_seed(3)
    net = build_net("lif-fc", dtype=torch.float64)
    assert isinstance(net, SpikingFC)
    images = 255 * torch.rand(4, 1, 36, 36, dtype=torch.float64)
    with torch.no_grad():
        current = net.currents(images)["I"].numpy()
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
    ratio = hh.projections[0].weight.detach().std() / lif.projections[0].weight.detach().std()
    assert float(ratio) == pytest.approx(0.01, rel=1e-5)


def test_hh_conv_gate_rates_are_per_column_and_frozen() -> None:
    net = build_net("hh-conv")
    assert isinstance(net, SpikingConv)
    assert net.neurons1.alpha_m.shape == (36,) and net.neurons2.alpha_m.shape == (18,)
    frozen = sum(
        b.numel() for n, b in net.named_buffers() if n.split(".")[-1][:4] in ("alph", "beta")
    )
    assert frozen == 324  # digest section 3.4: 324 frozen gate constants in HH-conv
    assert all(not n.endswith("alpha_m") for n, _ in net.named_parameters())


def test_s_lif2hh_conv_shares_its_3_to_1_map_across_layers() -> None:
    net = build_net("s-lif2hh-conv")
    assert isinstance(net, SpikingConv)
    for name in ("a_1", "a_2", "a_3", "b_4"):
        assert getattr(net.neurons1, name) is getattr(net.neurons2, name)


def test_s_lif2hh_conv_layer2_input_is_the_sum_over_sub_neuron_maps() -> None:
    """sum_e conv2(avgpool(s1_e)) (the paper's form) equals what the net drives layer 2 with."""
    torch.manual_seed(1)
    net = build_net("s-lif2hh-conv", steps=2, dtype=torch.float64)
    assert isinstance(net, SpikingConv)
    images = 255 * torch.rand(2, 1, 36, 36, dtype=torch.float64)
    captured: dict[str, torch.Tensor] = {}
    original = net.neurons2.forward

    def spy(drives: dict[str, torch.Tensor], *args: object) -> object:
        captured.update(drives)
        return original(drives)

    net.neurons2.forward = spy  # type: ignore[method-assign]
    with torch.no_grad():
        spk1, _ = net.spikes(images)
        for k, name in enumerate(net.neurons2.model.inputs):
            conv = net.conv2[k]
            expected = sum(
                conv(torch.nn.functional.avg_pool2d(spk1[:, e].flatten(0, 1), 2))
                for e in range(spk1.shape[1])
            )
            torch.testing.assert_close(
                captured[name], expected.view_as(captured[name]), rtol=1e-12, atol=1e-12
            )


def test_unknown_net_names_the_choices() -> None:
    with pytest.raises(InputError, match="hh-fc"):
        build_net("hh-transformer")
