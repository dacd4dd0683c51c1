"""NIR export of the LIF networks: written, read back, and run by an independent interpreter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikebridge.bridge.nir_export import save_nir, to_nir
from spikebridge.errors import InputError
from spikebridge.nets import build_net

nir = pytest.importorskip("nir")


def _run_graph(graph: Any, image: np.ndarray) -> np.ndarray:
    """Forward Euler at the graph's dt, node by node along its chain (logits [2, 10])."""
    dt, steps = float(graph.metadata["dt"]), int(graph.metadata["steps"])
    order = [a for a, _ in graph.edges if not a.startswith("head")]
    chain = list(dict.fromkeys([*order, "integrate"]))
    state: dict[str, np.ndarray] = {}
    for _ in range(steps):
        x = torch.from_numpy(image)
        for name in chain[1:]:
            node = graph.nodes[name]
            if isinstance(node, nir.Flatten):
                x = x.flatten()
            elif isinstance(node, nir.Affine):
                x = torch.from_numpy(node.weight) @ x + torch.from_numpy(node.bias)
            elif isinstance(node, nir.Conv2d):
                x = F.conv2d(
                    x[None],
                    torch.from_numpy(node.weight),
                    torch.from_numpy(node.bias),
                    padding=tuple(int(p) for p in np.atleast_1d(node.padding)),
                )[0]
            elif isinstance(node, nir.AvgPool2d):
                x = F.avg_pool2d(x[None], tuple(node.kernel_size))[0]
            elif isinstance(node, nir.LIF):
                v = state.get(name, np.zeros_like(node.tau))
                v = v + dt / node.tau * (node.v_leak - v + node.r * x.numpy())
                spikes = v > node.v_threshold
                state[name] = np.where(spikes, node.v_reset, v)
                x = torch.from_numpy(spikes.astype(np.float64))
            elif isinstance(node, nir.I):
                state[name] = state.get(name, np.zeros_like(node.r)) + dt * node.r * x.numpy()
            else:
                raise AssertionError(f"unexpected node {name}: {type(node).__name__}")
    feature = state["integrate"]
    return np.stack(
        [graph.nodes[f"head{k}"].weight @ feature + graph.nodes[f"head{k}"].bias for k in (1, 2)]
    )


@pytest.mark.parametrize("name", ["lif-fc", "lif-conv"])
def test_nir_graph_reproduces_the_torch_network(name: str, tmp_path: Path) -> None:
    torch.manual_seed(4)
    net = build_net(name, steps=6, dtype=torch.float64)
    path = save_nir(tmp_path / "net.nir", net)
    graph = nir.read(path)
    images = 255 * torch.rand(2, 1, 36, 36, dtype=torch.float64)
    with torch.no_grad():
        expected = net(images).numpy()
    for k in range(len(images)):
        np.testing.assert_allclose(
            _run_graph(graph, images[k].numpy()), expected[k], rtol=1e-9, atol=1e-9
        )


def test_hh_and_s_lif2hh_are_refused_with_the_reason() -> None:
    for name in ("hh-fc", "s-lif2hh-fc"):
        with pytest.raises(InputError, match="no NIR equivalent"):
            to_nir(build_net(name))
