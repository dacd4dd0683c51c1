"""Validate any described network in Brian2: the same trials on both engines, compared.

:func:`validate_network` runs a network (typically a trained one, ``net.to_network()``
or a saved ``.npz``) on ``samples`` trials of the user's inputs, in Brian2 (the trials back
to back, each from the initial state) and on the torch engine (a batch, Brian2's order of
accumulation), and reports

* ``spike_train_agreement``: the fraction of trials whose rasters (every population and
  event) are identical; ``spike_count_agreement``: the fraction of (trial, neuron) counts
  of the readout population that are equal;
* with a ``readout`` population: the predicted class per trial (its most active neuron) on
  both engines, ``prediction_agreement``, and with ``targets`` the accuracy of each.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import count
from ..errors import InputError
from ..network.description import Network
from ..network.plan import NetworkPlan, plan_network
from ..network.result import NetworkResult
from ..network.run import NetworkRun, prepare_run


def _per_trial(result: NetworkResult, population: str) -> np.ndarray:
    """Spike counts ``[trials, n_events * n]`` of a population (events in model order)."""
    events = [k for k in result.spikes if k.partition(".")[0] == population]
    return np.concatenate(
        [result.spike_counts(population, key.partition(".")[2]) for key in events], axis=1
    )


@dataclass(frozen=True)
class BothEngines:
    """One run on Brian2 and on the torch engine, and which trials gave identical rasters."""

    run: NetworkRun
    brian2: NetworkResult
    torch: NetworkResult
    identical: np.ndarray  # [trials] booleans
    device: str
    dtype: str
    synapses: str
    seconds: tuple[float, float]

    def report(self) -> dict[str, Any]:
        """The run's settings, raster agreement, spike totals and wall times (JSON-ready)."""
        return {
            "network": self.run.plan.name,
            "device": self.device,
            "dtype": self.dtype,
            "torch_synapses": self.synapses,
            "samples": self.run.trials,
            "n_steps": self.run.n_steps,
            "spike_train_agreement": float(self.identical.mean()),
            "spikes_brian2": int(sum(len(v) for v in self.brian2.spikes.values())),
            "spikes_torch": int(sum(len(v) for v in self.torch.spikes.values())),
            "brian2_seconds": self.seconds[0],
            "torch_seconds": self.seconds[1],
        }


def run_both_engines(
    plan: NetworkPlan,
    inputs: Mapping[str, Any],
    *,
    n_steps: int | None = None,
    samples: int | None = None,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    synapses: str = "event",
    record: tuple[str, ...] = (),
) -> BothEngines:
    """The first ``samples`` trials of ``inputs`` (one array per source or drive, trials
    first) on Brian2 (back to back) and on the torch engine (a batch)."""
    from ..brian.network import run_network_brian2
    from ..torch.network import run_network_torch

    given = {k: np.asarray(v) for k, v in inputs.items()}
    sizes = {len(v) for v in given.values()}
    if len(sizes) != 1:
        raise InputError(f"Every input needs the same number of samples, got {sorted(sizes)}.")
    available = sizes.pop()
    samples = available if samples is None else count(samples, "samples")
    if samples > available:
        raise InputError(
            f"samples must be from 1 to {available} (the inputs given), got {samples}."
        )
    trial_inputs = {k: v[:samples] for k, v in given.items()}
    run = prepare_run(plan, n_steps=n_steps, trials=samples, inputs=trial_inputs, record=record)
    began = time.perf_counter()
    brian = run_network_brian2(run, device=device, dtype=dtype)
    brian_seconds = time.perf_counter() - began
    began = time.perf_counter()
    other = run_network_torch(run, dtype=dtype, synapses=synapses)
    torch_seconds = time.perf_counter() - began
    identical = np.ones(samples, dtype=bool)
    for key in brian.spikes:
        for trial in range(samples):
            a = brian.spikes[key][brian.spikes[key][:, 0] == trial]
            b = other.spikes[key][other.spikes[key][:, 0] == trial]
            identical[trial] &= np.array_equal(a, b)
    return BothEngines(
        run, brian, other, identical, device, dtype, synapses, (brian_seconds, torch_seconds)
    )


def validate_network(
    network: Network | NetworkPlan,
    inputs: Mapping[str, Any],
    *,
    targets: Any = None,
    readout: str | None = None,
    n_steps: int | None = None,
    samples: int | None = None,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    synapses: str = "event",
) -> dict[str, Any]:
    """Run ``samples`` trials (default: all given) on both engines and compare; JSON-ready."""
    plan = network if isinstance(network, NetworkPlan) else plan_network(network)
    both = run_both_engines(
        plan,
        inputs,
        n_steps=n_steps,
        samples=samples,
        device=device,
        dtype=dtype,
        synapses=synapses,
    )
    brian, other = both.brian2, both.torch
    samples = both.run.trials
    report: dict[str, Any] = both.report()
    if readout is not None:
        if readout not in plan.populations:
            raise InputError(
                f"readout '{readout}' is not a population; populations: "
                f"{', '.join(plan.populations)}."
            )
        counts_b, counts_t = _per_trial(brian, readout), _per_trial(other, readout)
        predicted_b, predicted_t = counts_b.argmax(1), counts_t.argmax(1)
        report.update(
            readout=readout,
            spike_count_agreement=float((counts_b == counts_t).mean()),
            prediction_agreement=float((predicted_b == predicted_t).mean()),
        )
        if targets is not None:
            labels = np.asarray(targets)[:samples]
            report.update(
                accuracy_brian2=float((predicted_b == labels).mean()),
                accuracy_torch=float((predicted_t == labels).mean()),
            )
    return report
