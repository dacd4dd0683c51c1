"""The multi-task readout every network shares: a 50-d feature and two 10-way task heads.

::

    f = W_f r + b_f                (r: mean spike rates, or binary activations)
    y_k = W_k f + b_k              k = 1, 2 (one head per task)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .specs import CLASSES, FEATURES, TASKS


class TaskHeads(nn.Module):
    """``[B, n_in]`` -> logits ``[B, TASKS, CLASSES]`` through a shared linear feature."""

    def __init__(self, n_in: int) -> None:
        super().__init__()
        self.feature = nn.Linear(n_in, FEATURES)
        self.heads = nn.ModuleList(nn.Linear(FEATURES, CLASSES) for _ in range(TASKS))

    def forward(self, rates: Tensor) -> Tensor:
        feature = self.feature(rates)
        return torch.stack([head(feature) for head in self.heads], dim=1)
