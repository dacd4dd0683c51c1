"""Read and write IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.

An IDX file is a big-endian header followed by the raw array::

    bytes 0-1   zero
    byte  2     element type (0x08 = unsigned byte, the only type these data sets use)
    byte  3     number of dimensions d
    4*d bytes   the size of each dimension, 32-bit unsigned big-endian
    then        prod(sizes) elements in C order

So the magic number ``0x00000803`` marks an image file (``uint8``, N x rows x cols) and
``0x00000801`` a label file (``uint8``, N). A file whose name ends in ``.gz`` or that starts
with the gzip signature is decompressed first.

Every defect is reported as a :class:`DataError` that names the file, the problem and the fix:
a wrong magic number, a file shorter than its header says (an interrupted download), bytes
after the array (a concatenated or wrong file) and a corrupt gzip stream.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from spikebridge.errors import InputError
from spikebridge.io import write_atomic

#: Magic number of an IDX file of unsigned bytes with three dimensions (images).
IMAGES_MAGIC = 0x00000803
#: Magic number of an IDX file of unsigned bytes with one dimension (labels).
LABELS_MAGIC = 0x00000801

_UBYTE = 0x08
_GZIP_SIGNATURE = b"\x1f\x8b"
_REFETCH = "re-download it or point SPIKEBRIDGE_DATA at a complete copy"


class DataError(InputError):
    """A data set file that is missing, malformed, truncated or fails its checksum."""


def _fail(path: Path, problem: str, fix: str = _REFETCH) -> DataError:
    return DataError(f"{path}: {problem}; {fix}.")


def _read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it is a gzip file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _fail(path, "no such file", "pass the folder that holds it") from None
    except OSError as error:
        raise _fail(path, f"cannot be read ({error.strerror or error})", _REFETCH) from error
    if path.suffix != ".gz" and not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        # BadGzipFile (an OSError) for a bad header or CRC, EOFError for a cut-off stream.
        raise _fail(path, f"corrupt gzip data ({error})") from error


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes into a ``uint8`` array of the shape its header gives.

    ``magic``, when given (:data:`IMAGES_MAGIC` or :data:`LABELS_MAGIC`), is the magic number
    the file must have. Raises :class:`DataError` for any malformed file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise _fail(path, f"only {len(data)} bytes, too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if data[:2] != b"\0\0" or data[2] != _UBYTE or data[3] == 0:
        raise _fail(
            path,
            f"magic number 0x{found:08x} is not that of an IDX file of unsigned bytes "
            "(0x00000801 labels, 0x00000803 images)",
            "check that the path names an MNIST-format file, then " + _REFETCH,
        )
    if magic is not None and found != magic:
        raise _fail(
            path,
            f"magic number 0x{found:08x}, expected 0x{magic:08x} "
            f"({'images' if magic == IMAGES_MAGIC else 'labels'})",
            "the image and label files may be swapped; " + _REFETCH,
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _fail(path, f"truncated: {len(data)} bytes, the header alone needs {header}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) < expected:
        raise _fail(
            path,
            f"truncated: the header announces shape {shape} ({expected} bytes) "
            f"but the file holds {len(data)} bytes",
        )
    if len(data) > expected:
        raise _fail(
            path,
            f"{len(data) - expected} bytes of trailing data after the {shape} array "
            f"({expected} bytes expected)",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a ``uint8`` array as an IDX file (gzip-compressed if ``path`` ends in ``.gz``).

    The write is atomic: the file is either complete or absent.
    """
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or array.ndim == 0 or array.ndim > 255:
        raise InputError(
            f"write_idx needs a uint8 array with 1 to 255 dimensions, got {array.dtype} "
            f"with shape {array.shape}; convert it with array.astype(np.uint8)"
        )
    header = bytes([0, 0, _UBYTE, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    content = header + array.tobytes()
    if Path(path).suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    return write_atomic(path, lambda tmp: tmp.write_bytes(content))
