r"""Adder synapses (AdderNet; Chen et al., CVPR 2020): input as minus an L1 distance.

A unit's input is the negative L1 distance between its inputs and its weights instead of
their weighted sum::

    y_bo = - sum_k | x_bk - w_ok |                     (no multiplication)

with the gradients of the paper and of its reference code (huawei-noah/AdderNet,
``adder.py``) rather than the true ones:

* weights, full precision (not the sign):   dL/dw_ok = sum_b (x_bk - w_ok) g_bo
* inputs, clipped by HardTanh:              dL/dx_bk = sum_o HT(w_ok - x_bk) g_bo
* the adaptive learning-rate scaling of each layer's weight gradient,
  dL/dW <- eta * sqrt(numel(W)) * dL/dW / ||dL/dW||_2, applied in the backward pass as
  the reference code applies it (``eta = 0.2``: its ``/ 5``; ``None``: unscaled).

Vectorised: the forward is ``torch.cdist(p=1)``; the weight gradient needs no B x K x O
tensor because sum_b (x_bk - w_ok) g_bo = (g^T x)_ok - w_ok sum_b g_bo (one matrix
product); only the clipped input gradient forms the B x K x O differences, one [B, K]
block per output, in place (2.7 times faster than one B x K x O tensor at LeNet-5's second
layer on one CPU thread). :class:`AdderLinear` and :class:`AdderConv2d` (patches by
``unfold``) are the layers.

On binary inputs s in {0, 1} an adder layer is an add-only linear layer:
-sum_k |s_k - w_ok| = -sum_k |w_ok| - sum_k s_k clip(1 - 2 w_ok, -1, 1)
(:func:`binary_equivalent`), so for spikes it brings no new operation; it matters where
inputs are graded (a network's real-valued input layer).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError

ETA = 0.2


class _AdderFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Tensor, eta: float | None, mask: Tensor | None
    ) -> Tensor:
        ctx.save_for_backward(x, weight, mask)
        ctx.eta = eta
        y = -torch.cdist(x, weight, p=1.0)
        if mask is not None:  # the masked-out entries (x = 0 there) contributed -|w|
            y = y + (1 - mask) @ weight.abs().transpose(0, 1)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        x, weight, mask = ctx.saved_tensors
        grad_x = grad_w = None
        if ctx.needs_input_grad[1]:
            if mask is None:  # sum_b (x_bk - w_ok) g_bo
                grad_w = grad.transpose(0, 1) @ x - weight * grad.sum(0)[:, None]
            else:  # over the unmasked entries: sum_b m_bk (x_bk - w_ok) g_bo
                grad_w = grad.transpose(0, 1) @ x - weight * (grad.transpose(0, 1) @ mask)
            if ctx.eta is not None:
                norm = torch.linalg.vector_norm(grad_w)
                grad_w = ctx.eta * math.sqrt(grad_w.numel()) * grad_w / norm.clamp(min=1e-12)
        if ctx.needs_input_grad[0]:
            grad_x = torch.zeros_like(x)
            for o in range(weight.shape[0]):  # one [B, K] block per output: in cache, in place
                block = (weight[o] - x).clamp_(-1.0, 1.0)
                grad_x += block.mul_(grad[:, o : o + 1])
            if mask is not None:
                grad_x = grad_x * mask
        return grad_x, grad_w, None, None


def adder(x: Tensor, weight: Tensor, eta: float | None = ETA, mask: Tensor | None = None) -> Tensor:
    """``[B, O]``: minus the L1 distance of each input row ``x`` ``[B, K]`` to each weight
    row ``weight`` ``[O, K]``, with the module docstring's gradients; ``mask`` ``[B, K]``
    (0 or 1): the distance over the entries where it is 1 only (a convolution's synapses
    without its padding)."""
    if x.dim() != 2 or weight.dim() != 2 or x.shape[1] != weight.shape[1]:
        raise InputError(
            f"adder needs inputs [B, K] and weights [O, K]; got {tuple(x.shape)} and "
            f"{tuple(weight.shape)}."
        )
    if mask is not None:
        mask = mask.to(x.dtype).expand_as(x)
        x = x * mask
    out = _AdderFunction.apply(x, weight, eta, mask)
    assert isinstance(out, Tensor)
    return out


def binary_equivalent(weight: Tensor) -> tuple[Tensor, Tensor]:
    """``(W', b)`` of the add-only linear layer that equals an adder layer with weights
    ``weight`` ``[O, K]`` on inputs in {0, 1}: ``adder(s, w) = s @ W'.T + b`` with
    ``W' = -clip(1 - 2 w, -1, 1)`` and ``b = -sum_k |w_ok|``."""
    return -(1 - 2 * weight).clamp(-1.0, 1.0), -weight.abs().sum(1)


class AdderLinear(nn.Module):
    """A fully connected adder layer, ``[*, in_features] -> [*, out_features]``; weights
    ``[out, in]`` drawn from N(0, 1) as the reference code draws them."""

    def __init__(self, in_features: int, out_features: int, eta: float | None = ETA) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.eta = eta

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        return adder(x.reshape(-1, x.shape[-1]), self.weight, self.eta).reshape(*lead, -1)


class AdderConv2d(nn.Module):
    """A 2-d adder convolution, ``[B, C_in, H, W] -> [B, C_out, H', W']``; weights ``[C_out,
    C_in, k, k]`` from N(0, 1); ``stride`` and ``padding`` as ``nn.Conv2d``'s."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        eta: float | None = ETA,
    ) -> None:
        super().__init__()
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape))
        self.stride, self.padding, self.eta = stride, padding, eta

    def forward(self, x: Tensor) -> Tensor:
        batch, _, height, width = x.shape
        out_channels, _, k, _ = self.weight.shape
        h = (height + 2 * self.padding - k) // self.stride + 1
        w = (width + 2 * self.padding - k) // self.stride + 1
        patches = F.unfold(x, k, padding=self.padding, stride=self.stride)  # [B, C k k, L]
        rows = patches.transpose(1, 2).reshape(batch * h * w, -1)
        y = adder(rows, self.weight.reshape(out_channels, -1), self.eta)  # [B L, C_out]
        return y.reshape(batch, h * w, out_channels).transpose(1, 2).reshape(batch, -1, h, w)
