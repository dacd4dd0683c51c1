"""Export the LIF networks (``lif-fc``, ``4lif-fc``, ``lif-conv``, ``4lif-conv``) to NIR.

NIR nodes are continuous-time; the exported graph is meant to be run with forward Euler at
the step ``dt`` stored in its metadata (snnTorch's NIR convention). A LIF node

    tau dv/dt = (v_leak - v) + r I,      spike when v > v_threshold, then v <- v_reset

becomes ``v_t = (1 - dt/tau) v_{t-1} + (dt r / tau) I_t``; with ``tau`` from
:func:`spikebridge.discretize.tau_from_decay` (euler), ``r = tau / dt``, ``v_leak = 0``,
``v_reset = 0`` this is the paper's LIF map ``u_t = decay u_{t-1} (1 - s_{t-1}) + I_t``:
the paper's lazy reset (the membrane is zeroed at the next step) gives the same spikes as
an immediate reset to 0.

Graph (fc)::

    input [1, 36, 36] -> flatten -> affine (projection) -> lif -> affine (feature)
        -> integrator (r = 1 / (T dt): its state after T steps is the mean feature)
        -> affine (head k) -> output k,  k = 1, 2

conv: conv2d -> lif -> avgpool2d -> conv2d -> lif -> avgpool2d -> flatten -> the fc tail.
The task outputs are read after the ``T``-th step (metadata ``steps``). HH and s-LIF2HH
networks have no NIR node (NIR has no HH neuron, and s-LIF2HH's fourth sub-neuron is
driven by the other sub-neurons' membranes), so they are refused with a clear error.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from ..discretize import tau_from_decay
from ..errors import InputError
from ..io import write_atomic
from ..nets import MultiTaskNet, SpikingConv, SpikingFC

EXPORTABLE = ("lif_dl",)


def _array(net: SpikingFC | SpikingConv, name: str) -> np.ndarray:
    """A value of the net's spiking part (``<owner>__<var>``) as float64."""
    return np.asarray(getattr(net.network, name).detach().cpu().double().numpy())


def _lif(net: SpikingFC | SpikingConv, layer: str, shape: tuple[int, ...], dt: float) -> Any:
    nir = _nir()

    decay = np.broadcast_to(_array(net, f"{layer}__decay"), shape)
    theta = np.broadcast_to(_array(net, f"{layer}__theta"), shape)
    tau = np.asarray(tau_from_decay(decay, dt, "euler"), dtype=np.float64)
    return nir.LIF(
        tau=tau,
        r=tau / dt,
        v_leak=np.zeros(shape),
        v_threshold=theta.copy(),
        v_reset=np.zeros(shape),
    )


def _nir() -> Any:
    try:
        import nir
    except ImportError as exc:
        raise InputError(
            "NIR export needs the nir package: pip install 'spikebridge[nir]' (or pip install nir)."
        ) from exc
    return nir


def to_nir(net: MultiTaskNet) -> Any:
    """The ``nir.NIRGraph`` of a LIF network of the paper (its trained values)."""
    nir = _nir()

    spec = net.spec
    if spec.neuron not in EXPORTABLE or not isinstance(net, SpikingFC | SpikingConv):
        raise InputError(
            f"'{spec.name}' ({spec.neuron}) has no NIR equivalent: NIR has no HH "
            "neuron, and s-LIF2HH's fourth sub-neuron reads the others' membranes. Export the "
            "spikebridge network file (--export) instead; lif-fc, 4lif-fc, lif-conv and "
            "4lif-conv export to NIR."
        )
    dt, steps, width = net.network.plan.dt, net.steps, spec.width
    state = {k: v.detach().cpu().double().numpy() for k, v in net.readout.state_dict().items()}

    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([1, 36, 36])})}
    chain: list[str] = ["input"]
    if spec.body == "fc":
        nodes["flatten"] = nir.Flatten(input_type={"input": np.array([1, 36, 36])}, start_dim=0)
        nodes["projection"] = nir.Affine(
            weight=np.ascontiguousarray(_array(net, "input_0__W").T),
            bias=_array(net, "input_0__b"),
        )
        nodes["lif"] = _lif(net, "hidden", (width,), dt)
        chain += ["flatten", "projection", "lif"]
        features = width
    else:
        biases = {1: "conv1_0__b", 2: "bias2_0__W"}  # layer 2's bias: a constant-source drive
        for k, size in ((1, 36), (2, 18)):
            nodes[f"conv{k}"] = nir.Conv2d(
                input_shape=(size, size),
                weight=_array(net, f"conv{k}_0__W"),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=_array(net, biases[k]),
            )
            nodes[f"lif{k}"] = _lif(net, f"layer{k}", (width, size, size), dt)
            nodes[f"pool{k}"] = nir.AvgPool2d(
                kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
            )
            chain += [f"conv{k}", f"lif{k}", f"pool{k}"]
        pooled = np.array([width, 9, 9])
        nodes["flatten"] = nir.Flatten(input_type={"input": pooled}, start_dim=0)
        chain.append("flatten")
        features = int(pooled.prod())
    nodes["feature"] = nir.Affine(weight=state["feature.weight"], bias=state["feature.bias"])
    feature_size = state["feature.weight"].shape[0]
    nodes["integrate"] = nir.I(r=np.full(feature_size, 1.0 / (steps * dt)))
    chain += ["feature", "integrate"]
    edges = list(itertools.pairwise(chain))
    for k in (1, 2):
        nodes[f"head{k}"] = nir.Affine(
            weight=state[f"heads.{k - 1}.weight"], bias=state[f"heads.{k - 1}.bias"]
        )
        nodes[f"output{k}"] = nir.Output(output_type={"output": np.array([10])})
        edges += [("integrate", f"head{k}"), (f"head{k}", f"output{k}")]
    assert features == state["feature.weight"].shape[1]
    metadata = {
        "source": "spikebridge",
        "net": spec.name,
        "dt": dt,
        "steps": steps,
        "discretisation": "forward Euler at dt; outputs read after step `steps`",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def save_nir(path: str | Path, net: MultiTaskNet) -> Path:
    """Write the NIR graph of ``net`` (HDF5, ``nir.write``) atomically."""
    nir = _nir()

    graph = to_nir(net)
    return write_atomic(path, lambda tmp: nir.write(tmp, graph))
