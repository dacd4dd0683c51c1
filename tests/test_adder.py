"""Adder synapses: the forward and the paper's gradients against the reference code's
broadcast formulation, the adaptive gradient scaling, the binary-spike identity, the
convolution's geometry, LeNet-5-BN's operation counts, and learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikebridge.cost.layer_ops import layer_operations
from spikebridge.errors import InputError
from spikebridge.nets.lenet import lenet5_bn
from spikebridge.network import Dense, Network, Population, Projection, Synapse, ValueSource
from spikebridge.torch.adder import AdderConv2d, AdderLinear, adder, binary_equivalent
from spikebridge.torch.network import SpikingNetwork


def _reference(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """huawei-noah/AdderNet's adder.py written out: output, dW = sum (X - W) g,
    dX = sum -HT(X - W) g, over the broadcast [B, O, K] differences."""
    diff = x[:, None, :] - w[None, :, :]
    return (
        -diff.abs().sum(-1),
        (diff * g[:, :, None]).sum(0),
        (-diff.clamp(-1, 1) * g[:, :, None]).sum(1),
    )


def test_the_adder_and_its_gradients_are_the_reference_codes() -> None:
    torch.manual_seed(0)
    x = (torch.randn(11, 7, dtype=torch.float64) * 1.5).requires_grad_()
    w = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    g = torch.randn(11, 5, dtype=torch.float64)
    y = adder(x, w, eta=None)
    y.backward(g)
    expected, dw, dx = _reference(x.detach(), w.detach(), g)
    assert torch.allclose(y, expected, atol=1e-12)
    assert torch.allclose(w.grad, dw, atol=1e-12)  # type: ignore[arg-type]
    assert torch.allclose(x.grad, dx, atol=1e-12)  # type: ignore[arg-type]
    # the input gradient is clipped: not the true gradient sign(w - x) summed
    assert not torch.allclose(
        dx, (-(x.detach()[:, None] - w.detach()[None]).sign() * g[:, :, None]).sum(1)
    )


def test_the_adaptive_scaling_gives_each_layer_gradient_the_norm_eta_sqrt_k() -> None:
    torch.manual_seed(1)
    x, w = torch.randn(8, 6), torch.randn(4, 6, requires_grad=True)
    adder(x, w, eta=0.2).pow(2).sum().backward()
    assert float(torch.linalg.vector_norm(w.grad)) == pytest.approx(0.2 * math.sqrt(24), rel=1e-5)
    unscaled = w.detach().clone().requires_grad_()
    adder(x, unscaled, eta=None).pow(2).sum().backward()
    cosine = F.cosine_similarity(w.grad.flatten(), unscaled.grad.flatten(), dim=0)  # type: ignore[union-attr]
    assert float(cosine) == pytest.approx(1.0, abs=1e-6)


def test_on_binary_spikes_an_adder_layer_is_an_add_only_linear_layer() -> None:
    torch.manual_seed(2)
    w = torch.randn(30, 50) * 0.8
    spikes = (torch.rand(64, 50) < 0.3).float()
    weight, bias = binary_equivalent(w)
    assert float(weight.abs().max()) <= 1.0
    assert torch.allclose(adder(spikes, w), spikes @ weight.T + bias, atol=1e-5)
    graded = torch.rand(64, 50)  # graded inputs: no such identity
    assert not torch.allclose(adder(graded, w), graded @ weight.T + bias, atol=1e-2)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 2), (2, 1)])
def test_the_adder_convolution_has_the_geometry_of_conv2d(stride: int, padding: int) -> None:
    torch.manual_seed(3)
    layer = AdderConv2d(3, 4, 3, stride=stride, padding=padding, eta=None).double()
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    y = layer(x)
    shape = F.conv2d(
        x, torch.zeros(4, 3, 3, 3, dtype=torch.float64), stride=stride, padding=padding
    ).shape
    assert y.shape == shape
    # one output by hand: minus the L1 distance of its patch to its filter
    padded = F.pad(x, (padding,) * 4)
    patch = padded[1, :, stride : stride + 3, stride : stride + 3]
    assert float(y[1, 2, 1, 1]) == pytest.approx(-float((patch - layer.weight[2]).abs().sum()))
    assert AdderLinear(5, 3)(torch.randn(2, 4, 5)).shape == (2, 4, 3)
    with pytest.raises(InputError, match="inputs \\[B, K\\]"):
        adder(torch.zeros(2, 3), torch.zeros(4, 5))


def test_lenet5_bn_counts_additions_instead_of_multiplications() -> None:
    cnn = layer_operations(lenet5_bn("multiply"), (1, 28, 28))
    add = layer_operations(lenet5_bn("adder"), (1, 28, 28))
    # 5x5 convs 1->6 (pad 2, 28x28 out) and 6->16 (10x10 out), fc 400-120-84-10
    expected = 25 * 6 * 784 + 150 * 16 * 100 + 400 * 120 + 120 * 84 + 84 * 10
    assert cnn["mul"] == cnn["add"] == expected == 416_520
    assert add["mul"] == 0 and add["add"] == 2 * expected
    assert [v["fan_in"] for v in add["layers"].values()] == [25, 150, 400, 120, 84]
    with pytest.raises(InputError, match="synapse must be one of"):
        lenet5_bn("xnor")


def test_adder_lenet_learns_fashion_mnist() -> None:
    """2,000 images, 16 steps of SGD: the accuracy on 500 others leaves chance (0.1) clearly."""
    from spikebridge.data.sources import load_split

    images, labels = load_split("fashion-mnist", "train")
    x = torch.from_numpy((images[:2500].astype(np.float32) / 255.0 - 0.286) / 0.353)[:, None]
    y = torch.from_numpy(labels[:2500].astype(np.int64))
    torch.manual_seed(0)
    net = lenet5_bn("adder")
    optimiser = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for step in range(16):
        chosen = slice(step * 125, (step + 1) * 125)
        loss = F.cross_entropy(net(x[chosen]), y[chosen])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():  # batch-norm statistics of the trained net (16 steps are few)
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # a cumulative average
        for start in range(0, 2000, 500):
            net(x[start : start + 500])
    net.eval()
    with torch.no_grad():
        accuracy = float((net(x[2000:]).argmax(-1) == y[2000:]).float().mean())
    assert accuracy > 0.2, accuracy  # measured 0.32


def _adder_network(trainable: bool = True) -> Network:
    from brian2 import ms

    rng = np.random.default_rng(0)
    return Network(
        "adder_net",
        1 * ms,
        (Population("out", "lif_dl", 12, parameters={"decay": 0.9, "theta": 1.0}),),
        (ValueSource("x", 20),),
        (
            Projection(
                "adder",
                "x",
                "out",
                Synapse("w : 1\nI_post = 0.05*(0.45 - abs(x_pre - w)) : 1 (summed)"),
                Dense(),
                weights=rng.random((20, 12)),
                trainable=trainable,
            ),
        ),
        schedule="layered",
        duration=12 * ms,
    )


@pytest.mark.standalone
def test_an_adder_projection_runs_alike_in_brian2_and_on_both_torch_deliveries() -> None:
    """A summed synaptic variable ``A + B*abs(x_pre - w)``: Brian2 runs it as written, the
    torch engine per synapse (event) or as the adder op (matrix); every spike equal."""
    from spikebridge.bridge import validate_network

    inputs = {"x": np.random.default_rng(1).random((6, 20))}
    network = _adder_network()
    matrix = SpikingNetwork(network, synapses="matrix", dtype=torch.float64)
    assert "_0A_adder(" in matrix.network_step("matrix", frozenset()).prepare_source
    for synapses in ("event", "matrix"):
        report = validate_network(network, inputs, synapses=synapses)
        assert 20 < report["spikes_brian2"] < 6 * 12 * 12, report  # some, not all, fire
        assert report["spike_train_agreement"] == 1.0, (synapses, report)


def test_an_adder_projection_trains_with_the_papers_gradient_unscaled() -> None:
    """Hoisted (a value source): dW is the paper's full-precision gradient, not scaled."""
    network = _adder_network()
    x = torch.from_numpy(np.random.default_rng(2).random((5, 20)))
    net = SpikingNetwork(network, synapses="matrix", dtype=torch.float64)
    current = net({"x": x}, n_steps=2, record=("out.I",)).traces["out.I"][0]
    g = torch.randn_like(current)
    parameter = net.get_parameter("adder__W")
    (weight,) = torch.autograd.grad(current, [parameter], g)
    w = parameter.detach().T.clone().requires_grad_()  # [O, K]
    # sum over synapses of 0.05 (0.45 - |x - w|) = 20 * 0.0225 + 0.05 adder(x, w)
    assert torch.allclose(current, 20 * 0.0225 + 0.05 * adder(x, w.detach(), eta=None))
    (reference,) = torch.autograd.grad(0.05 * adder(x, w, eta=None), [w], g)
    assert torch.allclose(weight, reference.T)


