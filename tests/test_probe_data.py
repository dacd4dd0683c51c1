"""The probe's data: input statistics, Brian2 teachers and the chunked data folder.

The inputs follow the paper's I&F statistics (rates, reproducibility per simulation); the
paper's I&F teacher simulated by Brian2 equals an independent numpy integrate-and-fire
neuron spike for spike (same schedule: integrate, threshold, synaptic input, reset); a
calibrated teacher fires at its target rate; the data folder is written in chunks, resumes
where it stopped and refuses data of another study or teacher.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, ms, mV

from spikebridge.errors import InputError
from spikebridge.probe.dataset import DataSpec, generate, load
from spikebridge.probe.inputs import InputStatistics, input_block
from spikebridge.probe.teachers import (
    Teacher,
    calibrate_gain,
    simulate_teacher,
    teacher_from_dict,
)

STATS = InputStatistics()

#: The paper's I&F cell as a study file writes it (spikebridge/probe/presets/point-neurons.toml).
IF_TEACHER = {
    "name": "if",
    "model": "lif",
    "dt": "1 ms",
    "synapse": "delta",
    "target": "v",
    "exc_weight": "2 mV",
    "inh_weight": "-2 mV",
    "parameters": {
        "E_L": "-75 mV",
        "tau_m": "20 ms",
        "v_th": "-55 mV",
        "v_reset": "-75 mV",
        "t_ref": "0 ms",
    },
    "initial": {"v": "-75 mV"},
    "soma": "v",
    "soma_ceiling": "-54.9 mV",
}


def numpy_integrate_and_fire(inputs: np.ndarray, weight_mv: float) -> tuple[np.ndarray, ...]:
    """The I&F cell stepped by hand at dt = 1 ms: exact leak towards -75 mV (tau 20 ms),
    spike when v > -55 mV, then this bin's input spikes (+-``weight_mv``; the first 80
    synapses excitatory), then the reset to -75 mV. Soma: v at the end of the bin."""
    n_sims, _, n_bins = inputs.shape
    drive = weight_mv * (inputs[:, :80].sum(1) - inputs[:, 80:].sum(1)).astype(np.float64)
    decay = np.exp(-1.0 / 20.0)
    v = np.full(n_sims, -75.0)
    spikes = np.zeros((n_sims, n_bins), np.uint8)
    soma = np.zeros((n_sims, n_bins))
    for t in range(n_bins):
        v = -75.0 + (v + 75.0) * decay
        fired = v > -55.0
        v = np.where(fired, -75.0, v + drive[:, t])
        spikes[:, t] = fired
        soma[:, t] = v
    return spikes, soma


def test_inputs_have_the_papers_rates_and_are_reproducible_per_simulation() -> None:
    block = input_block(STATS, 3000, seed=7, simulations=range(6))
    assert block.shape == (6, 100, 3000) and block.dtype == bool
    # Simulation k has its own generator: any sub-range draws the same trains.
    np.testing.assert_array_equal(input_block(STATS, 3000, 7, range(4, 6)), block[4:])
    assert not np.array_equal(input_block(STATS, 3000, 8, range(1)), block[:1])
    exc_hz = block[:, :80].mean() * 1000.0
    inh_hz = block[:, 80:].mean() * 1000.0
    # E ~ U[0, 50] spikes per 100 ms over 80 synapses: 3.1 Hz on average per synapse; the
    # inhibitory total follows E - U[15, 50] (floored at 0) over 20 synapses: similar.
    assert 1.5 < exc_hz < 5.0, exc_hz
    assert 1.0 < inh_hz < 6.0, inh_hz


def test_bad_input_statistics_are_named() -> None:
    with pytest.raises(InputError, match="exc_per_100ms"):
        InputStatistics(exc_per_100ms=(5.0, 1.0))
    with pytest.raises(InputError, match="Unknown input statistics"):
        InputStatistics.from_dict({"n_excitatory": 80})


def test_brian2_if_teacher_equals_a_numpy_integrate_and_fire_neuron() -> None:
    teacher = teacher_from_dict(IF_TEACHER)
    inputs = input_block(STATS, 1500, seed=3, simulations=range(4))
    # Stronger synapses than the paper's (+-4 mV) so that 6 s of input hold many spikes.
    strong = replace(teacher, exc_weight=4 * mV, inh_weight=-4 * mV)
    spikes, soma = simulate_teacher(strong, inputs, STATS, device="numpy")
    expected_spikes, expected_v = numpy_integrate_and_fire(inputs, 4.0)
    assert spikes.sum() >= 10, "the comparison needs spikes"
    np.testing.assert_array_equal(spikes, expected_spikes)
    expected_soma = np.minimum(expected_v, -54.9)
    expected_soma[expected_spikes == 1] = -54.9
    np.testing.assert_allclose(soma, expected_soma, atol=1e-4)
    assert soma.dtype == np.float32 and spikes.dtype == np.uint8


@pytest.mark.standalone
def test_cpp_standalone_teacher_equals_the_runtime_one(tmp_path: Path) -> None:
    """The probe's data are made with cpp_standalone (one build per chunk)."""
    teacher = replace(teacher_from_dict(IF_TEACHER), exc_weight=4 * mV, inh_weight=-4 * mV)
    inputs = input_block(STATS, 800, seed=4, simulations=range(3))
    spikes, soma = simulate_teacher(
        teacher, inputs, STATS, device="cpp_standalone", directory=tmp_path / "build"
    )
    expected = simulate_teacher(teacher, inputs, STATS, device="numpy")
    assert spikes.sum() >= 3
    np.testing.assert_array_equal(spikes, expected[0])
    np.testing.assert_allclose(soma, expected[1], atol=1e-5)


