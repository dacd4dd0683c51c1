"""The thin nn.Module: shapes, gradients, surrogates, snnTorch compatibility, dtypes, devices,
and the deep-learning models against the paper's own update formulas."""

from __future__ import annotations

import pytest
import snntorch.functional as SF
import torch
from brian2 import ms
from snntorch import spikegen
from snntorch import surrogate as snn_surrogate

import spikebridge as sb
from spikebridge.torch import SpikingNeurons, rectangular

torch.manual_seed(0)


def test_forward_returns_time_first_spikes_and_membrane() -> None:
    layer = SpikingNeurons("lif_dl", 5)
    spk, mem = layer(torch.rand(15, 3, 5))
    assert spk.shape == (15, 3, 5) and mem.shape == (15, 3, 5)
    assert set(spk.unique().tolist()) <= {0.0, 1.0}


def test_multi_event_model_concatenates_events_event_major() -> None:
    layer = SpikingNeurons("s_lif2hh_dl", 6)
    x = {
        "I_1": torch.rand(10, 2, 6) * 3,
        "I_2": torch.rand(10, 2, 6) * 3,
        "I_3": torch.rand(10, 2, 6) * 3,
    }
    spk, mem = layer(x)
    assert spk.shape == (10, 2, 24) and mem.shape == (10, 2, 24)
    stacked = torch.stack([x["I_1"], x["I_2"], x["I_3"]], dim=-2)
    spk2, _ = layer(stacked)
    assert torch.equal(spk, spk2)


def test_step_equals_forward() -> None:
    layer = SpikingNeurons("lif", 4, dtype=torch.float64)
    x = torch.rand(30, 4, dtype=torch.float64) * 4e-10
    spk, mem = layer(x)
    state = None
    for k in range(30):
        s, state = layer.step(x[k], state, step_index=k)
        assert torch.equal(s, spk[k])
    assert torch.equal(layer.membrane(state), mem[-1])


def test_module_and_simulate_torch_share_one_loop() -> None:
    model = sb.load_model("hh_dl")
    layer = SpikingNeurons(model, 3, dtype=torch.float64, seed=4)
    x = torch.linspace(0.5, 2.0, 3, dtype=torch.float64).expand(200, 3)
    spk, mem = layer(x)
    result = sb.simulate(model, engine="torch", n_steps=200, n=3, seed=4, inputs={"I": x.numpy()})
    assert torch.equal(mem, torch.as_tensor(result.traces["v"]))
    assert spk.sum().item() == len(result.spike_steps())


def test_paper_lif_update_is_reproduced() -> None:
    """u_t = decay u_{t-1} (1 - s_{t-1}) + x_t, s_t = H(u_t - theta): the paper's mem_update."""
    layer = SpikingNeurons("lif_dl", 8, dtype=torch.float64)
    x = torch.rand(15, 4, 8, dtype=torch.float64)
    spk, mem = layer(x)
    u = s = torch.zeros(4, 8, dtype=torch.float64)
    for k in range(15):
        u = 0.2 * u * (1 - s) + x[k]
        s = (u > 0.3).double()
        assert torch.equal(s, spk[k])
        torch.testing.assert_close(u, mem[k], rtol=0, atol=1e-15)


def test_paper_s_lif2hh_update_is_reproduced() -> None:
    """The paper's lif_hh: sub-neuron 4 reads the previous, pre-reset membranes of 1-3."""
    layer = SpikingNeurons("s_lif2hh_dl", 5, dtype=torch.float64, seed=3)
    a = [layer.a_1, layer.a_2, layer.a_3]
    x = torch.rand(15, 2, 3, 5, dtype=torch.float64) * 3
    spk, mem = layer(x)
    u = torch.zeros(4, 2, 5, dtype=torch.float64)
    s = torch.zeros_like(u)
    for k in range(15):
        inner = a[0] * u[0] + a[1] * u[1] + a[2] * u[2] + layer.b_4
        drive = torch.stack([x[k, :, 0], x[k, :, 1], x[k, :, 2], inner])
        u = 0.5 * u * (1 - s) + drive
        s = (u > 2.0).double()
        assert torch.equal(s.permute(1, 0, 2).reshape(2, 20), spk[k])
        torch.testing.assert_close(u.permute(1, 0, 2).reshape(2, 20), mem[k], rtol=0, atol=1e-13)