def test_a_per_step_adder_sums_the_papers_gradient_over_the_steps() -> None:
    """Layer a's membranes drive layer b through ``abs(u_pre - w)`` every step: dW is
    sum_t sum_b 0.1 (u_k(t) - w_kj) c_tj, the paper's rule summed over the steps (no
    per-step rescaling), for T = 2 and T = 6 alike."""
    from brian2 import ms

    rng = np.random.default_rng(6)
    network = Network(
        "adder_chain",
        1 * ms,
        (
            Population("a", "lif_dl", 6, parameters={"decay": 0.9, "theta": 1.0}),
            Population("b", "lif_dl", 4, parameters={"decay": 0.9, "theta": 1.0}),
        ),
        (ValueSource("x", 5),),
        (
            Projection(
                "xa", "x", "a", Synapse("w : 1\nI_post = w * x_pre : 1 (summed)"), Dense(),
                weights=rng.random((5, 6)) * 0.3,
            ),
            Projection(
                "ab", "a", "b", Synapse("w : 1\nI_post = 0.1*(0.5 - abs(u_pre - w)) : 1 (summed)"),
                Dense(), weights=rng.random((6, 4)), trainable=True,
            ),
        ),
        schedule="layered",
    )  # fmt: skip
    x = torch.from_numpy(rng.random((3, 5)))
    for steps in (2, 6):
        net = SpikingNetwork(network, synapses="matrix", dtype=torch.float64)
        assert "_0A_ab(" in net.source
        out = net({"x": x}, n_steps=steps, record=("a.u", "b.I"))
        c = torch.from_numpy(rng.standard_normal(out.traces["b.I"].shape))
        parameter = net.get_parameter("ab__W")
        (grad,) = torch.autograd.grad((out.traces["b.I"] * c).sum(), [parameter])
        u, w = out.traces["a.u"].detach(), parameter.detach()  # [T, B, 6], [6, 4]
        expected = 0.1 * ((u[..., :, None] - w) * c[..., None, :]).sum((0, 1))
        assert torch.allclose(grad, expected), steps


