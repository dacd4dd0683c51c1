"""The common base of the multi-task networks: a spec, a number of time steps, logits out."""

from __future__ import annotations

from torch import Tensor, nn

from .specs import NetSpec


class MultiTaskNet(nn.Module):
    """Images ``[B, 1, 36, 36]`` (pixel units) -> logits ``[B, 2, 10]``."""

    spec: NetSpec
    steps: int

    def __init__(self, spec: NetSpec, steps: int) -> None:
        super().__init__()
        self.spec = spec
        self.steps = int(steps)

    def forward(self, images: Tensor) -> Tensor:
        raise NotImplementedError
