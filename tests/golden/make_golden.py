"""Regenerate the golden traces: Brian2 cpp_standalone, float64, each model's declared method,
the parity stimulus over the default parity duration (20 ms, at least 200 steps), traces
kept at no more than 2,000 samples (every ``stride``-th step). Run from the repository root:

    python -m tests.golden.make_golden [MODEL ...]   (default: every model)

Each ``<model>.npz`` holds the membrane traces, the spikes per event and the metadata
(spikebridge commit, Brian2 version, method, dt) needed to know what it records.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import brian2
import numpy as np

import spikebridge as sb
from spikebridge.parity import PARITY_NEURONS, default_duration, parity_inputs

GOLDEN = Path(__file__).parent
MAX_SAMPLES = 2000


def golden_steps(model: sb.NeuronModel) -> tuple[int, int]:
    """Steps of the golden run and the stride of the stored trace samples."""
    steps = round(default_duration(model) / float(model.dt))
    return steps, -(-steps // MAX_SAMPLES)


def main(names: list[str] | None = None) -> None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    for name in names or sb.list_models():
        model = sb.load_model(name)
        steps, stride = golden_steps(model)
        result = sb.simulate(
            model,
            engine="brian2",
            device="cpp_standalone",
            n_steps=steps,
            n=PARITY_NEURONS,
            inputs=parity_inputs(model, steps, float(model.dt)),
        )
        metadata = {
            "model": name,
            "method": result.method,
            "dt": result.dt,
            "n_steps": steps,
            "stride": stride,
            "brian2": brian2.__version__,
            "spikebridge_commit": commit,
            "engine": result.engine,
        }
        arrays = {f"trace_{k}": v[stride - 1 :: stride] for k, v in result.traces.items()}
        arrays.update({f"spikes_{k}": v for k, v in result.spikes.items()})
        np.savez_compressed(GOLDEN / f"{name}.npz", metadata=json.dumps(metadata), **arrays)
        print(name, steps, {k: len(v) for k, v in result.spikes.items()})


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
