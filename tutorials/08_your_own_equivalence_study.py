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
# # 8. Your own equivalence study: Izhikevich against Hodgkin-Huxley
#
# The paper asks whether a small model can stand in for Hodgkin-Huxley. spikebridge asks
# the same of *your* models: write the model as a Brian2 equation file, write the study as
# a TOML file (reference, candidates with free parameters, input families, a held-out
# split, the optimiser) and run it. Here the candidate is Izhikevich's simple model, which
# spikebridge does not ship: its model file is written below, and both engines run it
# unchanged.
#
# Run time: about a minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 100 ms
# inputs, torch as the engine, a small CMA-ES budget); several minutes at full size
# (300 ms, Brian2 `cpp_standalone` for the reference and the evaluation).

# %%
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import spikebridge as sb
from spikebridge.report.fit_study import write_fit_study_report
from spikebridge.studies.fit_study import run_fit_study
from spikebridge.studies.study_file import load_study_file

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
folder = Path(tempfile.mkdtemp(prefix="izhikevich_study_"))

# %% [markdown]
# ## The candidate: a model file
#
# Izhikevich (2003): dv/dt = 0.04 v^2 + 5 v + 140 - u + k I, du/dt = a (b v - u), with v in
# mV and t in ms; at v >= 30 mV, v <- c and u <- u + d. In Brian2's units the constants
# carry their units, the input gain `k` turns the HH current density into mV/ms, and the
# method is declared (Euler, as Izhikevich integrates it).

# %%
IZHIKEVICH = '''"""Izhikevich's simple model (2003), regular spiking by default.

::

    dv/dt = (0.04 v^2 / mV + 5 v + 140 mV - u + k I) / ms
    du/dt = a (b v - u) / ms
    spike when v >= 30 mV; then v <- c, u <- u + d
"""
from brian2 import cm, ms, mV, uamp

EQUATIONS = """
dv/dt = (0.04*v**2/mV + 5*v + 140*mV - u + k*I)/ms : volt
du/dt = a*(b*v - u)/ms : volt
I : amp/meter**2
k : volt*meter**2/amp
a : 1
b : 1
c : volt
d : volt
"""
THRESHOLD = "v >= 30*mV"
RESET = "v = c; u += d"
METHOD = "euler"
METHODS = ("euler",)
DT = 0.01 * ms
INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV
EXAMPLE_INPUT = {"I": 10 * uamp / cm**2}
PARAMETERS = {
    "I": 0 * uamp / cm**2, "k": 1 * mV / (uamp / cm**2),
    "a": 0.02, "b": 0.2, "c": -65 * mV, "d": 8 * mV,
}
INITIAL = {"v": -65 * mV, "u": -13 * mV}
'''
model_file = folder / "izhikevich.py"
model_file.write_text(IZHIKEVICH)
izhikevich = sb.load_model(model_file)
print(izhikevich)

# %% [markdown]
# The model file runs on both engines as it is; the parity check compares them step by step.

# %%
report = sb.parity(izhikevich, device="numpy")
print(
    f"Brian2 vs torch: max |dv| {report.max_abs_v:.2e} mV, spikes "
    f"{report.spikes_brian2} / {report.spikes_torch}, within tolerance: "
    f"{report.within_tolerance}"
)

# %% [markdown]
# ## The study file
#
# HH is the reference. Izhikevich's four constants and its input gain are free (the gain
# and `a` on a log scale, the reset `c` and the jump `d` in mV). The fit uses Ornstein-Uhlenbeck
# noise currents and two steps; the held-out inputs are other noise realisations and a
# chirp, a family the fit never sees.

# %%
duration = "100 ms" if SMALL else "300 ms"
engine = 'engine = "torch"' if SMALL else 'engine = "brian2"\ndevice = "cpp_standalone"'
budget = (8, 6) if SMALL else (16, 30)
study_text = f"""
[study]
name = "izhikevich-to-hh"
duration = "{duration}"
input_unit = "uA/cm**2"
sample = "start"
{engine}

[reference]
model = "hh"

[[candidates]]
name = "izhikevich"
model = "{model_file}"
free.k = {{ low = "0.2 mV/(uA/cm**2)", high = "5 mV/(uA/cm**2)", scale = "log" }}
free.a = {{ low = 0.005, high = 0.1, scale = "log" }}
free.b = {{ low = 0.1, high = 0.3 }}
free.c = {{ low = "-70 mV", high = "-45 mV" }}
free.d = {{ low = "0.5 mV", high = "10 mV" }}

[[inputs]]
family = "ou"
params = {{ mean = 8.0, sigma = 3.0, tau = 5.0 }}
seeds = [1, 2, 3]
split = "train"

[[inputs]]
family = "step"
params = {{ amplitude = 10.0, onset = 10.0 }}
levels = [0.8, 1.2]
split = "train"

[[inputs]]
family = "ou"
params = {{ mean = 8.0, sigma = 3.0, tau = 5.0 }}
seeds = [11, 12]
split = "test"

[[inputs]]
family = "chirp"
params = {{ offset = 8.0, amplitude = 4.0, f0 = 5.0, f1 = 100.0 }}
split = "test"

[optimiser]
method = "cma"
popsize = {budget[0]}
generations = {budget[1]}
"""
study_file = folder / "izhikevich_to_hh.toml"
study_file.write_text(study_text)
study = load_study_file(study_file)  # checked: units, names, the split

# %% [markdown]
# ## Run it
#
# The reference runs once; the fit evaluates each CMA-ES generation as one batched torch
# simulation (one neuron per candidate and training input); the fitted model is then
# simulated on every input by the study's engine.

# %%
out = folder / "report"
results = run_fit_study(study, out)
write_fit_study_report(out, results)
fit = results["candidates"]["izhikevich"]["fit"]
print("fitted:", fit["shown"])
print("budget:", fit["budget"])
print(json.dumps(results["candidates"]["izhikevich"]["summary"]["test"], indent=1))

# %% [markdown]
# ## Held-out inputs: counts and timing
#
# Spike-count error and gamma factor per held-out condition; the last one is the chirp.

# %%
rows = results["candidates"]["izhikevich"]["per_condition"]
test = [i for i, c in enumerate(results["conditions"]) if c["split"] == "test"]
labels = [f"{results['conditions'][i]['family']} {results['conditions'][i]['seed']}" for i in test]
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
axes[0].bar(labels, [rows[i]["spike_count_error"] for i in test])
axes[0].set(title="spike-count error", ylim=(0, None))
axes[1].bar(labels, [rows[i]["gamma_factor"] for i in test])
axes[1].set(title="gamma factor (+-2 ms)", ylim=(-0.2, 1))
fig.tight_layout()
assert np.isfinite([rows[i]["spike_count_error"] for i in test]).all()

# %% [markdown]
# The report (`report.md` and its figures) lies in the output folder; the same study runs
# from the command line with `spikebridge study equivalence --spec izhikevich_to_hh.toml`.

# %%
print((out / "report.md").read_text()[:1200])
