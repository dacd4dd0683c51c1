"""The data sets: IDX reading and its error messages, file lookup and checksums, the multi-task
construction (canvas placement, pairing, determinism) and its PyTorch wrapper."""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from spikebridge.data import (
    DIGESTS,
    ENV_VAR,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    DataError,
    MissingDataError,
    build_multitask,
    compose,
    load_split,
    read_idx,
    sources,
    split_digest,
    verify_split,
    write_idx,
)
from spikebridge.data.sources import SplitFiles
from spikebridge.errors import InputError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# The shared folder sits next to the repository: <workspace>/main/tests/ -> <workspace>/shared.
MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
needs_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"real Fashion-MNIST not installed at {FASHION_DIR} (apt-get install "
    "dataset-fashion-mnist)",
)
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"real MNIST test split not present at {MNIST_DIR}",
)

TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data set reachable except where a test puts one: empty env, system dir and cache."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(sources, "SYSTEM_DIRS", (tmp_path / "system",))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def index_images(n: int) -> np.ndarray:
    """``n`` images whose index is readable after composition: rows 0/26 = i // 256 and
    rows 1/27 = i % 256 (A keeps rows 0-1 alone on the canvas, B rows 26-27)."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    i = np.arange(n)
    images[:, [0, 26], :] = (i // 256).astype(np.uint8)[:, None, None]
    images[:, [1, 27], :] = (i % 256).astype(np.uint8)[:, None, None]
    return images


def write_split(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    write_idx(folder / TEST_FILES[0], images)
    write_idx(folder / TEST_FILES[1], labels)


@pytest.fixture(scope="module")
def synthetic_fashion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root folder with a fake Fashion-MNIST test split (right shapes and label counts)."""
    root = tmp_path_factory.mktemp("synthetic")
    labels = (np.arange(10_000) % 10).astype(np.uint8)
    write_split(root / "fashion-mnist", index_images(10_000), labels)
    return root


# --- IDX files -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    write_idx(tmp_path / f"images{suffix}", images)
    write_idx(tmp_path / f"labels{suffix}", labels)
    got_images = read_idx(tmp_path / f"images{suffix}", IMAGES_MAGIC)
    got_labels = read_idx(tmp_path / f"labels{suffix}", LABELS_MAGIC)
    assert got_images.dtype == np.uint8 and got_labels.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    raw = (tmp_path / f"images{suffix}").read_bytes()
    assert raw.startswith(b"\x1f\x8b") == (suffix == ".gz")


def test_idx_header_layout(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.array([3, 1, 4], dtype=np.uint8))
    assert path.read_bytes() == bytes.fromhex("00000801 00000003 030104")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-100])
    with pytest.raises(DataError) as error:
        read_idx(path)
    message = str(error.value)
    assert str(path) in message
    assert "truncated" in message and "(5, 28, 28)" in message
    assert "re-download" in message and "SPIKEBRIDGE_DATA" in message


def test_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "images"
    path.write_bytes(bytes.fromhex("00000803 00000005"))
    with pytest.raises(DataError, match=r"truncated.*header"):
        read_idx(path)


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "not-idx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError) as error:
        read_idx(path)
    assert str(path) in str(error.value) and "magic number 0x504b0304" in str(error.value)
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(DataError) as error:
        read_idx(labels, IMAGES_MAGIC)
    assert "0x00000801, expected 0x00000803" in str(error.value)
    assert "swapped" in str(error.value)


def test_trailing_bytes(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(6, np.uint8)) + b"junk"))
    with pytest.raises(DataError) as error:
        read_idx(path)
    assert str(path) in str(error.value)
    assert "4 bytes of trailing data" in str(error.value) and "re-download" in str(error.value)


