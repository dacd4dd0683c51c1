"""Image data sets: MNIST and Fashion-MNIST from IDX files, and two-task composites of them.

>>> from spikebridge.data import build_multitask, load_split
>>> images, labels = load_split("fashion-mnist", "test")  # uint8 [10000, 28, 28], [10000]
>>> test = build_multitask("multi-fashion-mnist", "test")  # 20,000 composites

(:func:`spikebridge.learning.data.load_task_data` turns a split into training tensors.)

Files are looked up in ``root``, ``$SPIKEBRIDGE_DATA``, ``/usr/share/datasets`` and the user
cache (see :mod:`spikebridge.data.sources`); every split is verified against known checksums.
The multi-task construction is documented in :mod:`spikebridge.data.multitask`.
"""

from spikebridge.data.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, read_idx, write_idx
from spikebridge.data.multitask import (
    MULTITASK_DATASETS,
    MultiTaskArrays,
    build_multitask,
    compose,
    pairing,
)
from spikebridge.data.sources import (
    DATASETS,
    DIGESTS,
    ENV_VAR,
    MissingDataError,
    SplitFiles,
    cache_dir,
    download_split,
    find_split,
    load_split,
    search_dirs,
    split_digest,
    verify_split,
)

__all__ = [
    "DATASETS",
    "DIGESTS",
    "ENV_VAR",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "MULTITASK_DATASETS",
    "DataError",
    "MissingDataError",
    "MultiTaskArrays",
    "SplitFiles",
    "build_multitask",
    "cache_dir",
    "compose",
    "download_split",
    "find_split",
    "load_split",
    "pairing",
    "read_idx",
    "search_dirs",
    "split_digest",
    "verify_split",
    "write_idx",
]
