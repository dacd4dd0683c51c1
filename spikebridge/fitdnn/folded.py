r"""A deep network folded in time onto one delay element (Fit-DNN; Stelzer et al. 2021).

One element ``x`` (an element file, :mod:`.element`) is driven by ``a(t)``; with the
integration step ``h = theta / N_h`` and ``a`` held over a step, Brian2's update is
``x[k+1] = c x[k] + u(a[k])``. Hidden layer l (0-based) occupies steps
``[l N N_h, (l+1) N N_h)``, node n of it the ``N_h`` steps from ``l N N_h + n N_h``; the
node's value is ``x`` at the end of its interval; ``x`` starts at 0 and runs through (the
last node of a layer is the chain start of the next: the local, inertial connection).

* layer 0: ``a = g(W_in u + b_in)`` on node n (``g = (pi/2) tanh``, the paper's input
  pre-processing), a step function of time;
* layer l >= 1: ``a(t) = b^l_n + sum_d M_d(t) x(t - tau_d)`` with one delay loop per
  diagonal n'_d of the hidden weights: ``M_d = W^l[n, n - n'_d]`` on node n's interval and
  ``tau_d = (N + n'_d) theta``, so node n reads node ``n - n'_d`` of the previous layer;
* read-out ``y = W_out x^{L-1} + b_out`` (node values of the last layer).

Modes (each checked against the others in the tests):

``dde``
    The discretised delay system itself: ``a`` on every step from the previous layer's
    trajectory, the recurrence solved in closed form per layer (within a node by a
    ``N_h x N_h`` propagator, across nodes by the ``N x N`` one). Autograd gives its exact
    gradients. This is what the Brian2 delay neuron (:mod:`.brian_delay`) integrates.
``network``
    The paper's equivalent network: the delayed signal taken as the node values,
    ``x^l_n = C x^l_{n-1} + S u(a^l_n)``, ``a^l = b^l + W^l x^{l-1}``, ``C = c^{N_h}``,
    ``S = sum_r c^r`` (for the sine element ``S u = (1 - e^{-theta}) sin a``).
``decoupled``
    theta -> infinity: every node at the step's fixed point ``u(a) / (1 - c)``, i.e. the
    sparse MLP ``x = f(a)`` without local connections.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from ..errors import ParameterError
from .config import FitDNNConfig
from .element import ElementUpdate, element_update, load_element

Mode = Literal["dde", "network", "decoupled"]
MODES: tuple[Mode, ...] = ("dde", "network", "decoupled")


def input_map(z: Tensor) -> Tensor:
    """The paper's input pre-processing g(z) = (pi/2) tanh(z)."""
    return 0.5 * math.pi * torch.tanh(z)


