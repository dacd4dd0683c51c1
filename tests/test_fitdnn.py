"""Fit-DNN: the element's Brian2 update, the three modes against independent oracles, the
Brian2 delay neuron against the torch ``dde`` mode, and training (tiny sizes)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from spikebridge.errors import InputError, ModelFileError, ParameterError
from spikebridge.fitdnn.brian_delay import run_in_brian2
from spikebridge.fitdnn.config import FitDNNConfig
from spikebridge.fitdnn.element import element_update, load_element
from spikebridge.fitdnn.folded import FitDNN
from spikebridge.fitdnn.modulations import delay_signals
from spikebridge.fitdnn.training import (
    ImageData,
    TrainConfig,
    denoising_test_noise,
    evaluate,
    load_fitdnn,
    train_fitdnn,
)

SMALL = FitDNNConfig(nodes=5, layers=3, loops=4, theta=0.5, substeps=3, inputs=7, outputs=3, seed=2)


def _batch(cfg: FitDNNConfig, size: int = 3, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(size, cfg.inputs, generator=gen, dtype=torch.float64)


def _oracle(model: FitDNN, u: np.ndarray) -> np.ndarray:
    """The delay system stepped one integration step at a time, with an explicit history
    (x <- e^{-h} x + (1 - e^{-h}) sin a, the sine element's exponential Euler step)."""
    cfg = model.config
    n, n_h, layers = cfg.nodes, cfg.substeps, cfg.layers
    c = math.exp(-cfg.theta / n_h)
    w_in, b_in = model.w_in.detach().numpy(), model.b_in.detach().numpy()
    w = model.hidden_weights().detach().numpy()
    b = model.b_hidden.detach().numpy()
    logits = []
    for sample in u:
        drive = 0.5 * math.pi * np.tanh(w_in @ sample + b_in)
        x = np.zeros(layers * n * n_h + 1)
        for k in range(layers * n * n_h):
            layer, node = k // (n * n_h), (k % (n * n_h)) // n_h
            if layer == 0:
                a = drive[node]
            else:
                a = b[layer - 1, node]
                for offset in cfg.offsets:
                    source = node - offset
                    if 0 <= source < n:
                        a += w[layer - 1, node, source] * x[k - (n + offset) * n_h]
            x[k + 1] = c * x[k] + (1 - c) * math.sin(a)
        ends = (layers - 1) * n * n_h + n_h * np.arange(1, n + 1)
        logits.append(model.w_out.detach().numpy() @ x[ends] + model.b_out.detach().numpy())
    return np.array(logits)


def test_sine_element_update_is_exponential_euler() -> None:
    h = 0.5e-3 / 32
    update = element_update(load_element("sine"), h)
    a = torch.linspace(-2, 2, 9, dtype=torch.float64)
    c = math.exp(-h / 1e-3)
    assert update.c == pytest.approx(c, rel=1e-14)
    assert torch.allclose(update.drive(a), (1 - c) * torch.sin(a), atol=1e-15, rtol=0)
    assert update.node_gain(32) * (1 - c) == pytest.approx(1 - math.exp(-0.5), rel=1e-12)
    euler = element_update(load_element("sine"), h, "euler")
    assert euler.c == pytest.approx(1 - h / 1e-3, rel=1e-14)


def test_element_files_are_checked(tmp_path) -> None:
    text = (
        "'''A node whose update is not affine in x.'''\n"
        "from brian2 import ms\n"
        "EQUATIONS = 'dx/dt = (-x**3 + a)/tau : 1\\na : 1\\ntau : second'\n"
        "METHOD = 'euler'\nMETHODS = ('euler',)\nSTATE = 'x'\nINPUT = 'a'\n"
        "PARAMETERS = {'tau': 1*ms}\nTIME_UNIT = 1*ms\n"
    )
    cubic = tmp_path / "cubic.py"
    cubic.write_text(text)
    with pytest.raises(ModelFileError, match="not x <- c x"):
        element_update(load_element(cubic), 1e-5)
    missing = tmp_path / "missing.py"
    missing.write_text(text.replace("TIME_UNIT = 1*ms\n", ""))
    with pytest.raises(ModelFileError, match="missing TIME_UNIT"):
        load_element(missing)
    with pytest.raises(ModelFileError, match="does not support method 'rk4'"):
        element_update(load_element(cubic), 1e-5, "rk4")


def test_config_offsets_and_refusals() -> None:
    cfg = FitDNNConfig(nodes=10, loops=7, seed=3)
    offsets = cfg.offsets
    assert len(set(offsets.tolist())) == 7 and offsets.min() < 0 < offsets.max()
    assert offsets.min() >= -9 and offsets.max() <= 9
    assert np.array_equal(cfg.delay_steps, (10 + offsets) * 32)
    assert FitDNNConfig(nodes=10, loops=19).offsets.tolist() == list(range(-9, 10))
    equi = FitDNNConfig(nodes=10, loops=5, diagonal_choice="equidistant").offsets
    assert equi.tolist() == [-9, -4, 0, 4, 9]
    with pytest.raises(ParameterError, match="only 2N - 1 = 19"):
        FitDNNConfig(nodes=10, loops=20)
    with pytest.raises(ParameterError, match="at least 2"):
        FitDNNConfig(layers=1)


def test_dde_mode_equals_the_stepped_delay_system() -> None:
    model = FitDNN(SMALL, dtype=torch.float64)
    u = _batch(SMALL)
    got = model(u, "dde").detach().numpy()
    assert np.abs(got - _oracle(model, u.numpy())).max() < 1e-12
    assert np.abs(got - model(u, "network").detach().numpy()).max() > 1e-3  # not the same model


def test_network_mode_is_the_papers_equivalent_network() -> None:
    model = FitDNN(SMALL, dtype=torch.float64)
    u = _batch(SMALL)
    e = math.exp(-SMALL.theta)
    w = model.hidden_weights().detach()
    a = 0.5 * math.pi * torch.tanh(u @ model.w_in.detach().T + model.b_in.detach())
    last = torch.zeros(u.shape[0], dtype=torch.float64)
    x = torch.zeros(u.shape[0], SMALL.nodes, dtype=torch.float64)
    for layer in range(SMALL.layers):
        if layer:
            a = model.b_hidden.detach()[layer - 1] + x @ w[layer - 1].T
        x = torch.zeros_like(a)
        for n in range(SMALL.nodes):
            last = e * last + (1 - e) * torch.sin(a[:, n])
            x[:, n] = last
    expected = x @ model.w_out.detach().T + model.b_out.detach()
    assert torch.allclose(model(u, "network"), expected, atol=1e-12, rtol=0)


def test_large_theta_decouples_the_nodes() -> None:
    cfg = FitDNNConfig(**{**SMALL.to_dict(), "theta": 60.0, "substeps": 64})
    model = FitDNN(cfg, dtype=torch.float64)
    u = _batch(cfg)
    decoupled = model(u, "decoupled")
    assert torch.allclose(model(u, "network"), decoupled, atol=1e-10, rtol=0)
    assert torch.allclose(model(u, "dde"), decoupled, atol=1e-6, rtol=0)


def test_dde_gradients_match_finite_differences() -> None:
    model = FitDNN(SMALL, dtype=torch.float64)
    u = _batch(SMALL)
    model(u, "dde").square().sum().backward()
    grad = model.w_hidden.grad
    assert grad is not None
    i = tuple(int(v) for v in torch.nonzero(model.mask)[0])
    with torch.no_grad():
        step = 1e-6
        model.w_hidden[(1, *i)] += step
        up = model(u, "dde").square().sum()
        model.w_hidden[(1, *i)] -= 2 * step
        down = model(u, "dde").square().sum()
    assert float(grad[(1, *i)]) == pytest.approx(float(up - down) / (2 * step), rel=1e-6)


def test_modulations_follow_the_diagonals() -> None:
    model = FitDNN(SMALL, dtype=torch.float64)
    signals = delay_signals(model, _batch(SMALL))
    n = SMALL.nodes
    w = model.hidden_weights().detach().numpy()
    assert not signals.modulation[:n].any() and not signals.bias[:n].any()
    for d, offset in enumerate(SMALL.offsets):
        for node in range(n):
            source = node - offset
            expected = w[1, node, source] if 0 <= source < n else 0.0
            assert signals.modulation[2 * n + node, d] == expected
    assert not signals.drive_in[n:].any()


def test_brian2_delay_neuron_equals_dde_mode() -> None:
    model = FitDNN(SMALL, dtype=torch.float64)
    u = _batch(SMALL, size=4)
    run = run_in_brian2(model, u, device="numpy")
    assert np.abs(run.logits - model(u, "dde").detach().numpy()).max() < 1e-12


@pytest.mark.standalone
def test_brian2_delay_neuron_cpp_standalone(tmp_path) -> None:
    cfg = FitDNNConfig(nodes=8, layers=2, loops=6, substeps=8, inputs=7, outputs=3, seed=4)
    model = FitDNN(cfg, dtype=torch.float64)
    u = _batch(cfg, size=5)
    run = run_in_brian2(model, u, device="cpp_standalone", directory=tmp_path / "build")
    assert np.abs(run.logits - model(u, "dde").detach().numpy()).max() < 1e-12


def _tiny_data(train: int = 400, test: int = 200) -> ImageData:
    from spikebridge.data.sources import load_split

    tr, te = load_split("fashion-mnist", "train"), load_split("fashion-mnist", "test")
    return ImageData.from_arrays((tr[0][:train], tr[1][:train]), (te[0][:test], te[1][:test]))


TINY = FitDNNConfig(nodes=16, loops=9, substeps=4)


def test_training_learns_and_resumes_exactly(tmp_path) -> None:
    data = _tiny_data(2000, 200)
    train = TrainConfig(epochs=2, batch=32, lr=5e-3)
    model, straight = train_fitdnn(TINY, train, data)
    assert straight.final["test_accuracy"] > 0.6  # ten classes: chance is 0.1 (measured 0.725)
    ckpt = tmp_path / "fit.pt"

    def stop(record: dict[str, float]) -> None:
        raise KeyboardInterrupt  # the run is stopped after its first epoch

    with pytest.raises(KeyboardInterrupt):
        train_fitdnn(TINY, train, data, checkpoint=ckpt, on_epoch=stop)
    with pytest.raises(InputError, match="exists"):
        train_fitdnn(TINY, train, data, checkpoint=ckpt)
    with pytest.raises(InputError, match="other training settings"):
        train_fitdnn(TINY, replace(train, lr=1e-3), data, checkpoint=ckpt, resume=True)
    resumed, result = train_fitdnn(TINY, train, data, checkpoint=ckpt, resume=True)
    assert [h["test_accuracy"] for h in result.history] == [
        h["test_accuracy"] for h in straight.history
    ]
    for name, value in model.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    loaded, saved = load_fitdnn(ckpt)
    assert saved.history == result.history
    assert torch.equal(loaded(data.test_x[:5], "dde"), resumed(data.test_x[:5], "dde"))


def test_denoising_beats_the_mean_image() -> None:
    data = _tiny_data(2000, 200)
    train = TrainConfig(task="denoise", epochs=2, batch=32, mode="network", lr=1e-2)
    cfg = FitDNNConfig(nodes=32, loops=9, substeps=4, outputs=784)
    model, result = train_fitdnn(cfg, train, data)
    mean_image = float(((data.train_x.mean(0) - data.test_x) ** 2).mean())  # 0.090
    noisy = (data.test_x + denoising_test_noise(data, 1.0, 0)).clamp(0, 1)
    assert float(((noisy - data.test_x) ** 2).mean()) > 2 * mean_image  # the task is hard
    assert result.final["test_mse"] < 0.8 * mean_image  # measured 0.065
    assert evaluate(model, data, train) == pytest.approx(result.final["test_mse"])
