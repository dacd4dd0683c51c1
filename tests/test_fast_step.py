"""The fast paths of the torch engine give the eager results: ``torch.compile`` of the generated
step or of the unrolled loop, and gradient checkpointing over time steps.

Compiled and eager float64 runs must agree within the strict float64 tier of
:mod:`spikebridge.tolerances` (relative to each quantity's range), spikes exactly; the
fallback to eager when compilation fails, and the option checks, are tested without a
compiler. Sizes are tiny: compile time, not run time, dominates these tests.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

import spikebridge as sb
from spikebridge.tolerances import tolerance_for
from spikebridge.torch import SpikingNeurons, compiled
from spikebridge.torch.loop import initial_state, run_steps

MODELS = ("lif_dl", "hh_dl", "s_lif2hh_dl")
#: Input gain per model so that every run spikes (the comparisons must not be vacuous).
GAIN = {"lif_dl": 1.0, "hh_dl": 40.0, "s_lif2hh_dl": 4.0}
RTOL = tolerance_for("lif_dl", "float64").membrane_rtol  # the float64 tier, 1e-9


def _close(actual: Tensor, expected: Tensor) -> None:
    """Equal to ``RTOL`` of the expected values' range (the parity tolerance's rule)."""
    scale = max(float(expected.abs().max()), 1e-300)
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=RTOL * scale)


def _run(layer: SpikingNeurons, seed: int = 0, steps: int = 7) -> dict[str, Tensor]:
    """Forward and backward through a linear input layer; outputs and gradients."""
    generator = torch.Generator().manual_seed(seed)
    n_inputs = len(layer.model.inputs)
    x = torch.rand(steps, 2, 5, dtype=torch.float64, generator=generator).requires_grad_()
    weight = torch.rand(n_inputs * layer.n, 5, dtype=torch.float64, generator=generator) - 0.3
    weight = (weight * GAIN[layer.model.name]).requires_grad_()
    current = (x @ weight.T).unflatten(-1, (n_inputs, layer.n))
    drives = {name: current[..., i, :] for i, name in enumerate(layer.model.inputs)}
    spk, mem = layer(drives)
    loss = spk.sum() + (mem * torch.linspace(0, 1, mem.shape[-1], dtype=mem.dtype)).sum()
    names, params = zip(*sorted(layer.named_parameters()), strict=True)
    dx, dw, *dparams = torch.autograd.grad(loss, [x, weight, *params])
    out = {"spk": spk.detach(), "mem": mem.detach(), "dx": dx, "dW": dw}
    out.update({f"d{name}": g for name, g in zip(names, dparams, strict=True)})
    return out


def _layer(name: str, **options: object) -> SpikingNeurons:
    return SpikingNeurons(name, 3, dtype=torch.float64, seed=1, trainable=True, **options)  # type: ignore[arg-type]


def _assert_matches(result: dict[str, Tensor], reference: dict[str, Tensor]) -> None:
    assert reference["spk"].sum() > 0, "the run must spike"
    assert torch.equal(result["spk"], reference["spk"])
    for key in reference:
        _close(result[key], reference[key])


# -- gradient checkpointing (eager; no compiler needed) -------------------------------------
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("every", [1, 3, 7])
def test_checkpointing_gives_the_unchecked_values_and_gradients(name: str, every: int) -> None:
    reference = _run(_layer(name))
    result = _run(_layer(name, checkpoint_every=every))
    _assert_matches(result, reference)
    assert torch.equal(result["mem"], reference["mem"])  # the forward is the same code


def test_checkpointing_keeps_the_final_state_and_is_off_without_grad() -> None:
    layer = _layer("lif_dl")
    x = torch.rand(10, 2, 3, dtype=torch.float64) * 2
    _, _, final = layer.run(x)
    layer.checkpoint_every = 4
    _, _, final_checkpointed = layer.run(x)
    assert all(torch.equal(a, b) for a, b in zip(final, final_checkpointed, strict=True))
    with torch.no_grad():
        spk, _ = layer(x)
    assert torch.equal(spk, layer(x)[0])


def test_run_steps_chunks_do_not_change_values() -> None:
    layer = _layer("hh_dl")
    generated = layer.generated
    drive = {"I": torch.rand(9, 3, dtype=torch.float64) * 40}
    state = initial_state(generated, {}, (3,), torch.float64)
    common = {"dt": layer.dt, "spike_fn": layer.spike_fn, "n_steps": 9, "record": ("v", "m")}
    plain = run_steps(generated, state, layer.parameter_dict(), drive, **common)  # type: ignore[arg-type]
    chunked = run_steps(
        generated,
        state,
        layer.parameter_dict(),
        drive,
        chunk_steps=4,
        **common,  # type: ignore[arg-type]
    )
    assert torch.equal(plain[0], chunked[0])
    assert all(torch.equal(plain[1][k], chunked[1][k]) for k in ("v", "m"))


def test_bad_options_are_rejected() -> None:
    with pytest.raises(sb.InputError, match="checkpoint_every must be a positive"):
        SpikingNeurons("lif_dl", 2, checkpoint_every=0)
    with pytest.raises(sb.InputError, match="checkpoint_every must be a positive"):
        SpikingNeurons("lif_dl", 2, checkpoint_every=2.5)  # type: ignore[arg-type]
    with pytest.raises(sb.InputError, match="compile must be False, True or one of"):
        SpikingNeurons("lif_dl", 2, compile="fast")
    layer = SpikingNeurons("lif_dl", 2, compile=True, checkpoint_every=5)
    assert layer.compile_mode == compiled.DEFAULT_MODE and layer.checkpoint_every == 5
    assert "compile=" in repr(layer) and "checkpoint_every=5" in repr(layer)


def test_loop_chunks_are_bounded_and_even_where_possible() -> None:
    longest = compiled.LOOP_STEPS
    assert compiled.loop_chunk_steps(15) == 15  # the paper's nets: one graph
    assert compiled.loop_chunk_steps(500, 32) == 25  # 20 chunks, one graph
    assert compiled.loop_chunk_steps(37, 32) == 32  # no even split: a remainder chunk
    assert all(1 <= compiled.loop_chunk_steps(t) <= longest for t in range(1, 200))


# -- the fallback when compilation fails (no compiler needed) -------------------------------
def _failing_backend(graph: object, example_inputs: object) -> object:
    raise RuntimeError("no C++ compiler (simulated)")


@pytest.mark.parametrize("mode", ["step", "loop"])
def test_failed_compilation_warns_and_runs_eager(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled.clear_cache()
    reference = _run(_layer("lif_dl"))
    for what in ("compile_step", "compile_chunk"):
        original = getattr(compiled, what)
        failing = functools.partial(original, backend=_failing_backend)
        monkeypatch.setattr(compiled, what, failing)
    with pytest.warns(RuntimeWarning, match=r"torch.compile failed .* running the eager step"):
        result = _run(_layer("lif_dl", compile=mode))
    for key in reference:
        assert torch.equal(result[key], reference[key]), key
    compiled.clear_cache()


def test_compiled_functions_are_cached_and_input_errors_are_not_compile_failures() -> None:
    compiled.clear_cache()
    generated = _layer("lif_dl").generated
    options = {"dtype": torch.float64, "device": "cpu", "backend": _failing_backend}
    step = compiled.compile_step(generated, **options)  # type: ignore[arg-type]
    assert compiled.compile_step(generated, **options) is step  # type: ignore[arg-type]
    assert compiled.compile_step(generated, **{**options, "dtype": torch.float32}) is not step  # type: ignore[arg-type]
    with pytest.raises(KeyError):  # the eager step's own error, raised as such
        step(initial_state(generated, {}, (2,), torch.float64), {}, torch.zeros(()), 1e-3, None)
    assert not step.failed  # type: ignore[attr-defined]
    compiled.clear_cache()


# -- torch.compile (inductor: needs the C++ compiler) -------------------------------------
@contextlib.contextmanager
def _no_fallback() -> Iterator[None]:
    """Fail, instead of passing on eager values, if compilation fell back to eager."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="torch.compile failed")
        yield


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["step", "loop"])
@pytest.mark.parametrize("name", MODELS)
def test_compiled_matches_eager(name: str, mode: str) -> None:
    reference = _run(_layer(name))
    with _no_fallback():
        result = _run(_layer(name, compile=mode))
    _assert_matches(result, reference)


