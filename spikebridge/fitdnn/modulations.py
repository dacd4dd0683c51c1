"""A trained Fit-DNN as the signals that drive one delay element (the paper's weight map).

Everything is a step function on the node grid (one value per node interval theta, L N
intervals per sample):

* ``drive_in`` [L N, B]: the input layer's mask ``g(W_in u + b_in)`` on layer 0, 0 after;
* ``bias`` [L N]: ``b^l_n`` on layer l >= 1, 0 on layer 0;
* ``modulation`` [L N, D]: ``M_d = W^l[n, n - n'_d]`` on node n of layer l >= 1 (0 where
  the diagonal leaves the matrix, and on layer 0);
* ``delay_steps`` [D]: ``(N + n'_d) N_h`` integration steps.

A simulator (Brian2 here, hardware elsewhere) that integrates
``x' = element(x, drive_in + bias + sum_d M_d x(t - tau_d))`` and samples ``x`` at the end
of the last layer's nodes reproduces the network's ``dde`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .folded import FitDNN, input_map


@dataclass(frozen=True)
class DelaySignals:
    drive_in: np.ndarray
    bias: np.ndarray
    modulation: np.ndarray
    delay_steps: np.ndarray
    offsets: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray


@torch.no_grad()
def delay_signals(model: FitDNN, u: torch.Tensor) -> DelaySignals:
    """The modulation functions, delays and input mask of ``model`` for the batch ``u``."""
    cfg = model.config
    n, layers = cfg.nodes, cfg.layers
    drive = input_map(u.flatten(1).double() @ model.w_in.double().T + model.b_in.double())
    drive_in = np.zeros((layers * n, u.shape[0]))
    drive_in[:n] = drive.numpy().T
    bias = np.zeros(layers * n)
    bias[n:] = model.b_hidden.double().numpy().reshape(-1)
    weights = model.hidden_weights().double().numpy()
    offsets = cfg.offsets
    modulation = np.zeros((layers * n, offsets.size))
    nodes = np.arange(n)
    for d, offset in enumerate(offsets):
        source = nodes - offset
        valid = (source >= 0) & (source < n)
        for layer in range(1, layers):
            modulation[layer * n + nodes[valid], d] = weights[
                layer - 1, nodes[valid], source[valid]
            ]
    return DelaySignals(
        drive_in=drive_in,
        bias=bias,
        modulation=modulation,
        delay_steps=cfg.delay_steps.astype(np.int64),
        offsets=offsets,
        w_out=model.w_out.double().numpy(),
        b_out=model.b_out.double().numpy(),
    )