def test_calibration_finds_the_gain_of_the_target_rate() -> None:
    teacher = replace(teacher_from_dict(IF_TEACHER), target_rate=5 * Hz)
    calibration = calibrate_gain(
        teacher,
        STATS,
        seed=0,
        duration_ms=2000,
        gains=tuple(np.geomspace(0.5, 4.0, 10)),
        simulations=16,
        device="numpy",
    )
    rates = np.asarray(calibration.rates_hz)
    assert np.all(np.diff(rates) >= 0), rates  # more drive, more spikes
    hi = int(np.nonzero(rates >= 5.0)[0][0])
    assert calibration.gains[hi - 1] < calibration.gain <= calibration.gains[hi]
    # The chosen gain fires near the target on other inputs too (rates vary a lot from one
    # simulation to the next: each draws its own rate levels).
    inputs = input_block(STATS, 2000, seed=11, simulations=range(16))
    spikes, _ = simulate_teacher(teacher.with_gain(calibration.gain), inputs, STATS, device="numpy")
    assert 3.0 < spikes.mean() * 1000.0 < 8.0


def test_a_target_rate_out_of_reach_is_named() -> None:
    teacher = replace(teacher_from_dict(IF_TEACHER), target_rate=900 * Hz)
    with pytest.raises(InputError, match="does not bracket the target 900 Hz"):
        calibrate_gain(teacher, STATS, seed=0, duration_ms=300, gains=(1.0, 2.0), device="numpy")


def test_bad_teachers_are_named() -> None:
    with pytest.raises(InputError, match="dt must divide 1 ms"):
        teacher_from_dict({**IF_TEACHER, "dt": "0.3 ms"})
    with pytest.raises(InputError, match="a current synapse needs tau_exc"):
        teacher_from_dict({**IF_TEACHER, "synapse": "current"})
    with pytest.raises(InputError, match="unknown keys"):
        teacher_from_dict({**IF_TEACHER, "weight": "2 mV"})
    with pytest.raises(InputError, match="missing target"):
        teacher_from_dict({k: v for k, v in IF_TEACHER.items() if k != "target"})
    with pytest.raises(InputError, match="same unit"):
        Teacher("x", "lif", 1 * ms, "delta", "v", 2 * mV, -2 * Hz)


