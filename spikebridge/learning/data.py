"""The multi-task datasets as tensors for training: images in pixel units, two labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ..data import build_multitask


@dataclass(frozen=True)
class TaskData:
    """Images ``[N, 1, 36, 36]`` (float32, pixel units 0..255) and labels ``[N, 2]``."""

    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def load_task_data(
    dataset: str,
    split: Literal["train", "test"],
    *,
    seed: int = 0,
    subset: int | None = None,
    root: str | Path | None = None,
    noise: Tensor | None = None,
) -> TaskData:
    """A split of a multi-task dataset, optionally plus a fixed additive pattern ``noise``."""
    arrays = build_multitask(dataset, split, seed=seed, subset=subset, root=root)
    images = torch.from_numpy(np.ascontiguousarray(arrays.images, dtype=np.float32)).unsqueeze(1)
    if noise is not None:
        images = images + noise.to(images.dtype)
    labels = torch.from_numpy(np.asarray(arrays.labels, dtype=np.int64))
    return TaskData(images, labels)
