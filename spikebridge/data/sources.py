"""Find, optionally download, load and verify the MNIST and Fashion-MNIST splits.

Each data set is the four standard IDX files (plain or ``.gz``)::

    train-images-idx3-ubyte   train-labels-idx1-ubyte     60,000 images of 28 x 28
    t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte      10,000 images of 28 x 28

A split is taken from the first folder that holds both of its files, searched in this order:

1. the ``root`` argument: ``<root>/<dataset>/``, then ``<root>`` itself;
2. the ``SPIKEBRIDGE_DATA`` environment variable: ``$SPIKEBRIDGE_DATA/<dataset>/``, then
   ``$SPIKEBRIDGE_DATA`` itself;
3. Debian's ``/usr/share/datasets/<dataset>/`` (``apt-get install dataset-fashion-mnist``);
4. the user cache ``$XDG_CACHE_HOME/spikebridge/<dataset>/`` (``~/.cache/spikebridge/...``);
5. with ``download=True`` only: the official mirror, downloaded into the user cache with
   atomic writes and checked against the mirror's published MD5 of each ``.gz`` file.

MNIST and Fashion-MNIST use the same file names, so a folder's files may belong to the other
data set (a flat folder of MNIST files passed as ``root`` while Fashion-MNIST is wanted). The
per-class label counts tell the two apart (Fashion-MNIST's are uniform, MNIST's are not), so a
folder whose labels are those of the *other* data set is skipped, and the search goes on.

Every loaded split is verified: shape (N x 28 x 28 images, N labels), labels in 0-9, the
per-class label counts, and the SHA-256 of the decoded arrays (image bytes, then label bytes,
headers excluded, so a plain and a re-compressed copy give the same digest) against
:data:`DIGESTS`. The digests were computed from the real files: Fashion-MNIST train and test from
Debian's ``dataset-fashion-mnist`` (its ``.gz`` files are the official ones with the gzip header
normalised: restoring the original header reproduces the official MD5s), MNIST test from the
official ``.gz`` files (MD5s match the published ones). No digest is known for the MNIST *train*
split (no copy was available when the table was made, and none is published for decoded
arrays): it is checked by shape, label range and its well-known per-class label counts only.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from spikebridge.data.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, read_idx
from spikebridge.io import write_atomic

Split = Literal["train", "test"]

#: Environment variable naming a folder of data sets.
ENV_VAR = "SPIKEBRIDGE_DATA"
#: System folders holding ``<dataset>/`` subfolders (Debian's dataset packages).
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)

#: Base names (without ``.gz``) of the images and labels file of each split.
SPLIT_FILES: Mapping[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: Number of examples of each split.
SPLIT_SIZES: Mapping[str, int] = {"train": 60_000, "test": 10_000}
IMAGE_SHAPE = (28, 28)

#: Official download location of each data set (the file names are appended, with ``.gz``).
MIRRORS: Mapping[str, str] = {
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
}
#: MD5 of each ``.gz`` file as the mirrors publish it (checked on download only: a local copy
#: may be re-compressed or uncompressed, so loading checks :data:`DIGESTS` instead).
GZ_MD5: Mapping[str, Mapping[str, str]] = {
    "fashion-mnist": {
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "mnist": {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
}
#: SHA-256 of ``images.tobytes() + labels.tobytes()`` of each decoded split; ``None``: unknown.
DIGESTS: Mapping[str, Mapping[str, str | None]] = {
    "fashion-mnist": {
        "train": "16d82e2b505296aa2b78bd5ea0992634f30419a4c97def7c907d154a35ac6157",
        "test": "9f1ec356a747bfe4ebab3cfb722d3694c9ca737e2570f6f90cf31d7b6fd689d4",
    },
    "mnist": {
        "train": None,
        "test": "c3f9adf9c66efb572b1f9326c3a511b45910c7173b97be66ceceeeeaef6b802b",
    },
}
#: Number of examples of each class 0-9 in each split.
LABEL_COUNTS: Mapping[str, Mapping[str, tuple[int, ...]]] = {
    "fashion-mnist": {"train": (6000,) * 10, "test": (1000,) * 10},
    "mnist": {
        "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    },
}
DATASETS: tuple[str, ...] = tuple(MIRRORS)


class MissingDataError(DataError):
    """The files of a split are in none of the places searched."""


@dataclass(frozen=True)
class SplitFiles:
    """The images and labels file of one split, and where they were found."""

    images: Path
    labels: Path
    origin: str


def _check_names(dataset: str, split: str) -> None:
    if dataset not in MIRRORS:
        raise DataError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")


def cache_dir(dataset: str) -> Path:
    """The user cache folder of ``dataset``: ``$XDG_CACHE_HOME/spikebridge/<dataset>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spikebridge" / dataset


def search_dirs(dataset: str, root: str | Path | None = None) -> list[tuple[Path, str]]:
    """The folders searched for ``dataset``, in order, each with a description of its origin."""
    _check_names(dataset, "test")
    dirs: list[tuple[Path, str]] = []
    if root is not None:
        root = Path(root).expanduser()
        dirs += [(root / dataset, "root argument"), (root, "root argument")]
    env = os.environ.get(ENV_VAR)
    if env:
        base = Path(env).expanduser()
        dirs += [(base / dataset, f"${ENV_VAR}/{dataset}"), (base, f"${ENV_VAR}")]
    dirs += [(system / dataset, "system data sets") for system in SYSTEM_DIRS]
    dirs.append((cache_dir(dataset), "user cache"))
    return dirs


