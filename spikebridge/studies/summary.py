"""Summaries of the equivalence study: metrics per waveform, engine agreement, f-I curves.

Everything here reads the spike trains the study's stages produced (times in ms) and
computes the published numbers; nothing is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .metrics import (
    coincidence_factor,
    isi_difference,
    normalised_spike_time_error,
    spike_count_relative_error,
    van_rossum_distance,
)

#: Spike-count mean relative errors of s-LIF2HH vs HH reported for the paper (press summary).
PAPER_MRE = {"square": 0.033, "sine": 0.073, "triangle": 0.058, "sawtooth": 0.087}
MODELS = ("fitted", "fitted_shared", "paper_constants", "lif")


@dataclass(frozen=True)
class Condition:
    waveform: str
    level: float
    split: str  # "train" or "test"


def chain_metrics(
    reference: list[np.ndarray], trains: list[np.ndarray], duration: float
) -> dict[str, float | None]:
    """The study's metrics of ``trains`` against ``reference`` (ms), averaged over pairs."""
    pairs = list(zip(reference, trains, strict=True))
    return {
        "spike_count_mre": float(np.nanmean([spike_count_relative_error(r, m) for r, m in pairs])),
        "coincidence_factor": float(
            np.nanmean([coincidence_factor(r, m, duration) for r, m in pairs])
        ),
        "van_rossum": float(np.mean([van_rossum_distance(r, m) for r, m in pairs])),
        "normalised_spike_time_error": _nanmean(
            [normalised_spike_time_error(r, m) for r, m in pairs]
        ),
        "isi_difference_ms": _nanmean([isi_difference(r, m) for r, m in pairs]),
        "equal_count_fraction": float(np.mean([len(r) == len(m) for r, m in pairs])),
    }


def _nanmean(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def summarise(
    settings: dict[str, Any],
    conds: list[Condition],
    hh: dict[str, Any],
    torch_hh: dict[str, Any],
    evaluation: dict[str, Any],
    torch_evaluation: dict[str, Any],
    fits: dict[str, Any],
) -> dict[str, Any]:
    duration = settings["duration_ms"]
    waveforms: dict[str, Any] = {}
    single: dict[str, Any] = {}
    for w in settings["waveforms"]:
        test = [i for i, c in enumerate(conds) if c.waveform == w and c.split == "test"]
        train = [i for i, c in enumerate(conds) if c.waveform == w and c.split == "train"]
        entry: dict[str, Any] = {"levels": [conds[i].level for i in test]}
        layer_metrics = {}
        for layer, target in (("layer2", entry), ("layer1", single.setdefault(w, {}))):
            reference = [np.asarray(hh[layer][i]) for i in test]
            by_model = {
                model: chain_metrics(
                    reference, [np.asarray(evaluation[model][layer][i]) for i in test], duration
                )
                for model in MODELS
            }
            for metric in next(iter(by_model.values())):
                target[metric] = {model: by_model[model][metric] for model in MODELS}
            target["hh_counts"] = [len(hh[layer][i]) for i in test]
            target["counts"] = {
                model: [len(evaluation[model][layer][i]) for i in test] for model in MODELS
            }
            layer_metrics[layer] = by_model
        entry["example_trains"] = {
            "hh": [hh["layer2"][i] for i in test],
            **{model: [evaluation[model]["layer2"][i] for i in test] for model in MODELS},
        }
        train_reference = [np.asarray(hh["layer2"][i]) for i in train]
        entry["spike_count_mre_train"] = {
            model: chain_metrics(
                train_reference,
                [np.asarray(evaluation[model]["layer2"][i]) for i in train],
                duration,
            )["spike_count_mre"]
            for model in MODELS
        }
        indices = [i for i, c in enumerate(conds) if c.waveform == w]
        entry["tv_lif2hh_max_dv"] = max(hh["tv_lif2hh_max_dv_mV"][i] for i in indices)
        entry["tv_lif2hh_spikes_equal"] = all(hh["tv_lif2hh_spikes_equal"][i] for i in indices)
        if w in PAPER_MRE:
            entry["paper_reported_mre"] = PAPER_MRE[w]
        waveforms[w] = entry
    agreement = _engine_agreement(conds, hh, torch_hh, evaluation, torch_evaluation)
    return {
        "study": "equivalence",
        "settings": settings,
        "protocol": {
            "conditions": "each waveform at amplitude levels (its paper form times the level)",
            "train_levels": list(settings["train_levels"]),
            "held_out_levels": list(settings["test_levels"]),
            "metrics_on": "held-out levels; layer 2 of the two-layer chain (the paper's output) "
            "in 'waveforms', layer 1 (single units) in 'single_neuron'",
            "mre": "mean over held-out levels of |N - N_HH| / N_HH (a fraction)",
            "coincidence_window_ms": 2.0,
            "van_rossum_tau_ms": 5.0,
        },
        "waveforms": waveforms,
        "single_neuron": single,
        "engines": agreement,
        "f_i": _f_i(conds, hh, evaluation),
        "example_traces": hh["example_v_mV"],
        "fits": fits,
    }


def _engine_agreement(
    conds: list[Condition],
    hh: dict[str, Any],
    torch_hh: dict[str, Any],
    evaluation: dict[str, Any],
    torch_evaluation: dict[str, Any],
) -> dict[str, Any]:
    chosen = torch_hh["conditions"]
    hh_equal = [
        np.allclose(hh[layer][i], torch_hh[layer][k], atol=1e-9)
        for layer in ("layer1", "layer2")
        for k, i in enumerate(chosen)
    ]
    unit_equal = [
        evaluation[model][layer][i] == torch_evaluation[model][layer][i]
        for model in MODELS
        for layer in ("layer1", "layer2")
        for i in range(len(conds))
    ]
    return {
        "hh_chain_conditions_compared": len(chosen),
        "hh_chain_spike_times_equal": float(np.mean(hh_equal)),
        "units_and_lif_spike_times_equal": float(np.mean(unit_equal)),
    }


def _f_i(conds: list[Condition], hh: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """Spike counts under the constant waveform at every level (single units, layer 1)."""
    indices = sorted(
        (i for i, c in enumerate(conds) if c.waveform == "constant"), key=lambda i: conds[i].level
    )
    return {
        "current_uA_per_cm2": [9.0 * conds[i].level for i in indices],
        "hh": [len(hh["layer1"][i]) for i in indices],
        **{model: [len(evaluation[model]["layer1"][i]) for i in indices] for model in MODELS},
    }
