"""Two-task image data sets built as in Pareto Multi-Task Learning (Lin et al., NeurIPS 2019).

This docstring is the reference description of the data sets; the code follows it exactly.

**Canvas.** Each example is a 36 x 36 ``uint8`` image holding two 28 x 28 source images:
image A in the top-left corner (rows and columns 0-27) and image B in the bottom-right corner
(rows and columns 8-35). They overlap in the central 20 x 20 square (rows and columns 8-27),
where the two are combined by the pixel-wise maximum; the rest of the canvas is A alone
(top and left bands), B alone (bottom and right bands) or zero (the top-right and
bottom-left 8 x 8 corners). Task 1 is the class of A, task 2 the class of B. This is the
Pareto-MTL construction, after the MultiMNIST of Sabour et al. (2017).

**Data sets** (``name``: source of A / source of B):

* ``multi-fashion``: Fashion-MNIST / Fashion-MNIST;
* ``multi-fashion-mnist``: MNIST / Fashion-MNIST, the data set of the paper's Figure 5
  ("Multi-(Fashion+MNIST)"): task 1 is the digit (top-left), task 2 the item (bottom-right);
* ``multi-mnist``: MNIST / MNIST.

A and B always come from the same split (train or test) of their source data sets, so no test
image ever appears in a training composite.

**Pairing.** For a split of ``n`` source images (60,000 train, 10,000 test) the construction
runs ``copies`` rounds (default 2). Round ``r`` draws the permutation
``perm = np.random.default_rng([seed, s, r]).permutation(n)`` with ``s = 0`` for train and
``s = 1`` for test, and makes ``n`` composites: composite ``i`` of the round has A = source
image ``i`` of A's data set and B = source image ``perm[i]`` of B's data set. Composites are
ordered round by round, ``i`` ascending within a round, so index ``r * n + i``. With the
default two rounds the train split has 120,000 composites and the test split 20,000, the sizes
of the Pareto-MTL pickles; every source image is A exactly ``copies`` times and B exactly
``copies`` times. Where A and B come from the same data set a permutation can pair an image
with itself (about once per round); such composites are kept. ``subset=N`` keeps the first
``N`` composites, which are the same whatever ``N`` (a prefix of the full set). The pairing
depends on ``seed`` only, never on global random state (NumPy does not promise that
``Generator.permutation`` draws the same stream in every future version). It does not
reproduce the random pairing of the published pickles, which is not documented.

The source splits are loaded (and checksum-verified) by :func:`spikebridge.data.load_split`.
The MNIST training split may be absent on a machine; then only the test split of a data set
that uses MNIST can be built, and the train split raises :class:`DataError` saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikebridge.data.idx import DataError
from spikebridge.data.sources import ENV_VAR, MissingDataError, Split, load_split

#: Source data set of image A (task 1) and of image B (task 2) of each multi-task data set.
MULTITASK_DATASETS: Mapping[str, tuple[str, str]] = {
    "multi-fashion": ("fashion-mnist", "fashion-mnist"),
    "multi-fashion-mnist": ("mnist", "fashion-mnist"),
    "multi-mnist": ("mnist", "mnist"),
}
#: Side of the square canvas and the row/column where image B starts.
CANVAS = 36
OFFSET = CANVAS - 28
_SPLIT_INDEX: Mapping[str, int] = {"train": 0, "test": 1}


@dataclass(frozen=True, eq=False)
class MultiTaskArrays:
    """A built multi-task split.

    ``images``: ``uint8 [N, 36, 36]``; ``labels``: ``int64 [N, 2]`` (task 1, task 2);
    ``pairs``: ``int64 [N, 2]``, the index of A and of B in their source splits.
    """

    name: str
    split: str
    seed: int
    copies: int
    images: np.ndarray
    labels: np.ndarray
    pairs: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Place ``a`` (``[N, 28, 28]``) top-left and ``b`` bottom-right on ``[N, 36, 36]`` canvases."""
    if a.shape != b.shape or a.ndim != 3 or a.shape[1:] != (28, 28):
        raise DataError(
            f"compose needs two image stacks of shape [N, 28, 28], got {a.shape} and {b.shape}"
        )
    canvas = np.zeros((a.shape[0], CANVAS, CANVAS), dtype=np.uint8)
    canvas[:, :28, :28] = a
    overlap = canvas[:, OFFSET:, OFFSET:]
    np.maximum(overlap, b, out=overlap)
    return canvas


def pairing(n: int, split: str, seed: int = 0, copies: int = 2) -> np.ndarray:
    """The ``[copies * n, 2]`` index pairs (A, B) of the construction (see the module docstring)."""
    rounds = []
    first = np.arange(n, dtype=np.int64)
    for r in range(copies):
        perm = np.random.default_rng([seed, _SPLIT_INDEX[split], r]).permutation(n)
        rounds.append(np.stack([first, perm.astype(np.int64)], axis=1))
    return np.concatenate(rounds) if rounds else np.empty((0, 2), dtype=np.int64)


def _load_source(
    dataset: str, name: str, split: Split, root: str | Path | None, download: bool, verify: bool
) -> tuple[np.ndarray, np.ndarray]:
    try:
        return load_split(dataset, split, root=root, download=download, verify=verify)
    except MissingDataError as error:
        if dataset != "mnist" or split != "train":
            raise
        raise MissingDataError(
            f"{name} train needs the MNIST training files (train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz]), which are not on this machine, so only its test "
            f"split can be built here. To build the train split, put the two files in a folder "
            f"and pass root=<folder> or set {ENV_VAR}=<folder> (or its mnist/ subfolder), or "
            f"pass download=True on a machine with internet access.\n{error}"
        ) from error


def build_multitask(
    name: str,
    split: Split,
    seed: int = 0,
    copies: int = 2,
    subset: int | None = None,
    root: str | Path | None = None,
    download: bool = False,
    verify: bool = True,
) -> MultiTaskArrays:
    """Build a multi-task split as the module docstring describes.

    ``name`` is a key of :data:`MULTITASK_DATASETS`; ``root``, ``download`` and ``verify`` are
    passed to :func:`~spikebridge.data.load_split` for both source data sets.
    """
    if name not in MULTITASK_DATASETS:
        raise DataError(
            f"unknown multi-task data set {name!r}; choose one of {', '.join(MULTITASK_DATASETS)}"
        )
    if split not in _SPLIT_INDEX:
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")
    if copies < 1:
        raise DataError(f"copies={copies}; it must be at least 1")
    source_a, source_b = MULTITASK_DATASETS[name]
    images_a, labels_a = _load_source(source_a, name, split, root, download, verify)
    if source_b == source_a:
        images_b, labels_b = images_a, labels_a
    else:
        images_b, labels_b = _load_source(source_b, name, split, root, download, verify)
    n = images_a.shape[0]
    total = copies * n
    if subset is not None and not 0 < subset <= total:
        raise DataError(f"subset={subset}; it must be between 1 and {total} (copies * {n})")
    count = total if subset is None else subset
    rounds = -(-count // n)
    pairs = pairing(n, split, seed, rounds)[:count]
    a, b = pairs[:, 0], pairs[:, 1]
    labels = np.stack([labels_a[a], labels_b[b]], axis=1).astype(np.int64)
    return MultiTaskArrays(
        name=name,
        split=split,
        seed=seed,
        copies=copies,
        images=compose(images_a[a], images_b[b]),
        labels=labels,
        pairs=pairs,
    )
