"""Labels written into the image, as Forward-Forward's supervised variant does.

For ``tasks`` labels per image (the multi-task datasets have two), task k's label takes
the pixels ``[10 k, 10 k + 10)`` of the flattened image: the one-hot label times
``value`` (the image's "on" pixel: 1 for images in [0, 1], 255 in pixel units), or, for
a neutral block (label ``-1``, or ``labels=None`` for every block), ``value / 10`` in each
of its ten pixels. A negative sample keeps the true labels except one: with one task, a
label drawn uniformly from the nine others; with several, one task per sample, drawn
uniformly, gets such a wrong label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError

CLASSES = 10
NEUTRAL = -1


def embed_labels(
    images: Tensor, labels: Tensor | None, *, value: float = 1.0, tasks: int = 1
) -> Tensor:
    """Flattened ``images`` ``[B, pixels]`` with their label blocks written (module
    docstring); ``labels``: ``[B]`` (one task), ``[B, tasks]`` or None (all neutral)."""
    out = images.flatten(1).clone()
    if labels is not None:
        labels = labels[:, None] if labels.dim() == 1 else labels
        tasks = labels.shape[1]
    if out.shape[1] < CLASSES * tasks:
        raise InputError(
            f"{tasks} labels need {CLASSES * tasks} pixels; the images have {out.shape[1]}."
        )
    for k in range(tasks):
        block = slice(CLASSES * k, CLASSES * (k + 1))
        if labels is None:
            out[:, block] = value / CLASSES
            continue
        column = labels[:, k]
        neutral = column == NEUTRAL
        hot = F.one_hot(column.clamp(min=0), CLASSES).to(out.dtype) * value
        out[:, block] = torch.where(neutral[:, None], torch.full_like(hot, value / CLASSES), hot)
    return out


def wrong_labels(labels: Tensor, generator: torch.Generator) -> Tensor:
    """The negatives' labels (module docstring): ``[B]`` or ``[B, tasks]`` like ``labels``."""
    shift = torch.randint(1, CLASSES, labels.shape[:1], generator=generator)
    if labels.dim() == 1:
        return (labels + shift) % CLASSES
    task = torch.randint(0, labels.shape[1], labels.shape[:1], generator=generator)
    out = labels.clone()
    rows = torch.arange(len(labels))
    out[rows, task] = (labels[rows, task] + shift) % CLASSES
    return out


def candidates(batch: int, task: int, label: int, tasks: int) -> Tensor:
    """``[batch, tasks]``: ``label`` for ``task``, every other task neutral (the goodness
    prediction of one task)."""
    out = torch.full((batch, tasks), NEUTRAL, dtype=torch.long)
    out[:, task] = label
    return out
