"""The Fit-DNN in Brian2: one delay element per sample, driven by the exported signals.

Each of the B samples gets one copy of the element (its file's equations, its declared
method), with the input replaced by ``a = drive_in(t, i) + bias(t) + fb``: ``drive_in``,
``bias`` and the loops' modulations ``M(t, d)`` are ``TimedArray`` step functions on the node
grid (:mod:`.modulations`). The delays are a shift register per copy (a ``NeuronGroup`` of K
cells, cell p holding ``x`` from p steps ago; shifted at the end of every step through
linked variables), and each loop is one synapse from the cell of its delay to the element,
summed into ``fb = sum_d M(t, d) h[tau_d]``. Brian2 sums before the state update of the
same step, so the element reads ``x(t - tau_d)`` exactly as the torch ``dde`` mode does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from brian2 import (
    Equations,
    Network,
    NeuronGroup,
    StateMonitor,
    Synapses,
    TimedArray,
    linked_var,
    second,
)

from ..brian.devices import brian2_session
from .element import load_element
from .folded import FitDNN
from .modulations import delay_signals


@dataclass(frozen=True)
class BrianRun:
    logits: np.ndarray  # [B, P]
    nodes: np.ndarray  # last layer's node values [B, N]
    wall_seconds: float


def run_in_brian2(
    model: FitDNN,
    u: torch.Tensor,
    *,
    device: str = "cpp_standalone",
    directory: str | Path | None = None,
    threads: int = 0,
) -> BrianRun:
    """Simulate ``model`` on the batch ``u`` in Brian2 (float64) and read out its logits."""
    cfg = model.config
    element = load_element(cfg.element)
    method = element.check_method(cfg.method)
    signals = delay_signals(model, u)
    batch = u.shape[0]
    unit = float(element.time_unit)
    node_dt = cfg.theta * unit * second
    step = cfg.step * unit * second
    cells = int(signals.delay_steps.max()) + 1
    n_steps = cfg.layers * cfg.nodes * cfg.substeps + 1
    inp = element.input
    kept = [eq for eq in element.brian_equations.ordered if eq.varname != inp]
    eqs = Equations(kept) + Equations(
        f"{inp} = fitdnn_drive_in(t, i) + fitdnn_bias(t) + fitdnn_feedback : 1\nfitdnn_feedback : 1"
    )
    namespace = {
        "fitdnn_drive_in": TimedArray(signals.drive_in, dt=node_dt),
        "fitdnn_bias": TimedArray(signals.bias, dt=node_dt),
        "fitdnn_modulation": TimedArray(signals.modulation, dt=node_dt),
    }
    state = element.state
    with brian2_session(device, directory=directory, threads=threads):
        neurons = NeuronGroup(batch, eqs, method=method, dt=step, name="fitdnn_element")
        for name, value in element.parameters.items():
            setattr(neurons, name, value)
        buffer = NeuronGroup(
            batch * cells,
            "h : 1\nh_next : 1\npos : integer (constant)\n"
            "x_now : 1 (linked)\nh_before : 1 (linked)",
            dt=step,
            name="fitdnn_delay_line",
        )
        cell = np.arange(batch * cells)
        buffer.pos = cell % cells
        buffer.x_now = linked_var(neurons, state, index=cell // cells)
        buffer.h_before = linked_var(buffer, "h", index=np.where(cell % cells > 0, cell - 1, cell))
        buffer.run_regularly(
            "h_next = int(pos == 0) * x_now + int(pos > 0) * h_before", when="end", order=0
        )
        buffer.run_regularly("h = h_next", when="end", order=1)
        loops = Synapses(
            buffer,
            neurons,
            "loop : integer (constant)\n"
            "fitdnn_feedback_post = fitdnn_modulation(t, loop) * h_pre : 1 (summed)",
            dt=step,
            name="fitdnn_loops",
        )
        copies = np.repeat(np.arange(batch), signals.delay_steps.size)
        delays = np.tile(signals.delay_steps, batch)
        loops.connect(i=copies * cells + delays, j=copies)
        loops.loop = np.tile(np.arange(signals.delay_steps.size), batch)
        monitor = StateMonitor(neurons, state, record=True, when="start", name="fitdnn_x")
        network = Network(neurons, buffer, loops, monitor)
        started = time.perf_counter()
        network.run(n_steps * step, namespace=namespace)
        wall = time.perf_counter() - started
        trace = np.asarray(getattr(monitor, f"{state}_"), dtype=np.float64)  # [B, steps]
    ends = np.arange(1, cfg.nodes + 1) * cfg.substeps + (cfg.layers - 1) * cfg.nodes * cfg.substeps
    nodes = trace[:, ends]
    logits = nodes @ signals.w_out.T + signals.b_out
    return BrianRun(logits=logits, nodes=nodes, wall_seconds=wall)