def test_the_masked_adder_and_its_gradients_leave_the_masked_entries_out() -> None:
    torch.manual_seed(7)
    x = torch.randn(9, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(9, 6) < 0.7).double()
    g = torch.randn(9, 4, dtype=torch.float64)
    adder(x, w, eta=None, mask=mask).backward(g)
    m = mask[:, None, :]
    diff = x.detach()[:, None, :] - w.detach()[None]
    assert torch.allclose(adder(x, w, eta=None, mask=mask), -(m * diff.abs()).sum(-1))
    assert torch.allclose(w.grad, (m * diff * g[:, :, None]).sum(0))  # type: ignore[arg-type]
    assert torch.allclose(x.grad, (-m * diff.clamp(-1, 1) * g[:, :, None]).sum(1))  # type: ignore[arg-type]


def _conv_adder_network(stride: int, padding: int) -> Network:
    from brian2 import ms

    from spikebridge.network import Conv2d

    geometry = Conv2d((2, 7, 6), 3, (3, 3), stride=(stride, stride), padding=(padding, padding))
    rng = np.random.default_rng(3)
    return Network(
        "adder_conv",
        1 * ms,
        (
            Population(
                "maps", "lif_dl", geometry.out_shape, parameters={"decay": 0.9, "theta": 1.0}
            ),
        ),
        (ValueSource("image", (2, 7, 6)),),
        (
            Projection(
                "adder",
                "image",
                "maps",
                Synapse("w : 1\nI_post = 0.1*(0.45 - abs(x_pre - w)) : 1 (summed)"),
                geometry,
                weights=rng.random((3, 2, 3, 3)),
                trainable=True,
            ),
        ),
        schedule="layered",
        duration=10 * ms,
    )


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0), (2, 2)])
def test_an_adder_convolution_sums_over_its_synapses_only(stride: int, padding: int) -> None:
    """The matrix form leaves the padding out, as the synapses (and Brian2) do: the summed
    input equals the per-synapse sum, border outputs (fewer synapses) included."""
    network = _conv_adder_network(stride, padding)
    x = torch.from_numpy(np.random.default_rng(4).random((3, 84)))
    traces = {}
    source = SpikingNetwork(network, synapses="matrix", dtype=torch.float64)
    assert "_0A_adder(" in source.network_step("matrix", frozenset()).prepare_source
    for synapses in ("event", "matrix"):
        net = SpikingNetwork(network, synapses=synapses, dtype=torch.float64)
        traces[synapses] = net({"image": x}, n_steps=2, record=("maps.I",)).traces["maps.I"]
    assert torch.allclose(traces["event"], traces["matrix"], atol=1e-12)
    assert float(traces["event"].std()) > 0.01


