"""The per-epoch shuffle of every trainer: a permutation fixed by ``(seed, epoch)``.

``epoch_generator(seed, epoch)`` is a generator of its own, seeded ``seed * 100003 +
epoch``; ``epoch_order(seed, epoch, n)`` is the ``torch.randperm(n)`` it draws first. The
batches of an epoch therefore do not depend on what ran before it (a resumed run sees the
batches of the uninterrupted one), and the global RNG (initial weights, noise) is left
alone. Trainers that draw more per epoch (Forward-Forward's wrong labels) keep drawing from
the generator after the permutation.
"""

from __future__ import annotations

from torch import Generator, Tensor, randperm


def epoch_generator(seed: int, epoch: int) -> Generator:
    """The generator of epoch ``epoch`` (0-based) of a run seeded ``seed``."""
    return Generator().manual_seed(seed * 100_003 + epoch)


def epoch_order(seed: int, epoch: int, n: int) -> Tensor:
    """The order of ``n`` training samples in epoch ``epoch`` of a run seeded ``seed``."""
    return randperm(n, generator=epoch_generator(seed, epoch))