class FitDNN(nn.Module):
    """Parameters of a Fit-DNN and its forward pass in each mode (``forward(u, mode)``)."""

    mask: Tensor  # [N, N]: 1 on the loops' diagonals

    def __init__(self, config: FitDNNConfig, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.config = config
        cfg = config
        element = load_element(cfg.element)
        self.update: ElementUpdate = element_update(
            element, cfg.step * float(element.time_unit), cfg.method
        )
        n, layers = cfg.nodes, cfg.layers
        offsets = torch.as_tensor(cfg.offsets)
        rows = torch.arange(n)[:, None]
        mask = torch.zeros(n, n, dtype=dtype)
        for offset in offsets.tolist():
            cols = rows - offset
            valid = (cols >= 0) & (cols < n)
            mask[rows[valid], cols[valid]] = 1.0
        self.register_buffer("mask", mask)
        gen = torch.Generator().manual_seed(cfg.seed)

        def uniform(shape: tuple[int, ...], radius: float) -> nn.Parameter:
            values = (torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1) * radius
            return nn.Parameter(values)

        d, m, p = cfg.loops, cfg.inputs, cfg.outputs
        # the reference code's initial radii
        self.w_in = uniform((n, m), math.sqrt(6.0 / (d / 2 + m + 1)))
        self.b_in = uniform((n,), math.sqrt(6.0 / (d / 2 + m + 1)))
        self.w_hidden = uniform((layers - 1, n, n), math.sqrt(6.0 / (d + 1)))
        self.b_hidden = uniform((layers - 1, n), math.sqrt(6.0 / (d + 1)))
        self.w_out = uniform((p, n), math.sqrt(6.0 / (d / 2 + p + 1)))
        self.b_out = uniform((p,), math.sqrt(6.0 / (d / 2 + p + 1)))
        self._propagators()

    def _propagators(self) -> None:
        """The closed-form propagators, kept in float64 (not buffers: a float32 copy cast
        back to float64 would lose the digits the float64 parity needs)."""
        c, n_h, n = self.update.c, self.config.substeps, self.config.nodes
        r = torch.arange(n_h, dtype=torch.float64)
        nodes = torch.arange(n, dtype=torch.float64)
        big_c = c**n_h
        self._exact = {
            "within": torch.tril(c ** (r[:, None] - r[None, :]).clamp(min=0)),
            "across": torch.tril(big_c ** (nodes[:, None] - nodes[None, :]).clamp(min=0)),
            "c_powers": c**r,
            "chain": big_c ** (nodes + 1),
        }
        self._cast: dict[tuple[torch.dtype, torch.device], dict[str, Tensor]] = {}

    def _propagator(self, name: str, like: Tensor) -> Tensor:
        key = (like.dtype, like.device)
        if key not in self._cast:
            self._cast[key] = {k: v.to(like) for k, v in self._exact.items()}
        return self._cast[key][name]

    def hidden_weights(self) -> Tensor:
        """The hidden weight matrices with only the loops' diagonals, [L-1, N, N]."""
        return self.w_hidden * self.mask

    # -- the three modes -------------------------------------------------------------------
    def forward(self, u: Tensor, mode: Mode = "dde") -> Tensor:
        return self.read_out(self.last_layer(u, mode))

    def read_out(self, nodes: Tensor) -> Tensor:
        return nodes @ self.w_out.T + self.b_out

    def last_layer(self, u: Tensor, mode: Mode = "dde") -> Tensor:
        """Node values of the last hidden layer, [B, N]."""
        if mode not in MODES:
            raise ParameterError(f"Unknown Fit-DNN mode '{mode}'; use one of {', '.join(MODES)}.")
        drive_in = input_map(u.flatten(1) @ self.w_in.T + self.b_in)  # [B, N]
        weights = self.hidden_weights()
        if mode == "decoupled":
            x = self.update.steady_state(drive_in)
            for layer in range(self.config.layers - 1):
                x = self.update.steady_state(self.b_hidden[layer] + x @ weights[layer].T)
            return x
        start = torch.zeros(u.shape[0], dtype=u.dtype, device=u.device)
        if mode == "network":
            x = self._node_chain(drive_in, start)
            for layer in range(self.config.layers - 1):
                x = self._node_chain(self.b_hidden[layer] + x @ weights[layer].T, x[:, -1])
            return x
        a = drive_in[:, :, None].expand(-1, -1, self.config.substeps)
        ends, trajectory = self._dde_layer(a, start)
        for layer in range(self.config.layers - 1):
            a = self.b_hidden[layer][None, :, None] + torch.einsum(
                "nj,bjr->bnr", weights[layer], trajectory
            )
            ends, trajectory = self._dde_layer(a, ends[:, -1])
        return ends

    def _node_chain(self, a: Tensor, start: Tensor) -> Tensor:
        """Node values for a drive constant over each node: E_n = C E_{n-1} + S u(a_n)."""
        gain = self.update.node_gain(self.config.substeps)
        across, chain = self._propagator("across", a), self._propagator("chain", a)
        return (gain * self.update.drive(a)) @ across.T + start[:, None] * chain

    def _dde_layer(self, a: Tensor, start: Tensor) -> tuple[Tensor, Tensor]:
        """One layer of the stepped system for drive ``a`` [B, N, N_h] from ``start`` [B].

        Returns the node values [B, N] and the trajectory at the start of every step
        [B, N, N_h] (what the delay loops read)."""
        propagate = self._propagator("within", a)
        across, chain = self._propagator("across", a), self._propagator("chain", a)
        within = self.update.drive(a) @ propagate.T  # [B, N, N_h]: node-local sums
        ends = within[:, :, -1] @ across.T + start[:, None] * chain
        previous = torch.cat([start[:, None], ends[:, :-1]], dim=1)  # value entering node n
        local = torch.cat([torch.zeros_like(within[:, :, :1]), within[:, :, :-1]], dim=2)
        trajectory = previous[:, :, None] * self._propagator("c_powers", a) + local
        return ends, trajectory
