"""The paper's LIF networks (``lif-fc``, ``4lif-fc``, ``lif-conv``, ``4lif-conv``) as NIR graphs.

The spiking part is the network description, written by :func:`spikebridge.nir.export_nir`
(``lif_dl`` as the ``LIF`` whose forward-Euler step at ``dt`` is the paper's map); the
non-spiking readout follows it as NIR nodes. The readout is linear, so applying it at every
step and averaging the outputs over the ``T`` steps is the paper's mean-rate readout::

    fc:   input [1, 36, 36] -> flatten -> affine -> lif -> feature (affine) -> heads -> output
    conv: input -> conv2d -> lif -> avgpool2d -> conv2d -> lif -> avgpool2d -> flatten
          -> feature -> heads -> output

The two task heads are one ``Affine`` (the peers' importers take one output): ``output``
holds task 1's ten logits, then task 2's; the logits are the mean over the ``T`` steps
(metadata ``steps``, ``readout``) of its values. HH and s-LIF2HH networks have no NIR node
and are refused with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..nets import MultiTaskNet, SpikingConv, SpikingFC
from ..nir.exporter import REFUSED, export_nir
from ..nir.exporter import save_nir as write_graph
from ..nir.importer import nir_module

READOUT = "mean over the `steps` steps of each output's per-step values"


def to_nir(net: MultiTaskNet, *, reader: str = "nir") -> Any:
    """The ``nir.NIRGraph`` of a LIF network of the paper (its trained values)."""
    spec = net.spec
    if spec.neuron != "lif_dl" or not isinstance(net, SpikingFC | SpikingConv):
        reason = REFUSED.get(spec.neuron or "", "it has no spiking layer")
        raise InputError(
            f"'{spec.name}' ({spec.neuron}) has no NIR equivalent: {reason}. Export the "
            "spikebridge network file (--export) instead; lif-fc, 4lif-fc, lif-conv and "
            "4lif-conv export to NIR."
        )
    nir = nir_module()
    description = net.network.to_network()
    graph = export_nir(description, reader=reader, outputs=())
    nodes, edges = dict(graph.nodes), list(graph.edges)
    state = {k: v.detach().cpu().double().numpy() for k, v in net.readout.state_dict().items()}
    last = "hidden" if spec.body == "fc" else "layer2"
    if spec.body == "conv":
        shape = np.array(description.populations[-1].shape)
        nodes["pool"] = nir.AvgPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        )
        nodes["flatten"] = nir.Flatten(
            input_type={"input": np.array([shape[0], shape[1] // 2, shape[2] // 2])},
            start_dim=0,
            end_dim=-1,
        )
        edges += [(last, "pool"), ("pool", "flatten")]
        last = "flatten"
    nodes["feature"] = nir.Affine(weight=state["feature.weight"], bias=state["feature.bias"])
    tasks = sorted({int(k.split(".")[1]) for k in state if k.startswith("heads.")})
    nodes["heads"] = nir.Affine(  # both task heads as one map: the peers read one output
        weight=np.concatenate([state[f"heads.{k}.weight"] for k in tasks]),
        bias=np.concatenate([state[f"heads.{k}.bias"] for k in tasks]),
    )
    size = nodes["heads"].weight.shape[0]
    nodes["output"] = nir.Output(output_type={"output": np.array([size])})
    edges += [(last, "feature"), ("feature", "heads"), ("heads", "output")]
    metadata = {
        **graph.metadata,
        "net": spec.name,
        "steps": net.steps,
        "readout": READOUT,
        "output": f"{len(tasks)} tasks x {size // len(tasks)} logits, task by task",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def save_nir(path: str | Path, net: MultiTaskNet, *, reader: str = "nir") -> Path:
    """Write the NIR graph of ``net`` (HDF5, ``nir.write``) atomically."""
    return write_graph(path, to_nir(net, reader=reader))
