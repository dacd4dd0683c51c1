"""Networks as data on both engines: the catalogue spike for spike, training, the CLI.

Every network of ``networks/`` (at test sizes) gives identical spike rasters and membranes
equal to rounding on Brian2's runtime device (numpy code; one network also with Cython code,
whose compilation of every code object costs minutes per network), on its cpp_standalone
device and on the torch engine (event delivery, Brian2's order of accumulation), in float64;
float32 stays within the tolerance table. Delivery modes give the same spikes; the matrix and
scatter forms give the same gradients; trials back to back in Brian2 equal a torch batch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from brian2 import ms

from spikebridge.cli import main
from spikebridge.network import (
    list_networks,
    network_from,
    network_parity,
    plan_network,
    prepare_run,
    save_network,
)
from spikebridge.torch.network import SpikingNetwork, run_network_torch

#: Test sizes: small enough for CI, large enough that every population fires.
SMALL: dict[str, dict[str, Any]] = {
    "brunel": {"n": 500, "duration_ms": 100.0},
    "coba": {"n": 400, "p": 0.05, "duration_ms": 100.0},
    "cuba": {"n": 400, "p": 0.05, "duration_ms": 100.0},
    "hh_coba": {"n": 200, "p": 0.05, "duration_ms": 100.0},
    "mixed_ei": {"n": 100, "p": 0.1, "duration_ms": 100.0},
    "recurrent_classifier": {"inputs": 16, "hidden": 24, "classes": 4, "steps": 20},
    "stdp": {"inputs": 100, "neurons": 4, "duration_ms": 150.0},
}
INPUTS = {"recurrent_classifier": {"pixels": np.random.default_rng(0).random(16) * 3}}


def test_every_catalogue_network_has_test_sizes() -> None:
    assert set(SMALL) == set(list_networks())


@pytest.fixture(autouse=True)
def _compiler() -> None:
    if shutil.which("g++") is None:
        pytest.skip("Brian2 code generation needs a C++ compiler")


@pytest.mark.standalone
@pytest.mark.parametrize(
    ("name", "device"),
    [(name, device) for name in sorted(SMALL) for device in ("numpy", "cpp_standalone")]
    + [("coba", "runtime")],
)
def test_catalogue_network_spike_for_spike(name: str, device: str) -> None:
    report = network_parity(network_from(name, SMALL[name]), device=device, inputs=INPUTS.get(name))
    for pop, row in report.populations.items():
        assert row["spikes_brian2"] > 0, f"{pop} of {name} must fire (not vacuous)"
    assert report.spike_steps_equal, report.to_dict()
    assert report.within_tolerance, report.to_dict()


@pytest.mark.standalone
@pytest.mark.parametrize("name", ["cuba", "recurrent_classifier"])
def test_float32_within_tolerance(name: str) -> None:
    report = network_parity(
        network_from(name, SMALL[name]),
        device="cpp_standalone",
        dtype="float32",
        inputs=INPUTS.get(name),
    )
    assert report.within_tolerance, report.to_dict()


@pytest.mark.standalone
def test_trials_back_to_back_equal_a_batch() -> None:
    """Three trials of the recurrent classifier (a delayed-free layered net whose recurrent
    spikes wait a step) in one Brian2 run equal the torch batch, each trial from the initial
    state."""
    name = "recurrent_classifier"
    pixels = np.random.default_rng(1).random((3, 16)) * 3
    report = network_parity(network_from(name, SMALL[name]), trials=3, inputs={"pixels": pixels})
    assert report.spike_steps_equal, report.to_dict()
    single = network_parity(
        network_from(name, SMALL[name]), inputs={"pixels": pixels[2]}, device="cpp_standalone"
    )
    assert single.populations["hidden"]["spikes_brian2"] > 0


@pytest.mark.parametrize("name", ["brunel", "stdp"])
def test_delivery_modes_agree(name: str) -> None:
    run = prepare_run(plan_network(network_from(name, SMALL[name])))
    event = run_network_torch(run, synapses="event")
    scatter = run_network_torch(run, synapses="scatter")
    for key in event.spikes:
        np.testing.assert_array_equal(event.spikes[key], scatter.spikes[key])
    assert sum(len(v) for v in event.spikes.values()) > 0


def _classifier(synapses: str) -> tuple[SpikingNetwork, torch.Tensor]:
    net = SpikingNetwork(
        network_from("recurrent_classifier", SMALL["recurrent_classifier"]),
        synapses=synapses,
        dtype=torch.float64,
    )
    return net, torch.as_tensor(np.random.default_rng(2).random((5, 16)) * 3)


def test_matrix_and_scatter_give_the_same_gradients() -> None:
    grads = {}
    for mode in ("matrix", "scatter"):
        net, pixels = _classifier(mode)
        out = net({"pixels": pixels}, n_steps=20)
        loss = out.spikes["output"].mean() + 0.1 * out.spikes["hidden"].mean()
        loss.backward()
        grads[mode] = {k: p.grad for k, p in net.named_parameters()}
    assert set(grads["matrix"]) == {
        "input__W",
        "input__b",
        "recurrent__W",
        "readout_bias__W",
        "readout__W",
    }
    for key, grad in grads["matrix"].items():
        assert grad is not None and grads["scatter"][key] is not None, key
        torch.testing.assert_close(grad, grads["scatter"][key], rtol=1e-9, atol=1e-15)
    assert float(grads["matrix"]["recurrent__W"].abs().sum()) > 0


def test_compiled_loop_equals_eager() -> None:
    net, pixels = _classifier("matrix")
    eager = net({"pixels": pixels}, n_steps=20)
    net.compile_mode = "loop"
    compiled = net({"pixels": pixels}, n_steps=20)
    for pop in eager.spikes:
        torch.testing.assert_close(compiled.spikes[pop], eager.spikes[pop])


def test_cli_list_show_run_and_parity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in listed} == set(list_networks())
    assert main(["network", "show", "cuba", "--set", "n=50", "--torch"]) == 0
    assert "pathway 'ee_pre'" in capsys.readouterr().out
    out = tmp_path / "run"
    code = main(
        [
            "network",
            "run",
            "cuba",
            "--set",
            "n=200",
            "--set",
            "p=0.05",
            "--engine",
            "torch",
            "--duration",
            "50",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"]["exc.spike"]["spikes"] > 0
    assert (out / "raster.png").stat().st_size > 0 and (out / "spikes.npz").is_file()
    saved = save_network(tmp_path / "cuba.npz", network_from("cuba", {"n": 100, "p": 0.1}))
    code = main(["network", "parity", str(saved), "--duration", "20", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["spike_steps_equal"] is True
    assert {"network", "dtype", "spike_steps_equal", "populations"} <= set(report)
    assert {"max_abs_v", "spikes_brian2", "spikes_torch"} <= set(report["populations"]["exc"])


def test_cli_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", "run", "cuba", "--set", "size=3", "--out", "x"]) == 2
    assert "no option(s) ['size']" in capsys.readouterr().err
    assert ms  # durations are given in ms on the command line


def _refractory_network() -> Any:
    from brian2 import mV, nS

    from spikebridge.network import (
        Dense,
        Network,
        Population,
        Projection,
        SpikeSource,
        Synapse,
        Uniform,
    )

    excitatory = Synapse("w : siemens", on_pre="g_e_post += w")
    return Network(
        "refractory",
        0.1 * ms,
        (
            Population("exc", "lif_coba", 12, initial={"v": Uniform(-58 * mV, -52 * mV)}),
            Population("out", "lif_coba", 2),
        ),
        (SpikeSource("inputs", 6, indices=np.zeros(0, int), steps=np.zeros(0, int)),),
        (
            Projection(
                "drive",
                "inputs",
                "exc",
                excitatory,
                Dense(),
                weights=np.random.default_rng(3).uniform(5, 15, (6, 12)) * nS,
                trainable=True,
            ),
            Projection("read", "exc", "out", excitatory, Dense(), weights=6 * nS, trainable=True),
        ),
        duration=20 * ms,
    )


def _input_trains(trials: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, trials)
    rates = np.where((np.arange(6) < 3)[None, :] == (labels[:, None] == 0), 0.08, 0.005)
    return rng.random((trials, 200, 6)) < rates[:, None, :], labels


@pytest.mark.standalone
def test_trials_of_a_refractory_network_start_afresh() -> None:
    """A neuron refractory at the end of one trial is not refractory at the start of the next:
    Brian2 applies ``(unless refractory)`` to every write of ``v``, the restart's too, so the
    restart clears refractoriness first (validate_network: every trial identical)."""
    from spikebridge.bridge import validate_network

    spikes, labels = _input_trains(6)
    network = _refractory_network()
    # the case in question occurs: a neuron fires within t_ref (5 ms) of a trial's end
    late = run_network_torch(
        prepare_run(plan_network(network), inputs={"inputs": spikes}, trials=6)
    ).events("exc")
    assert np.any((late[:, 1] >= 150) & (late[:, 0] < 5))
    report = validate_network(network, {"inputs": spikes}, targets=labels, readout="out")
    assert report["spikes_brian2"] > 50
    assert report["spike_train_agreement"] == 1.0, report
    assert report["prediction_agreement"] == 1.0


def test_fit_network_learns_and_exports_the_trained_weights() -> None:
    from brian2 import nS

    from spikebridge.learning.fit import fit_network, predict

    spikes, labels = _input_trains(64)
    net = SpikingNetwork(_refractory_network(), dtype=torch.float32, detach_reset=True)
    before = (predict(net, {"inputs": spikes}, readout="out", n_steps=200) == labels).mean()
    history = fit_network(
        net,
        {"inputs": spikes},
        labels,
        readout="out",
        n_steps=200,
        epochs=4,
        batch_size=16,
        lr=1 * nS,
        seed=1,
    )
    assert history.last["train_accuracy"] > max(before, 0.6) + 0.1, (before, history.records)
    trained = net.to_network()
    weights = np.asarray(trained.projection("drive").weights / nS)
    np.testing.assert_allclose(
        weights, net.get_parameter("drive__W").detach().numpy() / 1e-9, rtol=1e-6
    )
    with pytest.raises(Exception, match="must be in its unit, S"):
        fit_network(net, {"inputs": spikes}, labels, readout="out", n_steps=200, epochs=1, lr=1e-3)


def test_checkpointing_over_time_gives_the_same_gradients() -> None:
    results = []
    for every in (None, 5):
        net, pixels = _classifier("matrix")
        net.checkpoint_every = every
        out = net({"pixels": pixels}, n_steps=20)
        out.spikes["output"].sum().backward()
        results.append((out.spikes["output"].detach(), net.get_parameter("recurrent__W").grad))
    assert torch.equal(results[0][0], results[1][0])
    assert results[0][1] is not None and results[1][1] is not None
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-12, atol=1e-15)


@pytest.mark.standalone
def test_cli_validates_a_saved_network_on_given_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spikes, labels = _input_trains(3)
    saved = save_network(tmp_path / "net.npz", _refractory_network())
    np.savez(tmp_path / "trials.npz", inputs=spikes, targets=labels)
    code = main(
        [
            "network",
            "validate",
            str(saved),
            "--inputs",
            str(tmp_path / "trials.npz"),
            "--readout",
            "out",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["samples"] == 3
    assert report["spike_train_agreement"] == 1.0 and report["prediction_agreement"] == 1.0
    assert {"accuracy_brian2", "accuracy_torch"} <= set(report)


READOUT_MODEL = '''
"""A leaky readout whose output v is delivered at every step (an event with condition True)."""
from brian2 import ms
EQUATIONS = """
dv/dt = (r*I - v)/tau : 1
I : 1
r : 1
tau : second
"""
EVENTS = {"output": ("True", None)}
METHOD = "exact"
METHODS = ("exact", "euler")
DT = 1 * ms
INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = 1
PARAMETERS = {"I": 0.0, "r": 10.0, "tau": 10 * ms}
EXAMPLE_INPUT = {"I": 1.0}
INITIAL = {"v": 0.0}
'''


def test_every_step_events_and_spike_sources_beside_a_hoisted_bias(
    model_file: Any,
) -> None:
    """A spike source drives a layer whose input a constant bias (summed, computed once per
    run) resets every step; a readout delivers ``w * v_pre`` at every step (an event whose
    condition is the constant True). Both engines agree spike for spike."""
    from spikebridge.network import (
        ConstantSource,
        Dense,
        Network,
        Population,
        Projection,
        SpikeSource,
        Synapse,
    )

    rng = np.random.default_rng(0)
    steps, idx = np.nonzero(rng.random((60, 5)) < 0.3)
    bias = Synapse("w : 1\nI_post = w * x_pre : 1 (summed)")
    spikes = Synapse("w : 1", on_pre="I_post += w")
    readout = model_file(READOUT_MODEL, "readout.py")
    net = Network(
        "every_step",
        1 * ms,
        (
            Population("hidden", "lif_dl", 4, parameters={"decay": 0.5, "theta": 0.5}),
            Population("readout", readout, 2),
            Population("relay", readout, 3, parameters={"tau": 2 * ms}),
        ),
        (ConstantSource("one"), SpikeSource("inp", 5, indices=idx, steps=steps)),
        (
            Projection(
                "ff", "inp", "hidden", spikes, Dense(), weights=rng.normal(0.4, 0.3, (5, 4))
            ),
            Projection("hb", "one", "hidden", bias, Dense(), weights=rng.normal(0, 0.1, (1, 4))),
            Projection("rb", "one", "readout", bias, Dense(), weights=np.zeros((1, 2))),
            Projection(
                "ro", "hidden", "readout", spikes, Dense(), weights=rng.normal(0, 1, (4, 2))
            ),
            Projection("lb", "one", "relay", bias, Dense(), weights=np.zeros((1, 3))),
            Projection(
                "values",
                "readout",
                "relay",
                Synapse("w : 1", on_pre="I_post += w * v_pre", on_event="output"),
                Dense(),
                weights=rng.normal(0, 1, (2, 3)),
            ),
        ),
        schedule="layered",
        duration=60 * ms,
    )
    parity = network_parity(net, device="numpy")
    assert parity.spike_steps_equal, parity
    assert parity.populations["hidden"]["spikes_brian2"] > 10
    assert parity.populations["readout"]["spikes_brian2"] == 60 * 2  # every step
    assert parity.populations["relay"]["max_abs_v"] < 1e-12
    assert parity.populations["relay"]["membrane_range"] > 0.1
