import numpy as np
import pytest
import torch
from torchvision import datasets
from torchvision.transforms import v2

from reglab import data
from reglab.data import DatasetNotFoundError, data_root, load_mnist, mnist_tensors


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