@pytest.mark.parametrize("damage", ["cut", "flip"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    rng = np.random.default_rng(1)
    data = gzip.compress(idx_bytes(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)))
    if damage == "cut":
        data = data[: len(data) // 2]
    else:
        middle = len(data) // 2
        data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    path = tmp_path / "images.gz"
    path.write_bytes(data)
    with pytest.raises(DataError) as error:
        read_idx(path)
    assert str(path) in str(error.value) and "corrupt gzip" in str(error.value)
    assert "re-download" in str(error.value)


def test_data_error_is_an_input_error() -> None:
    assert issubclass(DataError, InputError) and issubclass(MissingDataError, DataError)


# --- real files and checksums ----------------------------------------------------------------


@needs_fashion
@pytest.mark.parametrize("split", ["train", "test"])
def test_real_fashion_mnist_checksum(split: str) -> None:
    images, labels = load_split("fashion-mnist", split, root=FASHION_DIR)  # type: ignore[arg-type]
    n = 60_000 if split == "train" else 10_000
    assert images.shape == (n, 28, 28) and labels.shape == (n,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert split_digest(images, labels) == DIGESTS["fashion-mnist"][split]


@needs_mnist
def test_real_mnist_test_checksum() -> None:
    images, labels = load_split("mnist", "test", root=MNIST_DIR)
    assert images.shape == (10_000, 28, 28)
    assert split_digest(images, labels) == DIGESTS["mnist"]["test"]
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first digits


# --- lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["subfolder", "itself"])
def test_env_lookup_and_checksum_mismatch(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    base = isolated / "data"
    folder = base / "fashion-mnist" if layout == "subfolder" else base
    images, labels = index_images(10_000), (np.arange(10_000) % 10).astype(np.uint8)
    write_split(folder, images, labels)
    monkeypatch.setenv(ENV_VAR, str(base))
    with pytest.raises(DataError) as error:
        load_split("fashion-mnist", "test")
    message = str(error.value)
    assert str(folder / TEST_FILES[0]) in message and "SHA-256" in message
    assert split_digest(images, labels) in message
    assert f"expected {DIGESTS['fashion-mnist']['test']}" in message
    got_images, got_labels = load_split("fashion-mnist", "test", verify=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_gz_and_plain_files_are_both_found(isolated: Path) -> None:
    folder = isolated / "root"
    write_idx(folder / f"{TEST_FILES[0]}.gz", index_images(10_000))
    write_idx(folder / TEST_FILES[1], (np.arange(10_000) % 10).astype(np.uint8))
    images, _ = load_split("fashion-mnist", "test", root=folder, verify=False)
    np.testing.assert_array_equal(images, index_images(10_000))


def test_missing_files_list_every_place(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(isolated / "env"))
    root = isolated / "root"
    write_idx(root / TEST_FILES[0], np.zeros((1, 28, 28), np.uint8))  # labels missing
    with pytest.raises(MissingDataError) as error:
        load_split("fashion-mnist", "test", root=root)
    message = str(error.value)
    for place in [
        root / "fashion-mnist",
        root,
        isolated / "env" / "fashion-mnist",
        isolated / "env",
        isolated / "system" / "fashion-mnist",
        isolated / "cache" / "spikebridge" / "fashion-mnist",
    ]:
        assert f"{place} (" in message
    assert f"{root} (root argument): no t10k-labels-idx1-ubyte[.gz]" in message
    for fix in ["root=", "SPIKEBRIDGE_DATA=", "apt-get install dataset-fashion-mnist"]:
        assert fix in message
    assert "download=True" in message and "internet" in message


def test_folder_of_the_other_data_set_is_skipped(isolated: Path) -> None:
    flat = isolated / "flat"  # MNIST test files, recognised by their label counts
    mnist_counts = sources.LABEL_COUNTS["mnist"]["test"]
    mnist_labels = np.repeat(np.arange(10), mnist_counts).astype(np.uint8)
    write_split(flat, np.zeros((10_000, 28, 28), np.uint8), mnist_labels)
    with pytest.raises(MissingDataError, match=r"flat \(root argument\): holds the mnist files"):
        load_split("fashion-mnist", "test", root=flat)
    fashion_images = index_images(10_000)
    write_split(
        isolated / "system" / "fashion-mnist",
        fashion_images,
        (np.arange(10_000) % 10).astype(np.uint8),
    )
    images, _ = load_split("fashion-mnist", "test", root=flat, verify=False)
    np.testing.assert_array_equal(images, fashion_images)
    _, labels = load_split("mnist", "test", root=flat, verify=False)
    np.testing.assert_array_equal(labels, mnist_labels)


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns, as a context manager over fixed bytes."""


def test_download_is_checked_and_atomic(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The download code runs against a fake mirror: nothing here touches the network."""
    images, labels = index_images(10_000), (np.arange(10_000) % 10).astype(np.uint8)
    served = {
        TEST_FILES[0]: gzip.compress(idx_bytes(images)),
        TEST_FILES[1]: gzip.compress(idx_bytes(labels)),
    }
    urls: list[str] = []

    def fake_urlopen(url: str, timeout: float) -> FakeResponse:
        urls.append(url)
        return FakeResponse(served[url.rsplit("/", 1)[1].removesuffix(".gz")])

    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(MissingDataError):
        load_split("fashion-mnist", "test")  # download=False never fetches
    assert urls == []
    cache = isolated / "cache" / "spikebridge" / "fashion-mnist"
    with pytest.raises(DataError, match=r"downloaded file has MD5 .*, expected bef4ecab"):
        load_split("fashion-mnist", "test", download=True)
    assert urls == [sources.MIRRORS["fashion-mnist"] + "t10k-images-idx3-ubyte.gz"]
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing partial left behind
    md5 = {name: hashlib.md5(data).hexdigest() for name, data in served.items()}
    monkeypatch.setitem(sources.GZ_MD5, "fashion-mnist", md5)
    got, _ = load_split("fashion-mnist", "test", download=True, verify=False)
    np.testing.assert_array_equal(got, images)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in TEST_FILES)


def test_wrong_shape_and_label_counts() -> None:
    files = SplitFiles(Path("/x/images"), Path("/x/labels"), "test")
    with pytest.raises(DataError, match=r"10000 images of 28 x 28.*\(9999, 28, 28\)"):
        verify_split("mnist", "test", np.zeros((9999, 28, 28), np.uint8), np.zeros(9999), files)
    labels = np.full(10_000, 10, np.uint8)
    with pytest.raises(DataError, match="labels range 0-10"):
        verify_split("mnist", "test", np.zeros((10_000, 28, 28), np.uint8), labels, files)
    # MNIST train has no digest: its label counts catch, e.g., Fashion-MNIST files in its place.
    fashion_labels = (np.arange(60_000) % 10).astype(np.uint8)
    with pytest.raises(DataError, match="label counts"):
        verify_split("mnist", "train", np.zeros((60_000, 28, 28), np.uint8), fashion_labels, files)


def test_unknown_names() -> None:
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_split("cifar", "test")
    with pytest.raises(DataError, match="unknown split"):
        load_split("mnist", "valid")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unknown multi-task data set"):
        build_multitask("multi-cifar", "test")


# --- multi-task construction -----------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(100, 200), (200, 100)])
def test_canvas_placement(a: int, b: int) -> None:
    canvas = compose(np.full((1, 28, 28), a, np.uint8), np.full((1, 28, 28), b, np.uint8))[0]
    assert canvas.shape == (36, 36) and canvas.dtype == np.uint8
    expected = np.zeros((36, 36), np.uint8)
    expected[0:8, 0:28] = a  # A alone: top band
    expected[8:28, 0:8] = a  # A alone: left band
    expected[8:28, 8:28] = max(a, b)  # overlap
    expected[28:36, 8:36] = b  # B alone: bottom band
    expected[8:28, 28:36] = b  # B alone: right band
    np.testing.assert_array_equal(canvas, expected)
    assert canvas[0:8, 28:36].max() == 0 and canvas[28:36, 0:8].max() == 0


def test_canvas_matches_loop_reference() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    b = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    got = compose(a, b)
    for k in range(4):
        for r in range(36):
            for c in range(36):
                va = int(a[k, r, c]) if r < 28 and c < 28 else 0
                vb = int(b[k, r - 8, c - 8]) if r >= 8 and c >= 8 else 0
                assert got[k, r, c] == max(va, vb)


def test_pairing_sizes_and_labels(synthetic_fashion: Path) -> None:
    built = build_multitask("multi-fashion", "test", root=synthetic_fashion, verify=False)
    n = 10_000
    assert len(built) == 2 * n and built.images.shape == (2 * n, 36, 36)
    assert built.labels.dtype == np.int64 and built.labels.shape == (2 * n, 2)
    # A is source image i in order, round after round; B follows the documented permutation.
    np.testing.assert_array_equal(built.pairs[:, 0], np.tile(np.arange(n), 2))
    for r in range(2):
        perm = np.random.default_rng([0, 1, r]).permutation(n)
        np.testing.assert_array_equal(built.pairs[r * n : (r + 1) * n, 1], perm)
    # The indices read back from the canvases (see index_images) are the recorded pairs.
    canvas = built.images.astype(np.int64)
    np.testing.assert_array_equal(canvas[:, 0, 0] * 256 + canvas[:, 1, 0], built.pairs[:, 0])
    np.testing.assert_array_equal(canvas[:, 34, 8] * 256 + canvas[:, 35, 8], built.pairs[:, 1])
    np.testing.assert_array_equal(built.labels, built.pairs % 10)  # synthetic label = i % 10


def test_determinism_seed_copies_subset(synthetic_fashion: Path) -> None:
    def build(seed: int = 0, copies: int = 2, subset: int | None = None) -> tuple[np.ndarray, ...]:
        built = build_multitask(
            "multi-fashion", "test", seed, copies, subset, root=synthetic_fashion, verify=False
        )
        return built.images, built.labels

    first, again, other = build(seed=0), build(seed=0), build(seed=1)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    three = build(copies=3)
    assert len(three[0]) == 30_000
    np.testing.assert_array_equal(three[0][:20_000], first[0])  # rounds do not depend on copies
    subset = build(subset=12_345)
    np.testing.assert_array_equal(subset[0], first[0][:12_345])
    np.testing.assert_array_equal(subset[1], first[1][:12_345])
    with pytest.raises(DataError, match="subset=20001"):
        build(subset=20_001)


@needs_fashion
@needs_mnist
def test_real_multi_fashion_mnist_test_split() -> None:
    built = build_multitask("multi-fashion-mnist", "test", root=MNIST_DIR)
    assert built.images.shape == (20_000, 36, 36)
    mnist_images, mnist_labels = load_split("mnist", "test", root=MNIST_DIR)
    fashion_images, fashion_labels = load_split("fashion-mnist", "test", root=FASHION_DIR)
    a, b = built.pairs[:, 0], built.pairs[:, 1]
    np.testing.assert_array_equal(built.labels[:, 0], mnist_labels[a])  # task 1: digit
    np.testing.assert_array_equal(built.labels[:, 1], fashion_labels[b])  # task 2: item
    picks = [0, 9_999, 10_000, 19_999]
    np.testing.assert_array_equal(
        built.images[picks], compose(mnist_images[a[picks]], fashion_images[b[picks]])
    )


def test_multi_fashion_mnist_train_needs_mnist_train(isolated: Path) -> None:
    root = isolated / "root"
    write_split(root / "mnist", np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8))
    with pytest.raises(MissingDataError) as error:
        build_multitask("multi-fashion-mnist", "train", root=root)
    message = str(error.value)
    assert "only its test split can be built here" in message
    assert "train-images-idx3-ubyte" in message and "root=" in message
    assert "SPIKEBRIDGE_DATA" in message and "download=True" in message
    assert f"{root / 'mnist'} (root argument): no train-images" in message
