# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. HH, tv-LIF2HH, s-LIF2HH and LIF under the paper's waveforms
#
# The paper builds Hodgkin-Huxley (HH) behaviour out of LIF neurons in two ways: tv-LIF2HH
# (four LIF neurons whose time constants and gains change in time) reproduces HH's voltage,
# and s-LIF2HH (four LIF neurons with constant parameters, stepped at 1 ms) approximates its
# spike trains. This tutorial runs the equivalence study one step at a time with the study's
# own functions (`spikebridge.studies`):
#
# 1. the five input waveforms of the paper at a few amplitude *levels*;
# 2. the paper's two-layer HH chain and tv-LIF2HH beside it (Brian2, `cpp_standalone`);
# 3. fitting the s-LIF2HH unit and a LIF baseline on some levels (torch engine), saving and
#    loading the fitted parameters;
# 4. judging them on held-out levels against HH: spike-count relative error, coincidence
#    factor and van Rossum distance, next to the paper's own s-LIF2HH constants.
#
# The whole study, with more levels, a fit shared by all waveforms, every chain re-run on
# both engines, a report and figures, is one command:
#
# ```bash
# spikebridge study equivalence --quick   # without --quick: more levels, a larger budget
# ```
#
# Run time: 1 to 2 minutes at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 3 training and
# 2 held-out levels per waveform, a tiny optimiser budget): 62 s and 107 s measured in two runs,
# executed as a notebook on a 2-core machine shared with other jobs (load average 3 to 7).
# About 3.5 minutes at full size (the levels and optimiser budget of `spikebridge study
# equivalence --quick`, plus a Brian2 re-run of the fitted chains): 206 s measured on the same
# machine (load average about 12). Most of the time is Brian2 compiling the three C++ projects
# of the HH chain and tv-LIF2HH, and it grows with the machine's load.

# %%
import dataclasses
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import spikebridge as sb
from spikebridge.studies.chains import (
    PAPER_W,
    TORCH,
    Engine,
    hh_chain,
    lif_chain,
    spike_times,
    tv_lif2hh_rest0,
    unit_chain,
)
from spikebridge.studies.equivalence import Settings, conditions, inputs, with_units
from spikebridge.studies.fitting import UNIT_SPACE, fit, load_fit, save_fit
from spikebridge.studies.metrics import (
    coincidence_factor,
    spike_count_relative_error,
    van_rossum_distance,
)
from spikebridge.studies.waveforms import PAPER, WAVEFORMS

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
sns.set_theme(context="notebook", style="whitegrid")
out = Path(tempfile.mkdtemp(prefix="spikebridge_tutorial2_"))

# The study's settings: full size = `spikebridge study equivalence --quick`.
settings = Settings.quick()
if SMALL:
    settings = dataclasses.replace(
        settings, train_levels=(0.8, 1.4, 2.0), test_levels=(1.0, 1.7), popsize=5, maxiter=10
    )
BRIAN2 = Engine("brian2", "cpp_standalone")
settings

# %% [markdown]
# ## 1. The paper's waveforms at amplitude levels
#
# Each waveform is the paper's (`simplified_simulation/main.m`) with its offset, amplitude
# and period; a *level* scales the whole waveform. The study fits on the training levels and
# judges on the held-out levels, so a fitted model has to generalise across amplitudes.
# HH runs at its own step (0.001 ms); the s-LIF2HH unit steps at 1 ms and receives each
# millisecond's mean input (`x_bins`), as in the paper.

# %%
conds = conditions(settings)
x, x_bins = inputs(settings, conds)
print(f"{len(conds)} conditions; HH input {x.shape} (steps, conditions), 1-ms bins {x_bins.shape}")
pd.DataFrame(
    [
        {"waveform": w, "offset, amplitude, period (paper)": PAPER[w]}
        | {
            split: [c.level for c in conds if c.waveform == w and c.split == split]
            for split in ("train", "test")
        }
        for w in WAVEFORMS
    ]
).set_index("waveform")

