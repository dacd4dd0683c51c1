"""Generalisation of the equivalence study: the fitted chains on inputs they were never fitted on.

The paper fits s-LIF2HH to HH on its five waveforms; the question a user asks next is
whether the fitted unit is HH-like beyond them. This stage drives the same two-layer chains
(:mod:`.chains`) with input families the fits never see (:data:`FAMILIES`):

* Ornstein-Uhlenbeck noise currents at two correlation times (2 ms: fluctuations within
  the s-LIF2HH unit's 1-ms input bins; 10 ms: slower than a spike), seeded;
* linear chirps (sine sweeps from 5 to 150 Hz), at two amplitudes.

HH (the reference chain, rest-0 HH at the study's HH step) runs on the inputs at full
resolution; the s-LIF2HH chains (the shared fit over all waveforms, and the paper's
constants) and the LIF chain (its shared fit) on their 1-ms bin means, as in the study. The
same metrics as the held-out waveforms (:mod:`.summary`) are computed per family, on layer 2
(the chain's output) and layer 1 (single units). Only fits made for all waveforms at once
take part: a per-waveform fit has no waveform to be chosen by here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .chains import PAPER_W, ChainResult, Engine, hh_chain, lif_chain, unit_chain
from .fitting import as_quantities, paper_value, with_units
from .input_families import InputFamily
from .waveforms import bin_means

#: name -> the family (values in uA/cm2, times in ms, frequencies in Hz), centred at 12
#: uA/cm2: inside the levels of the paper's constant waveform (9 uA/cm2 x 0.8-2.0).
FAMILIES: dict[str, InputFamily] = {
    "ou_tau_2ms": InputFamily("ou", {"mean": 12.0, "sigma": 4.0, "tau": 2.0}),
    "ou_tau_10ms": InputFamily("ou", {"mean": 12.0, "sigma": 4.0, "tau": 10.0}),
    "chirp_small": InputFamily("chirp", {"offset": 12.0, "amplitude": 4.0, "f0": 5.0, "f1": 150.0}),
    "chirp_large": InputFamily("chirp", {"offset": 12.0, "amplitude": 9.0, "f0": 5.0, "f1": 150.0}),
}
#: The chains evaluated: the key in the study's evaluation, the fitted parameter set.
CHAINS = ("fitted_shared", "paper_constants", "lif_shared")


@dataclass(frozen=True)
class NovelCondition:
    family: str
    seed: int


def novel_conditions(seeds: tuple[int, ...]) -> list[NovelCondition]:
    """Every noise family at every seed; every deterministic family once."""
    return [
        NovelCondition(name, seed)
        for name, family in FAMILIES.items()
        for seed in (seeds if family.kind == "ou" else seeds[:1])
    ]


def novel_inputs(
    conds: list[NovelCondition], duration_ms: float, hh_dt_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """HH-resolution currents ``(steps, C)`` and their 1-ms bin means, uA/cm2 (Brian2's
    start-of-step sampling, as the study's waveforms)."""
    steps = round(duration_ms / hh_dt_ms)
    x = np.stack([FAMILIES[c.family].currents(steps, hh_dt_ms, seed=c.seed) for c in conds], axis=1)
    return x, bin_means(x.T, round(1.0 / hh_dt_ms)).T


def _trains(result: ChainResult) -> dict[str, list[list[float]]]:
    return {
        "layer1": [t.tolist() for t in result.layer1],
        "layer2": [t.tolist() for t in result.layer2],
    }


def run_generalisation(
    fits: dict[str, Any],
    seeds: tuple[int, ...],
    duration_ms: float,
    hh_dt_ms: float,
    engine: Engine,
) -> dict[str, Any]:
    """Spike trains of the HH chain and of every chain of :data:`CHAINS` on the novel inputs."""
    conds = novel_conditions(seeds)
    x, x_bins = novel_inputs(conds, duration_ms, hh_dt_ms)
    n = len(conds)
    shared, shared_w = as_quantities("s_lif2hh", fits["s_lif2hh"]["shared"]["values"])
    names = list(shared)
    units = {
        name: np.concatenate(
            [np.full(n, float(np.asarray(shared[name]))), np.full(n, float(paper_value(name)))]
        )
        for name in names
    }
    weights = np.concatenate([np.full(n, shared_w), np.full(n, PAPER_W)])
    unit = unit_chain(np.tile(x_bins, (1, 2)), with_units("s_lif2hh", units), weights, engine)
    lif, lif_w = as_quantities("lif", fits["lif"]["shared"]["values"])
    lif_values = {k: np.full(n, float(np.asarray(v))) for k, v in lif.items()}
    lif_result = lif_chain(x_bins, with_units("lif", lif_values), lif_w, engine)
    hh = hh_chain(x, engine, hh_dt_ms)
    first, second = slice(0, n), slice(n, 2 * n)
    return {
        "conditions": [{"family": c.family, "seed": c.seed} for c in conds],
        "families": {name: {"kind": f.kind, **dict(f.params)} for name, f in FAMILIES.items()},
        "hh": _trains(hh),
        "fitted_shared": {
            "layer1": [t.tolist() for t in unit.layer1[first]],
            "layer2": [t.tolist() for t in unit.layer2[first]],
        },
        "paper_constants": {
            "layer1": [t.tolist() for t in unit.layer1[second]],
            "layer2": [t.tolist() for t in unit.layer2[second]],
        },
        "lif_shared": _trains(lif_result),
    }


def summarise_generalisation(stage: dict[str, Any], duration_ms: float) -> dict[str, Any]:
    """Per family and chain, the study's metrics (:func:`.summary.chain_metrics`) on layer 2
    (the chain's output) and layer 1 (single units), with the HH and model spike counts."""
    from .summary import chain_metrics

    conds = stage["conditions"]
    table: dict[str, Any] = {}
    for family in FAMILIES:
        chosen = [i for i, c in enumerate(conds) if c["family"] == family]
        entry: dict[str, Any] = {"conditions": len(chosen), **stage["families"][family]}
        for layer in ("layer2", "layer1"):
            reference = [np.asarray(stage["hh"][layer][i]) for i in chosen]
            entry[layer] = {
                "hh_counts": [len(r) for r in reference],
                **{
                    chain: {
                        **chain_metrics(
                            reference,
                            [np.asarray(stage[chain][layer][i]) for i in chosen],
                            duration_ms,
                        ),
                        "counts": [len(stage[chain][layer][i]) for i in chosen],
                    }
                    for chain in CHAINS
                },
            }
        table[family] = entry
    return table
