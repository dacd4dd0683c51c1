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
# # 5. One HH network, two engines, on a GPU
#
# The same population of Hodgkin-Huxley neurons runs on Brian2's `cuda_standalone` device
# (brian2cuda: generated C++/CUDA) and on the torch engine on a CUDA device. We check that
# the two agree spike for spike, within the project's parity tolerance, and measure how many
# neuron-steps per second each one simulates at a few network sizes.
#
# Without a GPU (CI, a laptop) the tutorial runs the same code on Brian2's `cpp_standalone`
# (generated C++ on the CPU) and on torch on the CPU, and its output says so.
#
# Run time: about 1 minute at the small size used in CI (`SPIKEBRIDGE_SMALL=1`: 100 neurons
# for 50 ms in the comparison, 100 and 1,000 neurons for 500 steps in the throughput): 62 s
# and 76 s measured in two runs without a GPU, executed as a notebook on a 2-core machine
# shared with other jobs (load average about 7). Full size (1,000 neurons for 100 ms,
# throughput at 1,000, 10,000 and 100,000 neurons for 1,000 steps): 154 s measured on the same
# CPU-only machine; not measured on a GPU. At the small size most of the time is Brian2
# compiling a C++ project for each run (the `wall (s)` column of the throughput table).

# %%
import os
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

import spikebridge as sb
from spikebridge.brian.devices import check_device
from spikebridge.parity import compare
from spikebridge.tolerances import tolerance_for

SMALL = os.environ.get("SPIKEBRIDGE_SMALL") == "1"
sns.set_theme(context="notebook", style="whitegrid")

# %% [markdown]
# ## Which devices can run here?
#
# spikebridge checks a Brian2 device before it builds anything
# (`spikebridge.brian.devices.check_device`, called by every `simulate(..., engine="brian2")`):
# for `cuda_standalone` it needs brian2cuda to be importable and the CUDA toolkit (`nvcc` on
# `PATH`, or `CUDA_PATH`), and raises `DeviceUnavailableError` naming what to install
# otherwise. It does not look for a GPU itself, so we also ask whether one is visible: to torch
# (`torch.cuda.is_available()`, which is False with a CPU build of torch such as the pinned
# environment's) or to the NVIDIA driver (`nvidia-smi -L`).
#
# The torch engine runs on any torch device: `cuda` where torch sees a GPU, else `cpu`.


# %%
def gpu_visible() -> bool:
    """A CUDA GPU is visible to torch or to the NVIDIA driver."""
    if torch.cuda.is_available():
        return True
    if shutil.which("nvidia-smi") is None:
        return False
    listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return listing.returncode == 0 and "GPU" in listing.stdout


def brian2_device() -> tuple[str, str]:
    """The Brian2 device to use and why."""
    try:
        check_device("cuda_standalone")
    except sb.DeviceUnavailableError as error:
        return "cpp_standalone", f"cuda_standalone is unavailable: {error}"
    if not gpu_visible():
        return "cpp_standalone", "brian2cuda and nvcc are installed, but no CUDA GPU is visible."
    return "cuda_standalone", "brian2cuda, the CUDA toolkit and a GPU are present."


BRIAN2_DEVICE, brian2_reason = brian2_device()
TORCH_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
torch_reason = (
    f"torch sees {torch.cuda.get_device_name(0)}."
    if TORCH_DEVICE == "cuda"
    else f"torch sees no CUDA GPU (torch {torch.__version__}, CUDA build: {torch.version.cuda})."
)
ON_GPU = BRIAN2_DEVICE == "cuda_standalone" or TORCH_DEVICE == "cuda"
if not ON_GPU:
    print("No GPU here: running Brian2 cpp_standalone and torch on the CPU instead.\n")
    torch.set_num_threads(1)  # one core each: Brian2's cpp_standalone runs without OpenMP here
print(f"Brian2 device: {BRIAN2_DEVICE:16s} {brian2_reason}")
print(f"torch device:  {TORCH_DEVICE:16s} {torch_reason}")

# %% [markdown]
# Asking for a device that cannot run gives that error straight away, before any code is
# generated (shown only where `cuda_standalone` is unavailable):

# %%
if BRIAN2_DEVICE != "cuda_standalone":
    try:
        sb.simulate("hh", engine="brian2", device="cuda_standalone", n_steps=3)
    except sb.DeviceUnavailableError as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown]
# ## The network
#
# `n` uncoupled neurons of the `hh` model (exponential Euler, dt = 0.01 ms), neuron j with its
# own constant input current, from 0 to 20 µA/cm² across the population. Per-neuron constants
# are parameters of the run (`parameters={"I": ...}`); both engines receive the same arrays.
# Every neuron starts from the model's initial state (-70 mV) and fires once as it leaves it;
# after that, the raster below shows which input currents keep a neuron firing and how the
# rate grows with the input.

# %%
hh = sb.load_model("hh")
N_COMPARE = 100 if SMALL else 1000
DURATION = 50 * sb.ms if SMALL else 100 * sb.ms


def currents(n: int):
    return np.linspace(0.0, 20.0, n) * sb.uamp / sb.cm**2