def _file_in(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _identify(labels_file: Path, split: str) -> str | None:
    """The data set whose per-class label counts ``labels_file`` has, if any."""
    labels = read_idx(labels_file, LABELS_MAGIC)
    if labels.ndim != 1 or labels.size == 0 or int(labels.max()) > 9:
        return None
    counts = tuple(int(c) for c in np.bincount(labels, minlength=10))
    matches = [name for name, table in LABEL_COUNTS.items() if table[split] == counts]
    return matches[0] if matches else None


def find_split(dataset: str, split: str, root: str | Path | None = None) -> SplitFiles:
    """Locate the two files of a split; :class:`MissingDataError` lists every place searched."""
    _check_names(dataset, split)
    names = SPLIT_FILES[split]
    searched: list[str] = []
    for folder, origin in search_dirs(dataset, root):
        if not folder.is_dir():
            searched.append(f"  - {folder} ({origin}): no such folder")
            continue
        found = [_file_in(folder, name) for name in names]
        images, labels = found
        if images is not None and labels is not None:
            identity = _identify(labels, split)
            if identity is None or identity == dataset:
                return SplitFiles(images, labels, origin)
            searched.append(f"  - {folder} ({origin}): holds the {identity} files, skipped")
            continue
        missing = ", ".join(f"{n}[.gz]" for n, f in zip(names, found, strict=True) if f is None)
        searched.append(f"  - {folder} ({origin}): no {missing}")
    fixes = [
        "pass root=<folder holding the files>",
        f"set {ENV_VAR}=<folder> (the files in it or in its {dataset}/ subfolder)",
    ]
    if dataset == "fashion-mnist":
        fixes.append("install Debian's package: apt-get install dataset-fashion-mnist")
    fixes.append(
        f"on a machine with internet access, pass download=True to fetch them from "
        f"{MIRRORS[dataset]} into {cache_dir(dataset)}"
    )
    raise MissingDataError(
        f"the {dataset} {split} split ({names[0]}[.gz] and {names[1]}[.gz]) was not found. "
        "Searched:\n" + "\n".join(searched) + "\nTo fix: " + "; or ".join(fixes) + "."
    )


def download_split(dataset: str, split: str) -> SplitFiles:
    """Download a split's ``.gz`` files from the official mirror into the user cache.

    Files already in the cache are kept. Each download is checked against the mirror's MD5
    before it is renamed into place, so the cache never holds a partial or corrupt file.
    """
    _check_names(dataset, split)
    folder = cache_dir(dataset)
    paths = []
    for name in SPLIT_FILES[split]:
        existing = _file_in(folder, name)
        if existing is not None:
            paths.append(existing)
            continue
        url = f"{MIRRORS[dataset]}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                content: bytes = response.read()
        except OSError as error:
            raise DataError(
                f"{url}: download failed ({error}); check the network connection, or fetch the "
                f"file by other means into {folder} or a folder named by {ENV_VAR}"
            ) from error
        found = hashlib.md5(content, usedforsecurity=False).hexdigest()
        expected = GZ_MD5[dataset][name]
        if found != expected:
            raise DataError(
                f"{url}: downloaded file has MD5 {found}, expected {expected}; the mirror "
                "returned a damaged or different file: try again later"
            )
        paths.append(write_atomic(folder / f"{name}.gz", partial(_write_bytes, data=content)))
    return SplitFiles(paths[0], paths[1], "user cache (downloaded)")


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def split_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the decoded arrays: image bytes then label bytes, in C order."""
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def verify_split(
    dataset: str,
    split: str,
    images: np.ndarray,
    labels: np.ndarray,
    files: SplitFiles,
    checksum: bool = True,
) -> None:
    """Check a loaded split; :class:`DataError` names the files and expected vs found.

    Shapes and the label range are always checked. With ``checksum`` the per-class label
    counts and the SHA-256 of the arrays (where :data:`DIGESTS` knows it) are checked too.
    """
    where = f"{files.images} + {files.labels.name}"
    fix = f"re-download them or point {ENV_VAR} at a complete copy"
    n = SPLIT_SIZES[split]
    if images.shape != (n, *IMAGE_SHAPE) or labels.shape != (n,):
        raise DataError(
            f"{where}: the {dataset} {split} split should hold {n} images of 28 x 28 and {n} "
            f"labels, found images {images.shape} and labels {labels.shape}; {fix}"
        )
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"{where}: labels range 0-{int(labels.max())}, expected 0-9; {fix}")
    if not checksum:
        return
    counts = tuple(int(c) for c in np.bincount(labels, minlength=10))
    expected_counts = LABEL_COUNTS[dataset][split]
    if counts != expected_counts:
        raise DataError(
            f"{where}: per-class label counts {counts}, expected {expected_counts} for "
            f"{dataset} {split}; these are not the official files (another data set?): {fix}"
        )
    expected = DIGESTS[dataset][split]
    if expected is None:
        return
    found = split_digest(images, labels)
    if found != expected:
        raise DataError(
            f"{where}: SHA-256 of the decoded {dataset} {split} split is {found}, expected "
            f"{expected}; the files are damaged or not the official ones: {fix} (or pass "
            "verify=False to use them unchecked)"
        )


def load_split(
    dataset: str,
    split: Split,
    root: str | Path | None = None,
    download: bool = False,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a split as ``(images uint8 [N, 28, 28], labels uint8 [N])``, verified.

    ``dataset`` is ``"fashion-mnist"`` or ``"mnist"``. See the module docstring for the search
    order. ``verify=False`` skips the label-count and checksum checks (for a modified copy);
    shapes and label range are always checked. Nothing is cached in memory.
    """
    try:
        files = find_split(dataset, split, root)
    except MissingDataError:
        if not download:
            raise
        files = download_split(dataset, split)
    images = read_idx(files.images, IMAGES_MAGIC)
    labels = read_idx(files.labels, LABELS_MAGIC)
    verify_split(dataset, split, images, labels, files, checksum=verify)
    return images, labels