def test_paper_hh_dl_update_is_reproduced() -> None:
    """The paper's HH_neuron: voltage-independent gates, no reset, level threshold."""
    layer = SpikingNeurons("hh_dl", 6, dtype=torch.float64, seed=1)
    x = torch.rand(15, 6, dtype=torch.float64) * 30
    spk, mem = layer(x)
    v = n = m = h = torch.zeros(6, dtype=torch.float64)
    dt = 0.01
    for k in range(15):
        i_ion = 120 * h * m**3 * (v - 115) + 36 * n**4 * (v + 12) + 0.3 * (v - 10.6)
        v, n, m, h = (
            v + (x[k] - i_ion) * dt,
            n + (layer.alpha_n * (1 - n) - layer.beta_n * n) * dt,
            m + (layer.alpha_m * (1 - m) - layer.beta_m * m) * dt,
            h + (layer.alpha_h * (1 - h) - layer.beta_h * h) * dt,
        )
        assert torch.equal((v > 0.2).double(), spk[k])
        torch.testing.assert_close(v, mem[k], rtol=1e-12, atol=1e-12)


def test_rectangular_surrogate_gradient_window() -> None:
    x = torch.tensor([-0.6, -0.4, 0.0, 0.4, 0.6], requires_grad=True)
    spikes = rectangular(0.5)(x)
    assert spikes.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (grad,) = torch.autograd.grad(spikes.sum(), x)
    assert grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # not normalised, as the paper's ActFun


def test_gradients_reach_inputs_and_trainable_parameters() -> None:
    layer = SpikingNeurons("lif_dl", 10, trainable=("decay", "theta"))
    assert {name for name, _ in layer.named_parameters()} == {"decay", "theta"}
    x = torch.rand(15, 4, 10, requires_grad=True)
    spk, _ = layer(x)
    spk.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert layer.decay.grad is not None and layer.theta.grad is not None
    assert layer.theta.grad.abs() > 0


def test_fixed_parameters_are_buffers_in_the_state_dict() -> None:
    layer = SpikingNeurons("hh", 3)
    assert "g_Na" in layer.state_dict() and not list(layer.parameters())


@pytest.mark.parametrize("name", ["atan", "fast_sigmoid", "sigmoid", "triangular"])
def test_snntorch_surrogates_and_loss(name: str) -> None:
    layer = SpikingNeurons("lif_dl", 10, spike_fn=sb.surrogate(name))
    weights = torch.nn.Linear(20, 10)
    data = torch.rand(8, 20)
    x = weights(spikegen.rate(data, num_steps=15))  # [T, B, 20] -> [T, B, 10]
    spk, _ = layer(x)
    loss = SF.ce_rate_loss()(spk, torch.randint(0, 10, (8,)))
    loss.backward()
    assert torch.isfinite(loss) and weights.weight.grad is not None
    assert weights.weight.grad.abs().sum() > 0


def test_snntorch_surrogate_objects_work_directly() -> None:
    layer = SpikingNeurons("lif_dl", 4, spike_fn=snn_surrogate.atan(alpha=2.0))
    spk, _ = layer(torch.rand(5, 4) * 2)
    assert spk.shape == (5, 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes(dtype: torch.dtype) -> None:
    layer = SpikingNeurons("hh_rest0", 2, dtype=dtype)
    spk, mem = layer(torch.full((50, 2), 0.1, dtype=dtype))  # 10 uA/cm2 in SI (A/m^2)
    assert spk.dtype == dtype and mem.dtype == dtype


def test_module_converts_with_to() -> None:
    layer = SpikingNeurons("lif_dl", 3).to(torch.float64)
    spk, _ = layer(torch.rand(4, 3, dtype=torch.float64))
    assert spk.dtype == torch.float64


def test_bad_module_input_is_rejected() -> None:
    layer = SpikingNeurons("lif_dl", 4)
    with pytest.raises(sb.InputError, match=r"expected \[T, \*batch, n\] with n = 4"):
        layer(torch.rand(10, 3))
    with pytest.raises(sb.InputError, match="NaN"):
        layer(torch.full((3, 4), float("nan")))
    with pytest.raises(sb.InputError, match="Cannot train"):
        SpikingNeurons("lif_dl", 4, trainable=("I",))


def test_dt_is_checked_for_the_module() -> None:
    with pytest.raises(sb.MethodError, match="discrete-time map"):
        SpikingNeurons("lif_dl", 4, dt=0.5 * ms)


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    layer = SpikingNeurons("hh_dl", 16, dtype=torch.float64)
    x = torch.rand(15, 4, 16, dtype=torch.float64) * 3
    spk_cpu, mem_cpu = layer(x)
    spk_gpu, mem_gpu = layer.cuda()(x.cuda())
    assert torch.equal(spk_cpu, spk_gpu.cpu())
    torch.testing.assert_close(mem_cpu, mem_gpu.cpu(), rtol=1e-12, atol=1e-12)