run = dict(n=N_COMPARE, duration=DURATION, parameters={"I": currents(N_COMPARE)}, record=("v",))
brian = sb.simulate(hh, engine="brian2", device=BRIAN2_DEVICE, **run)
torch_result = sb.simulate(hh, engine="torch", device=TORCH_DEVICE, **run)
print(
    f"{brian.engine}: {len(brian.spikes['spike'])} spikes; "
    f"{torch_result.engine}: {len(torch_result.spikes['spike'])} spikes"
)

# %% [markdown]
# ## Do the engines agree?
#
# `spikebridge.parity.compare` is the comparison `spikebridge parity` makes: the largest
# membrane difference (mV), the spike steps of every neuron, and the verdict against the
# tolerance table (`spikebridge/tolerances.py`). In float64 the table is strict: identical
# spike steps and membranes equal to 1e-9 of the trace's range.

# %%
tolerance = tolerance_for("hh", "float64")
agreement = compare(hh, brian, torch_result, tolerance)
print(f"tolerance (float64): {tolerance}")
pd.Series(agreement, name=f"{brian.engine} vs {torch_result.engine}").to_frame()

# %%
assert agreement["within_tolerance"], agreement
assert np.array_equal(brian.spikes["spike"], torch_result.spikes["spike"])

# %% [markdown]
# The raster of both engines (Brian2's spikes as dots, torch's as crosses on top) and the
# membrane of three neurons.

# %%
rows = []
for result, name in ((brian, brian.engine), (torch_result, torch_result.engine)):
    steps, neurons = result.spikes["spike"].T
    rows.append(
        pd.DataFrame({"time (ms)": steps * result.dt * 1e3, "neuron": neurons, "engine": name})
    )
raster = pd.concat(rows)

fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
sns.scatterplot(
    data=raster,
    x="time (ms)",
    y="neuron",
    hue="engine",
    style="engine",
    markers=["o", "X"],
    s=14,
    linewidth=0,
    ax=left,
)
left.set_title(f"{N_COMPARE} HH neurons, input 0 to 20 µA/cm² (bottom to top)")
chosen = [N_COMPARE // 3, N_COMPARE // 2, N_COMPARE - 1]
colours = sns.color_palette("deep", len(chosen))
for colour, j in zip(colours, chosen, strict=True):
    label = f"neuron {j} ({currents(N_COMPARE)[j] / (sb.uamp / sb.cm**2):.1f} µA/cm²)"
    right.plot(brian.t * 1e3, brian.trace("v", sb.mV)[:, j], color=colour, lw=1.5, label=label)
    right.plot(torch_result.t * 1e3, torch_result.trace("v", sb.mV)[:, j], "k--", lw=0.7)
right.set(
    xlabel="time (ms)",
    ylabel="v (mV)",
    title=f"{brian.engine} (colour), {torch_result.engine} (dashed)",
)
right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
sns.move_legend(left, "upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Throughput
#
# Neuron-steps per second of the simulation loop alone: Brian2's standalone binary times its
# own loop (code generation and compilation excluded; they are in the wall time); the torch
# engine's time is its step loop, synchronised with the GPU when it runs on one. Nothing is
# recorded but spikes. The same measurement on the CPU, with repeats and float32 as well, is
# `benchmarks/simulation_throughput.py`. The torch engine runs once before timing, so that
# its first-call costs (generating the step, starting CUDA) are not counted.

# %%
SIZES = (100, 1000) if SMALL else (1000, 10_000, 100_000)
STEPS = 500 if SMALL else 1000
sb.simulate(hh, engine="torch", device=TORCH_DEVICE, n=10, n_steps=10)  # warm-up

rows = []
for n in SIZES:
    common = dict(n=n, n_steps=STEPS, parameters={"I": currents(n)}, record=())
    pair = {
        "Brian2 " + BRIAN2_DEVICE: sb.simulate(hh, engine="brian2", device=BRIAN2_DEVICE, **common),
        "torch " + TORCH_DEVICE: sb.simulate(hh, engine="torch", device=TORCH_DEVICE, **common),
    }
    same = np.array_equal(*(r.spikes["spike"] for r in pair.values()))
    for engine, result in pair.items():
        rows.append(
            {
                "engine": engine,
                "neurons": n,
                "steps": STEPS,
                "spikes": len(result.spikes["spike"]),
                "spike steps equal": same,
                "loop (s)": result.metadata["loop_seconds"],
                "wall (s)": result.metadata["wall_seconds"],
                "neuron-steps/s": n * STEPS / result.metadata["loop_seconds"],
            }
        )
throughput = pd.DataFrame(rows)
throughput.style.format({"loop (s)": "{:.3f}", "wall (s)": "{:.2f}", "neuron-steps/s": "{:.3g}"})

# %%
ax = sns.barplot(data=throughput, x="neurons", y="neuron-steps/s", hue="engine")
ax.set(yscale="log", title=f"HH, exponential Euler, {STEPS} steps, float64")
sns.move_legend(ax, "upper left", bbox_to_anchor=(1, 1))
plt.show()

# %% [markdown]
# The table's `spike steps equal` column repeats the agreement check at every size. The
# timings are of one run each, on whatever the machine was doing at the time: on a shared
# CPU they vary from run to run, so read them as orders of magnitude and use the benchmark
# script (median of repeats) for figures to quote.
