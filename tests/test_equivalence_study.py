"""The equivalence study end to end at a tiny size: stages, results, report, resume, fit file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import spikebridge as sb
from spikebridge.report.equivalence import write_equivalence_report
from spikebridge.studies.chains import (
    DENSITY,
    PAPER_W,
    TORCH,
    Engine,
    hh_chain,
    spike_times,
    unit_chain,
)
from spikebridge.studies.equivalence import Settings, run_study
from spikebridge.studies.fitting import load_fit
from spikebridge.studies.waveforms import bin_means, waveform

TINY = {
    "train_levels": (1.0, 1.6),
    "test_levels": (1.3,),
    "popsize": 5,
    "maxiter": 2,
    "torch_hh_levels": (1.3,),
    "duration_ms": 20.0,
    "waveforms": ("constant", "square"),
    "novel_seeds": (1,),
}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("equivalence")
    results = run_study(out, Settings(**TINY, engine="torch", device="cpu"))
    return out, results


def test_results_have_the_documented_shape(study: tuple[Path, dict]) -> None:
    _, results = study
    for name in ("constant", "square"):
        entry = results["waveforms"][name]
        assert set(entry["spike_count_mre"]) == {
            "fitted",
            "fitted_shared",
            "paper_constants",
            "lif",
        }
        assert all(v >= 0 for v in entry["spike_count_mre"].values())
        assert set(entry["coincidence_factor"]) == set(entry["spike_count_mre"])
        assert entry["tv_lif2hh_max_dv"] < 1e-6 and entry["tv_lif2hh_spikes_equal"]
        assert entry["levels"] == [1.3] and len(entry["hh_counts"]) == 1
    assert results["engines"]["units_and_lif_spike_times_equal"] == 1.0
    novel = results["generalisation"]  # inputs no fit has seen
    assert set(novel) == {"ou_tau_2ms", "ou_tau_10ms", "chirp_small", "chirp_large"}
    for entry in novel.values():
        assert entry["conditions"] == 1
        for layer in ("layer1", "layer2"):
            assert set(entry[layer]) == {
                "hh_counts",
                "fitted_shared",
                "paper_constants",
                "lif_shared",
            }
            for chain in ("fitted_shared", "paper_constants", "lif_shared"):
                metrics = entry[layer][chain]
                assert len(metrics["counts"]) == 1 and metrics["van_rossum"] >= 0
    assert sum(sum(e["layer1"]["hh_counts"]) for e in novel.values()) > 0  # HH is driven
    assert "shared" in results["fits"]["lif"]


def test_report_and_fit_file(study: tuple[Path, dict]) -> None:
    out, results = study
    report = write_equivalence_report(out, results)
    text = report.read_text()
    assert "Spike-count mean relative error" in text and "| square |" in text
    assert "## Generalisation: inputs no fit has seen" in text and "| chirp_large |" in text
    for figure in ("traces", "rasters", "f_i", "errors", "generalisation"):
        assert (out / "figures" / f"{figure}.png").stat().st_size > 1000
    params, w = load_fit(out / "fitted_parameters.json", key="square")
    assert set(params) >= {"decay", "v_th", "R_in", "w_4", "I_0", "u_reset"} and w > 0
    result = sb.simulate("s_lif2hh", engine="torch", n_steps=20, parameters=params)
    assert result.n_steps == 20
    with pytest.raises(KeyError, match="has no fit for s_lif2hh/sine"):
        load_fit(out / "fitted_parameters.json", key="sine")


def test_a_second_run_resumes_from_the_cache(study: tuple[Path, dict]) -> None:
    out, results = study
    again = run_study(out, Settings(**TINY, engine="torch", device="cpu"))
    assert set(again["cached_stages"]) >= {
        "hh",
        "fits",
        "evaluation_torch",
        "generalisation_torch",
    }
    assert again["waveforms"] == json.loads(json.dumps(results["waveforms"]))


def test_paper_chain_reproduces_the_published_repo_counts() -> None:
    """The paper's defaults (level 1): HH 5/8/7/5/6 spikes, s-LIF2HH 5/8/6/4/14 (digest 2.3)."""
    names = ("constant", "sine", "square", "triangle", "sawtooth")
    t = np.arange(80000) * 0.001
    x = np.stack([waveform(name, t) for name in names], axis=1)
    units = unit_chain(bin_means(x.T, 1000).T, {}, PAPER_W, TORCH)
    assert [len(s) for s in units.layer2] == [5, 8, 6, 4, 14]
    hh = hh_chain(x, Engine("brian2", "cpp_standalone"))
    assert [len(s) for s in hh.layer1] == [len(s) for s in hh.layer2] == [5, 8, 7, 5, 6]


def test_spike_times_are_per_neuron_and_in_time_order() -> None:
    x = np.linspace(6.0, 30.0, 7)[None, :].repeat(40, axis=0)
    x[:, 0] = 0.0  # a silent neuron
    result = TORCH.run("s_lif2hh", n_steps=40, n=7, inputs={"I": x * DENSITY}, record=())
    trains = spike_times(result)
    rows = result.spikes["spike"]
    assert len(trains) == 7 and len(trains[0]) == 0 and len(rows) > 7
    for j, train in enumerate(trains):
        assert np.array_equal(train, np.sort(rows[rows[:, 1] == j, 0]) * result.dt * 1e3)
