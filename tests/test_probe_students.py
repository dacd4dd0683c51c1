"""The probe's TCN students: causal, the paper's 1-unit I&F student learns a leaky
integrate-and-fire teacher (validation spike AUC > 0.95), a run resumed from its checkpoint
ends where an uninterrupted one does, and functional depth picks the smallest depth within
tolerance of the best. Everything runs on one thread and tiny data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from spikebridge.errors import InputError
from spikebridge.probe.students import (
    TCN,
    FittedStudent,
    ProbeData,
    StudentConfig,
    StudentSpec,
    causal_conv,
    fit_student,
    functional_depth,
    parameter_count,
)

N_EXC, N_INH = 40, 10


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def lif_teacher(n_sims: int, duration_ms: int, seed: int, p: float = 0.0045) -> ProbeData:
    """A leaky integrate-and-fire neuron (tau 20 ms, dt 1 ms, rest -70 mV, threshold -55,
    reset -75) driven by 40 excitatory (+2 mV) and 10 inhibitory (-2 mV) delta synapses with
    Bernoulli spikes of probability ``p`` per bin, modulated by factors U[0, 2] redrawn every
    100 ms (excitation and inhibition apart). It fires at about 3 Hz."""
    rng = np.random.default_rng(seed)
    hold = 100
    segments = -(-duration_ms // hold)

    def modulation() -> np.ndarray:
        factors = rng.uniform(0.0, 2.0, (n_sims, 1, segments))
        return np.repeat(factors, hold, axis=2)[:, :, :duration_ms]

    exc = rng.random((n_sims, N_EXC, duration_ms)) < p * modulation()
    inh = rng.random((n_sims, N_INH, duration_ms)) < p * modulation()
    drive = 2.0 * exc.sum(1) - 2.0 * inh.sum(1)
    v = np.full(n_sims, -70.0)
    spikes = np.zeros((n_sims, duration_ms), np.uint8)
    soma = np.zeros((n_sims, duration_ms), np.float32)
    for t in range(duration_ms):
        v = v + (-70.0 - v) / 20.0 + drive[:, t]
        fired = v >= -55.0
        spikes[fired, t] = 1
        soma[:, t] = np.minimum(v, -55.0)
        v[fired] = -75.0
    inputs = np.concatenate([exc, inh], axis=1).astype(np.uint8)
    return ProbeData(inputs, spikes, soma)


@pytest.fixture(scope="module")
def teacher() -> tuple[ProbeData, ProbeData]:
    data = lif_teacher(30, 2000, seed=1)
    rate = data.spikes.mean() * 1000
    assert 1.0 < rate < 10.0, f"the teacher fires at {rate:.2f} Hz"

    def part(sims: slice) -> ProbeData:
        return ProbeData(data.inputs[sims], data.spikes[sims], data.soma[sims])

    return part(slice(0, 24)), part(slice(24, 30))


#: Short runs: the test's budget, not the calibration's (see StudentConfig's defaults). The
#: soma loss, weighted up from 0.02, teaches the single unit the membrane filter quickly.
QUICK = StudentConfig(max_steps=200, eval_every=25, batch=16, window_ms=300, soma_weight=1.0)


@pytest.fixture(scope="module")
def paper_student(teacher: tuple[ProbeData, ProbeData]) -> FittedStudent:
    train, valid = teacher
    return fit_student(StudentSpec.paper_if(), train, valid, QUICK)


# ---------------------------------------------------------------------------------------
# Specs and the model
# ---------------------------------------------------------------------------------------


def test_paper_if_spec_is_one_linear_unit_with_an_80_ms_kernel() -> None:
    spec = StudentSpec.paper_if()
    assert (spec.depth, spec.width, spec.kernels, spec.linear) == (1, 1, (80,), True)
    assert spec.name == "d1-w1-k80-linear"
    assert spec.receptive_field == 80
    n_syn = N_EXC + N_INH
    # 50 x 80 weights + 1 bias, BatchNorm's scale and shift, two heads of weight and bias.
    assert parameter_count(spec, n_syn) == 80 * n_syn + 1 + 2 + 4 == 4007
    model = TCN(spec, n_syn)
    assert sum(p.numel() for p in model.parameters()) == 4007
    # No ReLU: in eval mode the student is affine in its input.
    model.eval()
    a, b = torch.rand(2, 1, n_syn, 120).unbind(0)
    with torch.no_grad():
        zero = model(torch.zeros_like(a))
        fa, fb, fab = model(a), model(b), model(a + b)
    for k in range(2):
        torch.testing.assert_close(fa[k] + fb[k] - zero[k], fab[k], rtol=1e-4, atol=1e-4)
    assert float(model.spike_head.bias.detach()) == pytest.approx(-2.5)


def test_sweep_splits_the_temporal_extent() -> None:
    assert StudentSpec.sweep(1).kernels == (80,)
    assert StudentSpec.sweep(2).kernels == (40, 40)
    assert StudentSpec.sweep(3).kernels == (40, 20, 20)
    assert StudentSpec.sweep(5).kernels == (40, 10, 10, 10, 10)
    assert StudentSpec.sweep(30).kernels[1:] == (2,) * 29  # never below 2 ms
    spec = StudentSpec.sweep(2)
    assert (spec.width, spec.linear, spec.name) == (16, False, "d2-w16-k40.40")
    assert StudentSpec.from_dict(spec.to_dict()) == spec
    assert StudentSpec.from_dict({"depth": 2, "width": 16, "kernels": [40, 40]}) == spec
    with pytest.raises(InputError, match="depth 2 but 1 kernels"):
        StudentSpec(depth=2, width=4, kernels=(10,))
    with pytest.raises(InputError, match="width must be a positive integer"):
        StudentSpec(depth=1, width=0, kernels=(10,))
    with pytest.raises(InputError, match="Unknown StudentSpec field"):
        StudentSpec.from_dict({"depth": 1, "width": 1, "kernels": [8], "dilation": 2})


@pytest.mark.parametrize(("channels", "width", "kernel"), [(100, 1, 80), (16, 16, 40), (3, 2, 1)])
def test_fft_convolution_equals_a_left_padded_conv1d(
    channels: int, width: int, kernel: int
) -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv1d(channels, width, kernel)
    x = torch.rand(3, channels, 300, dtype=torch.float64).round()
    conv = conv.double()
    expected = conv(torch.nn.functional.pad(x, (kernel - 1, 0)))
    torch.testing.assert_close(causal_conv(x, conv), expected, rtol=0, atol=1e-12)
    # Gradients too: the students train through it.
    weight = conv.weight
    (grad_fft,) = torch.autograd.grad(causal_conv(x, conv).square().sum(), weight)
    (grad_ref,) = torch.autograd.grad(expected.square().sum(), weight)
    torch.testing.assert_close(grad_fft, grad_ref, rtol=1e-10, atol=1e-9)


def test_tcn_is_causal_with_its_receptive_field() -> None:
    spec = StudentSpec.sweep(3, width=4, extent=24)  # kernels (12, 6, 6): R = 22
    torch.manual_seed(0)
    model = TCN(spec, 6)
    model.train()
    with torch.no_grad():  # running BatchNorm statistics that are not the identity
        for _ in range(3):
            model(torch.rand(4, 6, 200).round())
    model.eval()
    x = torch.rand(2, 6, 200).round()
    y = x.clone()
    y[:, :, 121:] = 1 - y[:, :, 121:]  # change every input after t = 120
    z = x.clone()
    z[:, :, 50] = 1 - z[:, :, 50]  # change only the inputs at t = 50
    with torch.no_grad():
        outputs = [model(v) for v in (x, y, z)]
    for head in range(2):
        base, later, once = (o[head] for o in outputs)
        torch.testing.assert_close(base[:, :121], later[:, :121], rtol=0, atol=1e-6)
        assert not torch.allclose(base[:, 121:], later[:, 121:])
        changed = (base - once).abs().amax(0) > 1e-6
        assert not changed[:50].any() and not changed[50 + spec.receptive_field :].any()
        assert changed[50] and changed[50 + spec.receptive_field - 1]


# ---------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------


def test_paper_if_student_learns_the_lif_teacher(
    teacher: tuple[ProbeData, ProbeData], paper_student: FittedStudent
) -> None:
    train, valid = teacher
    fitted = paper_student
    assert fitted.valid["spike_auc"] > 0.95, fitted.history
    assert fitted.valid["soma_ev_percent"] > 10.0
    assert fitted.valid["soma_rmse_mv"] < float(valid.soma[:, 500:].std())
    assert fitted.parameters == 4007
    assert 0 < fitted.best_step <= fitted.steps <= QUICK.max_steps
    assert [row["step"] for row in fitted.history] == list(range(25, fitted.steps + 1, 25))
    # pos_weight from the data: #negative / #positive bins (~370 here) clipped to 30.
    assert fitted.pos_weight == 30.0
    assert fitted.soma_mean == pytest.approx(float(train.soma.mean()), abs=1e-4)
    # The final metrics are those of the kept (best) state, recomputed by evaluate.
    again = fitted.evaluate(valid, burn_in_ms=500)
    assert again == pytest.approx(fitted.valid, abs=1e-9)
    best = max(row["valid_auc"] for row in fitted.history)
    assert fitted.valid["spike_auc"] == pytest.approx(best, abs=1e-9)

    probability, soma_mv = fitted.predict(valid.inputs)
    assert probability.shape == soma_mv.shape == valid.spikes.shape
    assert ((probability >= 0) & (probability <= 1)).all()
    assert abs(float(soma_mv[:, 500:].mean()) - float(valid.soma[:, 500:].mean())) < 2.0


def test_spike_head_is_not_inverted(
    teacher: tuple[ProbeData, ProbeData], paper_student: FittedStudent
) -> None:
    _, valid = teacher
    probability, _ = paper_student.predict(valid.inputs)
    spiking = valid.spikes[:, 500:].astype(bool)
    after = probability[:, 500:]
    assert paper_student.valid["spike_auc"] > 0.9
    assert after[spiking].mean() > 3 * after[~spiking].mean()


def _tiny() -> tuple[ProbeData, ProbeData, StudentSpec, StudentConfig]:
    data = lif_teacher(10, 600, seed=3, p=0.006)
    train = ProbeData(data.inputs[:7], data.spikes[:7], data.soma[:7])
    valid = ProbeData(data.inputs[7:], data.spikes[7:], data.soma[7:])
    spec = StudentSpec.sweep(2, width=3, extent=16)
    config = StudentConfig(
        window_ms=64, batch=4, max_steps=24, eval_every=6, patience=50, burn_in_ms=100
    )
    return train, valid, spec, config


def test_resumed_fit_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    train, valid, spec, config = _tiny()
    whole = fit_student(spec, train, valid, config)
    path = tmp_path / "student.pt"
    first = fit_student(spec, train, valid, replace(config, max_steps=12), checkpoint=path)
    assert first.steps == 12 and path.is_file()
    resumed = fit_student(spec, train, valid, config, checkpoint=path)
    assert resumed.steps == whole.steps == 24
    assert resumed.best_step == whole.best_step
    assert [r["step"] for r in resumed.history] == [r["step"] for r in whole.history]
    for a, b in zip(resumed.history, whole.history, strict=True):
        assert a == pytest.approx(b, abs=1e-6)
    assert resumed.valid == pytest.approx(whole.valid, abs=1e-6)
    for name, tensor in whole.state_dict.items():
        torch.testing.assert_close(resumed.state_dict[name], tensor, rtol=0, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["student.pt"]  # no temporary files left

    # A finished checkpoint is not trained further, and another student's is refused.
    again = fit_student(spec, train, valid, config, checkpoint=path)
    assert again.steps == 24 and again.valid == pytest.approx(whole.valid, abs=1e-12)
    with pytest.raises(InputError, match=r"checkpoint of student d2-w3-k8\.8"):
        fit_student(StudentSpec.sweep(2, width=4, extent=16), train, valid, config, checkpoint=path)
    with pytest.raises(InputError, match=r"other settings \(lr\)"):
        fit_student(spec, train, valid, replace(config, lr=1e-3), checkpoint=path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable student checkpoint"):
        fit_student(spec, train, valid, config, checkpoint=path)


def test_fit_refuses_data_it_cannot_score() -> None:
    train, valid, spec, config = _tiny()
    silent = ProbeData(valid.inputs, np.zeros_like(valid.spikes), valid.soma)
    with pytest.raises(InputError, match="AUC needs both spike and silent bins"):
        fit_student(spec, train, silent, config)
    with pytest.raises(InputError, match="receptive field 15 ms"):
        fit_student(spec, train, valid, replace(config, window_ms=10))
    with pytest.raises(InputError, match="longer than the training simulations"):
        fit_student(spec, train, valid, replace(config, window_ms=700))
    with pytest.raises(InputError, match="burn_in_ms=600 leaves nothing"):
        fit_student(spec, train, valid, replace(config, burn_in_ms=600))
    fewer_synapses = ProbeData(train.inputs[:, :8], train.spikes, train.soma)
    with pytest.raises(InputError, match="50 synapses and the training data 8"):
        fit_student(spec, fewer_synapses, valid, config)


# ---------------------------------------------------------------------------------------
# Functional depth and the data contract
# ---------------------------------------------------------------------------------------


def test_functional_depth_is_the_smallest_depth_near_the_best() -> None:
    aucs = {1: 0.90, 2: 0.970, 3: 0.971, 4: 0.969}
    assert functional_depth(aucs) == 2
    assert functional_depth(aucs, tolerance=0.0) == 3
    assert functional_depth(aucs, tolerance=0.1) == 1
    assert functional_depth({1: 0.988, 2: 0.990}) == 1  # "within" is inclusive
    assert functional_depth({3: 0.95}) == 3
    assert functional_depth({7: 0.99, 2: 0.5, 5: 0.9895}) == 5  # order does not matter
    for bad, match in [
        ({}, "at least one depth"),
        ({0: 0.9}, "depths are integers >= 1"),
        ({1.5: 0.9}, "depths are integers >= 1"),
        ({1: float("nan")}, "finite number in"),
        ({1: 1.2}, "finite number in"),
    ]:
        with pytest.raises(InputError, match=match):
            functional_depth(bad)
    with pytest.raises(InputError, match="tolerance must be"):
        functional_depth({1: 0.9}, tolerance=-0.1)


def test_probe_data_names_what_is_wrong() -> None:
    inputs = np.zeros((2, 3, 50), np.uint8)
    spikes = np.zeros((2, 50), np.uint8)
    soma = np.full((2, 50), -70.0, np.float32)
    data = ProbeData(inputs, spikes.astype(bool), soma)
    assert (data.n_sims, data.n_syn, data.duration_ms) == (2, 3, 50)
    cases = [
        ((inputs[0], spikes, soma), r"inputs has shape \(3, 50\).*\[sims, n_syn, T\]"),
        ((inputs[:, :, :0], spikes[:, :0], soma[:, :0]), "at least one entry"),
        ((inputs, spikes[:1], soma), r"spikes has shape \(1, 50\).*\(2, 50\)"),
        ((inputs, spikes, soma[:, :40]), r"soma has shape \(2, 40\)"),
        ((inputs.astype(np.float32), spikes, soma), "inputs must be binary"),
        ((inputs + 2, spikes, soma), "inputs must be binary"),
        ((inputs, spikes - 1, soma), r"spikes must be binary.*astype\(np.uint8\)"),
        ((inputs, spikes, soma.astype(np.int32)), "soma must be a float array"),
        ((inputs, spikes, np.where(soma < 0, np.nan, soma)), "NaN or infinite"),
    ]
    for args, match in cases:
        with pytest.raises(InputError, match=match):
            ProbeData(*args)


def test_early_stopping_counts_gains_above_min_delta() -> None:
    """No AUC gain exceeds min_delta = 1: the first evaluation is kept and the run stops
    after ``patience`` more; with min_delta = 0 it runs to max_steps (patience 50)."""
    train, valid, spec, config = _tiny()
    stopped = fit_student(spec, train, valid, replace(config, min_delta=1.0, patience=2))
    assert (stopped.best_step, stopped.steps) == (6, 18)
    assert [row["step"] for row in stopped.history] == [6, 12, 18]
    full = fit_student(spec, train, valid, replace(config, min_delta=0.0))
    assert full.steps == config.max_steps
