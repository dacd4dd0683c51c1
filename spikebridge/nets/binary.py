"""The paper's non-spiking baselines: binary-activation ANN (b-ANN) and CNN.

::

    a = H(relu(W x + b) - 0.5)        forward; backward: the rectangular window of width 0.5

fc:   1296 -> 512 (binary) -> task heads
conv: conv3x3(1->10) -> binary -> avgpool2 -> conv3x3(10->10) -> binary -> avgpool2 -> 810
      -> task heads
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..torch import rectangular
from .base import MultiTaskNet
from .heads import TaskHeads
from .specs import IMAGE_SIZE, NetSpec

THRESHOLD = 0.5


class BinaryFC(MultiTaskNet):
    """b-ANN: one binary hidden layer of ``spec.width`` units."""

    def __init__(self, spec: NetSpec, dtype: torch.dtype | None = None) -> None:
        super().__init__(spec, 1)
        self.step = rectangular(spec.surrogate_width)
        self.hidden = nn.Linear(IMAGE_SIZE * IMAGE_SIZE, spec.width, dtype=dtype)
        self.readout = TaskHeads(spec.width).to(dtype)

    def forward(self, images: Tensor) -> Tensor:
        hidden = self.step(F.relu(self.hidden(images.flatten(1))) - THRESHOLD)
        return self.readout(hidden)


class BinaryCNN(MultiTaskNet):
    """CNN: two conv stages with binary activations and average pooling."""

    def __init__(self, spec: NetSpec, dtype: torch.dtype | None = None) -> None:
        super().__init__(spec, 1)
        channels = spec.width
        self.step = rectangular(spec.surrogate_width)
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, dtype=dtype)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, dtype=dtype)
        pooled = IMAGE_SIZE // 4
        self.readout = TaskHeads(channels * pooled * pooled).to(dtype)

    def forward(self, images: Tensor) -> Tensor:
        x = F.avg_pool2d(self.step(F.relu(self.conv1(images)) - THRESHOLD), 2)
        x = F.avg_pool2d(self.step(F.relu(self.conv2(x)) - THRESHOLD), 2)
        return self.readout(x.flatten(1))
