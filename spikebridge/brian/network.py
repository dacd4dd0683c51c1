"""A network of :mod:`spikebridge.network` built in Brian2: the reference the torch engine's
network simulator (:mod:`spikebridge.torch.network`) is tested and benchmarked against.

``make_neuron_group`` of the model, ``Synapses(G, G, "w : <unit>", on_pre="<target>_post +=
w")`` connected as planned, and a ``SpikeMonitor``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..model import NeuronModel
from ..network import NetworkPlan, NetworkResult, check_repeats, plan_network
from ..results import spike_rows


def simulate_network_brian2(
    model: NeuronModel | str,
    n: int,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    threads: int = 0,
    record_spikes: bool = False,
    repeats: int = 1,
    directory: str | Path | None = None,
    **network: Any,
) -> NetworkResult:
    """The same network in Brian2: :func:`~spikebridge.brian.group.make_neuron_group` plus
    ``Synapses(G, G, "w : <unit>", on_pre="<target>_post += w")`` connected as the plan's
    connectivity, and a ``SpikeMonitor``; options as :func:`simulate_network`.

    ``device``: a Brian2 device; ``threads``: OpenMP threads of ``cpp_standalone`` (0: none).
    ``repeats`` > 1 re-runs the compiled binary of a standalone device (code generation and
    compilation happen once; ``loop_seconds`` are the binary's own loop timer) or restores
    and re-runs the network in runtime mode.
    """
    return run_network_brian2(
        plan_network(model, n, **network),
        device=device,
        dtype=dtype,
        threads=threads,
        record_spikes=record_spikes,
        repeats=repeats,
        directory=directory,
    )


def run_network_brian2(
    plan: NetworkPlan,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    threads: int = 0,
    record_spikes: bool = False,
    repeats: int = 1,
    directory: str | Path | None = None,
) -> NetworkResult:
    """Execute a planned network on a Brian2 device (see :func:`simulate_network_brian2`)."""
    from brian2 import Network, SpikeMonitor, Synapses, get_unit, second
    from brian2.devices.device import get_device

    from ..units import as_quantity
    from .devices import STANDALONE_DEVICES, brian2_session
    from .program import step_program
    from .simulate import driven_group

    repeats = check_repeats(repeats)
    spec, model = plan.spec, plan.spec.model
    step_program(model, spec.method)  # model errors in runtime mode, before compiling
    standalone = device in STANDALONE_DEVICES
    with brian2_session(device, float_dtype=dtype, directory=directory, threads=threads):
        group = driven_group(spec)
        objects: list[Any] = [group]
        if plan.connectivity is not None:
            assert plan.target is not None and plan.weights is not None
            dim = model.dim(plan.target)
            unit = "1" if dim.is_dimensionless else repr(get_unit(dim))
            synapses = Synapses(
                group,
                group,
                model=f"w : {unit}",
                on_pre=f"{plan.target}_post += w",
                namespace={},
                dt=spec.dt * second,
                name="synapses",
            )
            synapses.connect(i=plan.connectivity.pre, j=plan.connectivity.post)
            synapses.w = as_quantity(plan.weights, dim)
            objects.append(synapses)
        monitor = SpikeMonitor(group, record=record_spikes, name="spikes")
        network = Network(*objects, monitor)
        if not standalone and repeats > 1:
            network.store("initial")
        loop_seconds = []
        duration = spec.n_steps * spec.dt * second
        for repeat in range(repeats):
            began = time.perf_counter()
            with np.errstate(over="ignore"):  # see spikebridge.brian.simulate
                if repeat == 0:
                    network.run(duration, namespace={})
                elif standalone:
                    get_device().run(with_output=False)
                else:
                    network.restore("initial")
                    network.run(duration, namespace={})
            elapsed = time.perf_counter() - began
            loop = getattr(get_device(), "_last_run_time", None) if standalone else None
            loop_seconds.append(float(loop) if loop is not None else elapsed)
        counts = np.asarray(monitor.count, dtype=np.int64).copy()
        rows = None
        if record_spikes:
            rows = spike_rows(np.rint(np.asarray(monitor.t_) / spec.dt), np.asarray(monitor.i))
    return NetworkResult(
        model=model.name,
        method=spec.method,
        engine=f"brian2:{device}",
        dtype=dtype,
        n=spec.n,
        n_steps=spec.n_steps,
        dt=spec.dt,
        spike_counts=counts,
        spikes=rows,
        connectivity=plan.connectivity,
        loop_seconds=tuple(loop_seconds),
        metadata={
            "threads": threads,
            "seed": spec.seed,
            "timer": "binary" if standalone else "wall",
        },
    )