@pytest.mark.standalone
def test_an_adder_convolution_runs_alike_in_brian2() -> None:
    from spikebridge.bridge import validate_network

    inputs = {"image": np.random.default_rng(5).random((4, 84)) * 1.2}
    report = validate_network(_conv_adder_network(1, 1), inputs, synapses="matrix")
    assert report["spikes_brian2"] > 20, report
    assert report["spike_train_agreement"] == 1.0, report


def test_lenet_passes_eta_to_every_adder_layer() -> None:
    """AdderNet's scaling: each adder layer's weight gradient has norm eta sqrt(numel)."""
    torch.manual_seed(0)
    net = lenet5_bn("adder", eta=0.5)
    adders = [m for m in net.modules() if isinstance(m, AdderConv2d | AdderLinear)]
    assert len(adders) == 5 and all(m.eta == 0.5 for m in adders)
    net(torch.randn(4, 1, 28, 28)).pow(2).sum().backward()
    for layer in adders:
        norm = float(layer.weight.grad.norm())  # type: ignore[union-attr]
        assert norm == pytest.approx(0.5 * layer.weight.numel() ** 0.5, rel=1e-5)


def test_a_scaled_weight_inside_the_distance_is_still_the_adder_op() -> None:
    """``B * abs(x_pre - (c + k w))`` is ``B |k| abs((x - c) / k - w)``: the matrix delivery
    runs it as the adder op and gives the per-synapse (event) delivery's input."""
    from brian2 import ms

    rng = np.random.default_rng(8)
    synapse = Synapse("w : 1\nI_post = 0.2*(0.4 - abs(x_pre/2.0 - (0.5 + 3.0*w))) : 1 (summed)")
    network = Network(
        "scaled_adder",
        1 * ms,
        (Population("out", "lif_dl", 5, parameters={"decay": 0.9, "theta": 1.0}),),
        (ValueSource("x", 7),),
        (Projection("p", "x", "out", synapse, Dense(), weights=rng.uniform(-0.2, 0.2, (7, 5))),),
        schedule="layered",
    )
    x = torch.from_numpy(rng.random((4, 7)) * 2)
    currents = {}
    for delivery in ("matrix", "event"):
        net = SpikingNetwork(network, synapses=delivery, dtype=torch.float64)
        currents[delivery] = net({"x": x}, n_steps=1, record=("out.I",)).traces["out.I"][0]
    matrix = SpikingNetwork(network, synapses="matrix", dtype=torch.float64)
    assert "_0A_p(" in matrix.network_step("matrix", frozenset()).prepare_source
    assert torch.allclose(currents["matrix"], currents["event"], atol=1e-12)