def test_data_folder_is_chunked_resumable_and_guarded(tmp_path: Path) -> None:
    teacher = teacher_from_dict(IF_TEACHER)
    spec = DataSpec(STATS, duration_ms=400, seed=5, chunk=2, simulations=5)  # chunks 2, 2, 1
    assert generate(tmp_path, spec, teacher, device="numpy")["chunks_made"] == 3
    data = load(tmp_path, spec, "if", range(1, 4))
    np.testing.assert_array_equal(data.inputs, input_block(STATS, 400, 5, range(1, 4)))
    spikes, soma = simulate_teacher(teacher, data.inputs, STATS, device="numpy")
    np.testing.assert_array_equal(data.spikes, spikes)
    np.testing.assert_array_equal(data.soma, soma)
    # Resuming makes only what is missing.
    (tmp_path / "if" / "chunk_0001.npz").unlink()
    assert generate(tmp_path, spec, teacher, device="numpy")["chunks_made"] == 1
    np.testing.assert_array_equal(load(tmp_path, spec, "if", range(1, 4)).spikes, spikes)
    assert generate(tmp_path, spec, teacher, device="numpy")["chunks_made"] == 0
    # Another study's or another teacher's data is refused, never overwritten.
    manifest = (tmp_path / "manifest.json").read_text()
    with pytest.raises(InputError, match=r"other settings \(seed differ"):
        generate(tmp_path, replace(spec, seed=6), teacher, device="numpy")
    with pytest.raises(InputError, match=r"another teacher 'if' \(gain differ"):
        generate(tmp_path, spec, teacher.with_gain(2.0), device="numpy")
    assert (tmp_path / "manifest.json").read_text() == manifest
    assert json.loads((tmp_path / "if" / "teacher.json").read_text())["gain"] == 1.0
    with pytest.raises(InputError, match="missing"):
        load(tmp_path, spec, "hh", range(2))


def test_current_synapses_parse_after_a_model_registered_its_unit() -> None:
    """Loading hh registers ``amp/meter**2``, which Brian2 then names ``amp / (meter ** 2)``:
    the synapse's weight unit must still parse (the s-LIF2HH teacher after the HH one)."""
    import spikebridge as sb
    from spikebridge.brian.network import unit_text

    sb.load_model("hh")
    teacher = teacher_from_dict(
        {
            **IF_TEACHER,
            "name": "s-lif2hh",
            "model": "s_lif2hh",
            "synapse": "current",
            "target": "I",
            "exc_weight": "5 uA/cm**2",
            "inh_weight": "-5 uA/cm**2",
            "tau_exc": "3 ms",
            "tau_inh": "8 ms",
            "parameters": {},
            "initial": {},
            "soma": "u_4",
            "soma_ceiling": "70 mV",
        }
    )
    assert "(" not in unit_text(teacher.exc_weight.dim)
    inputs = input_block(STATS, 300, seed=1, simulations=range(2))
    spikes, soma = simulate_teacher(teacher, inputs, STATS, device="numpy")
    assert spikes.shape == soma.shape == (2, 300)


def test_conductance_synapses_reach_both_conductances() -> None:
    """A conductance teacher (lif_coba): excitatory spikes add to g_e, inhibitory ones to
    g_i; stronger inhibition means fewer output spikes, none without excitation."""
    base = {
        "name": "coba",
        "model": "lif_coba",
        "dt": "0.1 ms",
        "synapse": "conductance",
        "target": "g_e",
        "target_inh": "g_i",
        "exc_weight": "8 nS",
        "inh_weight": "0 nS",
        "soma": "v",
    }
    with pytest.raises(InputError, match="needs target_inh"):
        teacher_from_dict({k: v for k, v in base.items() if k != "target_inh"})
    inputs = input_block(STATS, 600, seed=2, simulations=range(3))
    rates = {}
    for inh in ("0 nS", "40 nS"):
        spikes, _ = simulate_teacher(
            teacher_from_dict({**base, "inh_weight": inh}), inputs, STATS, device="numpy"
        )
        rates[inh] = int(spikes.sum())
    silent, _ = simulate_teacher(
        teacher_from_dict({**base, "exc_weight": "0 nS", "inh_weight": "40 nS"}),
        inputs,
        STATS,
        device="numpy",
    )
    assert rates["0 nS"] > rates["40 nS"], rates
    assert rates["0 nS"] >= 5 and silent.sum() == 0