# %% [markdown]
# ## 2. The HH chain and tv-LIF2HH (Brian2, generated C++)
#
# `hh_chain` runs the paper's two-layer chain: HH1 receives the waveform, HH2 receives
# 100 µA/cm² during every step in which V_HH1 > 70 mV. `tv_lif2hh_rest0` runs tv-LIF2HH with
# HH's constants and initial state under the same input. One Brian2 simulation holds every
# condition (one neuron per condition).

# %%
hh = hh_chain(x, BRIAN2, settings.hh_dt_ms)
tv = tv_lif2hh_rest0(x, BRIAN2, settings.hh_dt_ms)
tv_trains = spike_times(tv)
v_hh = hh.membrane1 * 1e3  # mV, (steps, conditions)
v_tv = tv.trace("v", sb.mV)
t_ms = tv.t * 1e3

# %% [markdown]
# Input and voltage for each waveform at level 1 (a held-out level): HH1 in colour,
# tv-LIF2HH dashed on top of it (every 20th sample is drawn).

# %%
example = {
    w: min(
        (i for i, c in enumerate(conds) if c.waveform == w), key=lambda i: abs(conds[i].level - 1)
    )
    for w in WAVEFORMS
}
fig, axes = plt.subplots(2, len(WAVEFORMS), figsize=(15, 5), sharex=True, sharey="row")
colours = sns.color_palette("deep", len(WAVEFORMS))
for column, (w, i) in enumerate(example.items()):
    axes[0, column].plot(t_ms[::20], x[::20, i], color=colours[column])
    axes[0, column].set_title(f"{w} (level {conds[i].level:g})")
    axes[1, column].plot(t_ms[::20], v_hh[::20, i], color=colours[column], lw=1.5, label="HH")
    axes[1, column].plot(t_ms[::20], v_tv[::20, i], "k--", lw=0.7, label="tv-LIF2HH")
    axes[1, column].set_xlabel("time (ms)")