@pytest.mark.slow
def test_compiled_in_chunks_and_with_checkpointing_matches_eager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiled, "LOOP_STEPS", 4)  # 7 steps: unrolled chunks of 4 and 3
    for name, options in (
        ("hh_dl", {"compile": "loop"}),
        ("lif_dl", {"compile": "loop", "checkpoint_every": 3}),
        ("s_lif2hh_dl", {"compile": "step", "checkpoint_every": 3}),
    ):
        reference = _run(_layer(name))
        with _no_fallback():
            result = _run(_layer(name, **options))
        _assert_matches(result, reference)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spike_and_reset_shortcuts_equal_the_full_expressions(dtype: torch.dtype) -> None:
    """``spike_gt`` with scale 1 skips the division and ``blend`` with a reset to 1 skips the
    product: values and gradients bitwise equal to the full expressions."""
    from spikebridge.torch import functions as F
    from spikebridge.torch.surrogate import rectangular

    spike_fn = rectangular(0.5)
    generator = torch.Generator().manual_seed(3)
    u0 = torch.randn(64, generator=generator, dtype=torch.float64).to(dtype)
    old0 = torch.randn(64, generator=generator, dtype=torch.float64).to(dtype)

    def run(short: bool) -> tuple[Tensor, ...]:
        u, old = u0.clone().requires_grad_(), old0.clone().requires_grad_()
        if short:
            out = F.blend(F.spike_gt(spike_fn, u, 0.3, 1.0), 1, old)
        else:
            spike = spike_fn(torch.as_tensor((u - 0.3) / 1.0))
            out = spike * 1 + (1 - spike) * old
        (out * torch.linspace(-1, 1, 64, dtype=dtype)).sum().backward()
        assert u.grad is not None and old.grad is not None
        return out.detach(), u.grad, old.grad

    for short, full in zip(run(True), run(False), strict=True):
        assert torch.equal(short, full)
    assert 0 < int(run(True)[0].sum()) < 64  # some spikes, some not


def test_whole_nets_with_different_surrogate_widths_compile_in_one_process() -> None:
    """``torch.compile`` of whole nets (lif-fc's surrogate half-width 0.5, then hh-fc's 0.3)
    gives the eager logits and gradients; the second net used to fail to trace."""
    from spikebridge.learning.train import task_loss
    from spikebridge.nets import build_net

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 1, 36, 36, generator=generator, dtype=torch.float64) * 255
    labels = torch.randint(0, 10, (2, 2), generator=generator)
    for name in ("lif-fc", "hh-fc"):
        results = []
        for compile_net in (False, True):
            torch.manual_seed(0)  # the same weights for both
            net = build_net(name, steps=3, seed=0, dtype=torch.float64)
            run = torch.compile(net) if compile_net else net
            logits = run(images)
            task_loss(logits, labels).backward()
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            results.append((logits.detach(), grads))
        (eager, eager_grads), (fast, fast_grads) = results
        _close(fast, eager)
        assert len(fast_grads) == len(eager_grads) > 0
        for a, b in zip(fast_grads, eager_grads, strict=True):
            _close(a, b)
