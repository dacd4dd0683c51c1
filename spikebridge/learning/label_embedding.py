"""Labels written into the image, as Forward-Forward's supervised variant does.

For ``tasks`` labels per image (the multi-task datasets have two), task k's label takes
the pixels ``[10 k, 10 k + 10)`` of the flattened image: the one-hot label times
``value`` (the image's "on" pixel: 1 for images in [0, 1], 255 in pixel units), or, for
a neutral block (label ``-1``, or ``labels=None`` for every block), ``value / 10`` in each
of its ten pixels. A negative sample's label is drawn uniformly from the nine wrong ones.
With several tasks, training shows one task per sample (drawn uniformly), the others'
blocks neutral, as the goodness prediction of a task shows them (:func:`training_pair`).
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
        if tasks != 1 and labels.shape[1] != tasks:
            raise InputError(f"labels give {labels.shape[1]} tasks; tasks is {tasks}.")
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
    """A label per sample ``[B]`` drawn uniformly from the nine that are not its own."""
    shift = torch.randint(1, CLASSES, labels.shape[:1], generator=generator)
    return (labels + shift) % CLASSES


def training_pair(labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The positive and negative labels of a batch (module docstring): for ``[B]`` labels
    themselves and :func:`wrong_labels`; for ``[B, tasks]`` one task per sample with its
    true / a wrong label, the other tasks neutral."""
    if labels.dim() == 1:
        return labels, wrong_labels(labels, generator)
    task = torch.randint(0, labels.shape[1], labels.shape[:1], generator=generator)
    rows = torch.arange(len(labels))
    chosen = labels[rows, task]
    positive = torch.full_like(labels, NEUTRAL)
    negative = positive.clone()
    positive[rows, task] = chosen
    negative[rows, task] = wrong_labels(chosen, generator)
    return positive, negative


def candidates(batch: int, task: int, label: int, tasks: int) -> Tensor:
    """``[batch, tasks]``: ``label`` for ``task``, every other task neutral (the goodness
    prediction of one task)."""
    out = torch.full((batch, tasks), NEUTRAL, dtype=torch.long)
    out[:, task] = label
    return out