axes[0, 0].set_ylabel("input (µA/cm²)")
axes[1, 0].set_ylabel("V (mV)")
axes[1, 0].legend(fontsize=8, loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# tv-LIF2HH against HH1, condition by condition: spike times and the largest voltage
# difference over the whole run. Under forward Euler tv-LIF2HH's update equals HH's update,
# so any difference is floating-point rounding. The last two columns are the chain: HH2's
# spike count, driven by HH1's spikes.

# %%
identity = pd.DataFrame(
    {
        "waveform": [c.waveform for c in conds],
        "level": [c.level for c in conds],
        "HH1 spikes": [len(t) for t in hh.layer1],
        "tv-LIF2HH spikes": [len(t) for t in tv_trains],
        "spike times equal": [
            np.array_equal(a, b) for a, b in zip(hh.layer1, tv_trains, strict=True)
        ],
        "max |V_tv - V_HH| (mV)": np.abs(v_tv - v_hh).max(axis=0),
        "HH2 spikes": [len(t) for t in hh.layer2],
    }
)
print(
    f"spike times equal in {identity['spike times equal'].sum()} of {len(identity)} conditions; "
    f"largest |V_tv - V_HH| = {identity['max |V_tv - V_HH| (mV)'].max():.2e} mV "
    f"(V range {np.ptp(v_hh):.1f} mV)"
)
assert identity["spike times equal"].all()
identity.style.format({"max |V_tv - V_HH| (mV)": "{:.1e}"})

# %% [markdown]
# ## 3. Fitting the s-LIF2HH unit and the LIF baseline
#
# The paper's s-LIF2HH constants (the defaults of `equations/s_lif2hh.py`, in the table
# below) match HH only near one input, as that file's docstring says. `fit` searches the
# unit's free parameters with scipy's differential evolution on the *training* levels of one
# waveform. Its loss compares both layers of the model's two-layer chain with HH1 and HH2
# (spike-count error plus a small timing term); every candidate set is one neuron of one
# batched torch simulation. The LIF baseline (time constant, resistance, rest, threshold, W)
# is fitted the same way.

# %%
fits = {"s_lif2hh": {}, "lif": {}}
for w in WAVEFORMS:
    train = [i for i, c in enumerate(conds) if c.waveform == w and c.split == "train"]
    for model in fits:
        fits[model][w] = fit(
            model,
            x_bins[:, train],
            [hh.layer1[i] for i in train],
            [hh.layer2[i] for i in train],
            duration=settings.duration_ms,
            popsize=settings.popsize,
            maxiter=settings.maxiter,
            seed=settings.seed,
        )
pd.DataFrame.from_dict(
    {
        (model, w): {"loss": r.loss, "generations": r.generations, "evaluations": r.evaluations}
        for model, by_waveform in fits.items()
        for w, r in by_waveform.items()
    },
    orient="index",
)

# %% [markdown]
# The fitted values go to a JSON file (SI values, with the protocol that produced them);
# `load_fit` reads a set back as Brian2 quantities, ready for `parameters=` of any
# simulation, plus the chain weight W. The evaluation below uses the loaded values.

# %%
path = out / "fitted_parameters.json"
protocol = {
    "train_levels": list(settings.train_levels),
    "test_levels": list(settings.test_levels),
    "optimiser": f"differential_evolution(popsize={settings.popsize}, maxiter={settings.maxiter})",
}
save_fit(path, fits, protocol)
print(json.dumps(json.loads(path.read_text())["models"]["s_lif2hh"]["sine"], indent=1))
params, w = load_fit(path, "s_lif2hh", "sine")
print("load_fit:", params, "W =", w)

# %% [markdown]
# The s-LIF2HH unit's parameters: the paper's constants next to the fitted ones, per waveform.

# %%
unit = sb.load_model("s_lif2hh")
paper = {p.name: float(np.asarray(unit.parameters[p.name] / p.unit)) for p in UNIT_SPACE[:-1]}
paper["W"] = PAPER_W
table = {"paper": paper}
for w in WAVEFORMS:
    loaded, weight = load_fit(path, "s_lif2hh", w)
    table[w] = {p.name: float(np.asarray(loaded[p.name] / p.unit)) for p in UNIT_SPACE[:-1]}
    table[w]["W"] = weight
units = {p.name: str(p.unit) if hasattr(p.unit, "dim") else "1" for p in UNIT_SPACE}
pd.DataFrame(table).rename(index=lambda name: f"{name} ({units[name]})").style.format("{:.4g}")

# %% [markdown]
# ## 4. Held-out levels: the fitted unit, the paper's constants and the LIF baseline
#
# Each model's two-layer chain runs on the held-out levels (torch engine: these chains have
# 80 steps of 1 ms). The paper's constants are the model file's defaults.

# %%
test = {
    w: [i for i, c in enumerate(conds) if c.waveform == w and c.split == "test"] for w in WAVEFORMS
}
chains = {}
for w, chosen in test.items():
    unit_params, unit_w = load_fit(path, "s_lif2hh", w)
    lif_params, lif_w = load_fit(path, "lif", w)
    chains["s-LIF2HH fitted", w] = unit_chain(x_bins[:, chosen], unit_params, unit_w, TORCH)
    chains["s-LIF2HH paper", w] = unit_chain(x_bins[:, chosen], {}, PAPER_W, TORCH)
    chains["LIF fitted", w] = lif_chain(x_bins[:, chosen], lif_params, lif_w, TORCH)

# %% [markdown]
# At full size, the fitted s-LIF2HH chains run again on Brian2 (`cpp_standalone`), all
# held-out conditions in one simulation with per-neuron parameters, to check that the torch
# engine used for fitting gives the spike times Brian2 gives. (The small size skips this
# cell: each Brian2 run compiles a C++ project, and the study does the same comparison for
# every chain.)

# %%
if SMALL:
    print("small size: the Brian2 re-run of the fitted chains is skipped")
else:
    order = [i for chosen in test.values() for i in chosen]
    loaded = [load_fit(path, "s_lif2hh", conds[i].waveform) for i in order]
    si = {name: np.array([float(np.asarray(p[name])) for p, _ in loaded]) for name in loaded[0][0]}
    per_neuron = with_units("s_lif2hh", si)
    weights = np.array([weight for _, weight in loaded])
    on_brian2 = unit_chain(x_bins[:, order], per_neuron, weights, BRIAN2)
    on_torch = unit_chain(x_bins[:, order], per_neuron, weights, TORCH)
    equal = [
        np.array_equal(a, b)
        for layer in ("layer1", "layer2")
        for a, b in zip(getattr(on_brian2, layer), getattr(on_torch, layer), strict=True)
    ]
    print(f"Brian2 and torch spike times equal in {sum(equal)} of {len(equal)} trains")
    assert all(equal)

# %% [markdown]
# The metrics (`spikebridge.studies.metrics`), per held-out condition, for layer 1 (the unit
# alone against HH1) and layer 2 (the chain's output against HH2, the paper's comparison):
#
# * spike-count relative error |N − N_HH| / N_HH;
# * Kistler's coincidence factor (±2 ms): 1 for identical trains, about 0 for chance;
# * van Rossum distance (τ = 5 ms): 0 for identical trains.

# %%
rows = []
for (model, w), result in chains.items():
    for k, i in enumerate(test[w]):
        for layer, reference in (("layer 1", hh.layer1[i]), ("layer 2", hh.layer2[i])):
            train = (result.layer1 if layer == "layer 1" else result.layer2)[k]
            rows.append(
                {
                    "model": model,
                    "waveform": w,
                    "level": conds[i].level,
                    "layer": layer,
                    "spikes": len(train),
                    "HH spikes": len(reference),
                    "spike-count rel. error": spike_count_relative_error(reference, train),
                    "coincidence factor": coincidence_factor(
                        reference, train, settings.duration_ms
                    ),
                    "van Rossum": van_rossum_distance(reference, train),
                }
            )
metrics = pd.DataFrame(rows)
metric_names = ["spike-count rel. error", "coincidence factor", "van Rossum"]
layer2 = metrics[metrics.layer == "layer 2"]
overall = layer2.groupby("model", sort=False)[metric_names].mean()
print("layer 2, mean over waveforms and held-out levels:")
print(overall.round(3).to_string())
by_waveform = (
    layer2.groupby(["waveform", "model"], sort=False)[metric_names].mean().unstack("model")
)
by_waveform.style.format("{:.3f}")

# %%
long = metrics.melt(
    id_vars=["model", "waveform", "level", "layer"], value_vars=metric_names, var_name="metric"
)
grid = sns.catplot(
    data=long,
    kind="bar",
    x="waveform",
    y="value",
    hue="model",
    col="metric",
    row="layer",
    sharey=False,
    errorbar=None,
    height=3,
    aspect=1.5,
)
grid.tick_params(axis="x", rotation=30)
grid.set_titles("{row_name}: {col_name}")
grid.figure.suptitle("Held-out levels, mean over levels", y=1.02)
plt.show()

# %% [markdown]
# The chain's output spikes (layer 2) at level 1 for every waveform: HH2 against the three
# models.

# %%
spikes = []
for w in WAVEFORMS:
    k = int(np.argmin([abs(conds[i].level - 1) for i in test[w]]))
    i = test[w][k]
    spikes += [{"waveform": w, "model": "HH", "time (ms)": t} for t in hh.layer2[i]]
    for model in ("s-LIF2HH fitted", "s-LIF2HH paper", "LIF fitted"):
        spikes += [
            {"waveform": w, "model": model, "time (ms)": t} for t in chains[model, w].layer2[k]
        ]
grid = sns.catplot(
    data=pd.DataFrame(spikes),
    x="time (ms)",
    y="model",
    col="waveform",
    hue="model",
    kind="strip",
    marker="|",
    s=120,
    linewidth=1.5,
    jitter=False,
    legend=False,
    height=2.6,
    aspect=1.2,
)
grid.set(xlim=(0, settings.duration_ms))
plt.show()

# %% [markdown]
# What the small size shows depends on its tiny optimiser budget; the full size uses the
# budget of `spikebridge study equivalence --quick`, and the full study (README) uses more
# levels and a larger budget. The study also fits one s-LIF2HH parameter set for all
# waveforms, re-runs the HH chain on torch, evaluates every chain on both engines, and writes
# `results.json`, `report.md`, `fitted_parameters.json` and figures.
