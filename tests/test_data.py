import numpy as np
import pytest
import torch
from torchvision import datasets
from torchvision.transforms import v2

from reglab.data import DatasetNotFoundError, data_root, load_mnist, mnist_tensors
from reglab.data import mnist as data


def test_data_root_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGLAB_DATA", str(tmp_path))
    assert data_root() == tmp_path.resolve()


def test_data_root_defaults_to_a_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("REGLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data_root() == tmp_path / "reglab"


@pytest.mark.parametrize("train, n", [(True, 20), (False, 10)])
def test_load_mnist_reads_the_files_under_the_root(tiny_mnist, train, n):
    root, images, labels = tiny_mnist
    dataset = load_mnist(train=train, root=root)  # download=True, but the files are there
    assert isinstance(dataset, datasets.MNIST)
    assert len(dataset) == n
    image, label = dataset[3]
    assert label == int(labels[3])
    assert torch.equal(torch.from_numpy(np.array(image)), images[3])


def test_load_mnist_uses_the_environment_variable(tiny_mnist, monkeypatch):
    root, _, _ = tiny_mnist
    monkeypatch.setenv("REGLAB_DATA", str(root))
    assert len(load_mnist(train=False)) == 10


def test_mnist_tensors_equal_the_v2_pipeline(tiny_mnist):
    root, _, labels = tiny_mnist
    X, y = mnist_tensors(train=True, root=root)
    assert X.shape == (20, 1, 28, 28) and X.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.equal(y, labels.long())
    pipeline = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    per_sample = load_mnist(train=True, root=root, transform=pipeline)
    for i in (0, 7, 19):
        torch.testing.assert_close(X[i], per_sample[i][0].as_subclass(torch.Tensor), rtol=0, atol=0)
    assert X.min() >= 0 and X.max() <= 1


def test_missing_data_without_download_names_the_root_and_the_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(train=True, root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "REGLAB_DATA" in message
    assert "internet" in message


def test_failed_download_names_the_root_and_the_fix(tmp_path, monkeypatch):
    def offline(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError, match="REGLAB_DATA") as info:
        load_mnist(train=True, root=tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "download failed" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_the_configured_data_root_loads(mnist_root):
    """With REGLAB_DATA set (as in CI), both real splits load and agree on their format."""
    X, y = mnist_tensors(train=False)
    assert X.shape[1:] == (1, 28, 28)
    assert len(X) == len(y) == len(load_mnist(train=False))
    assert set(y.unique().tolist()) == set(range(10))
    assert 0.05 < X.mean() < 0.25  # mostly black digits; MNIST's mean pixel is ~0.13
    assert abs(X.mean() - data.MNIST_MEAN) < 0.01


# --- corrupt or partial files are not "missing", and the message names the file ----------


def _raw(root):
    return root / "MNIST" / "raw"


@pytest.mark.parametrize("download", [True, False])
def test_truncated_file_is_reported_as_corrupt_and_named(tiny_mnist, download, monkeypatch):
    root, _, _ = tiny_mnist
    monkeypatch.setattr(datasets.MNIST, "download", lambda self: pytest.fail("no download"))
    path = _raw(root) / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])  # a partial download
    with pytest.raises(data.DatasetCorruptError) as info:
        load_mnist(train=True, root=root, download=download)
    message = str(info.value)
    assert str(path) in message
    assert "1000 bytes" in message and str(16 + 20 * 28 * 28) in message
    assert "download failed" not in message and "not found" not in message
    assert not isinstance(info.value, DatasetNotFoundError)


def test_wrong_magic_number_is_reported_as_corrupt(tiny_mnist):
    root, _, _ = tiny_mnist
    path = _raw(root) / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + path.read_bytes()[4:])  # an images header
    with pytest.raises(data.DatasetCorruptError, match="t10k-labels-idx1-ubyte") as info:
        load_mnist(train=False, root=root, download=False)
    assert "1 dimension" in str(info.value)


def test_corrupt_file_of_the_other_split_does_not_matter(tiny_mnist):
    root, _, _ = tiny_mnist
    path = _raw(root) / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:5])
    assert len(load_mnist(train=False, root=root, download=False)) == 10


def test_missing_file_of_a_present_root_is_named(tiny_mnist):
    root, _, _ = tiny_mnist
    (_raw(root) / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte") as info:
        load_mnist(train=False, root=root, download=False)
    assert str(_raw(root)) in str(info.value)


@pytest.mark.parametrize(
    "y, match",
    [
        (torch.tensor([], dtype=torch.int64), "y is empty: no class to draw from"),
        (torch.zeros(2, 3, dtype=torch.int64), r"y must be a 1-D tensor of labels, got shape"),
        (torch.tensor([0.0, 1.0]), "y must hold integer class labels, got torch.float32"),
    ],
)
def test_balanced_subset_rejects_labels_it_cannot_balance(y, match):
    with pytest.raises(ValueError, match=match):
        data.balanced_subset(y, 1)


def test_read_idx_header_reads_the_sizes_of_every_file_of_both_splits(tiny_mnist):
    from reglab.data import MNIST_FILES, read_idx_header

    root, _, _ = tiny_mnist
    n = {True: 20, False: 10}  # what the fixture wrote, with struct.pack
    for train, files in MNIST_FILES.items():
        (images, images_ndim), (labels, labels_ndim) = files
        assert read_idx_header(_raw(root) / images, images_ndim) == (n[train], 28, 28)
        assert read_idx_header(_raw(root) / labels, labels_ndim) == (n[train],)


def test_read_idx_header_rejects_the_wrong_number_of_dimensions(tiny_mnist):
    from reglab.data import read_idx_header

    root, _, _ = tiny_mnist
    with pytest.raises(data.DatasetCorruptError, match="not that of a uint8 IDX file with 1"):
        read_idx_header(_raw(root) / "train-images-idx3-ubyte", 1)
