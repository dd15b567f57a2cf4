import pytest
import torch

from reglab.train.device import ENV_VAR, default_device, resolve_device


def test_default_is_cuda_when_available_else_cpu(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device() == torch.device(expected)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_variable_means_the_default(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")


def test_the_variable_overrides(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["tpu", "gpu", "cuda:x"])
def test_an_unknown_device_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match=rf"{ENV_VAR}='{value}' is not a torch device"):
        default_device()


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"asks for CUDA, but torch.cuda.is_available\(\)"):
        default_device()


def test_a_gpu_index_out_of_range_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda:3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(RuntimeError, match=r"asks for GPU 3, but only 2 are visible \(0 to 1\)"):
        default_device()
    monkeypatch.setenv(ENV_VAR, "cuda:1")
    assert default_device() == torch.device("cuda", 1)


def test_resolve_device(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device must be a torch.device or a string .*'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match=r"where must be a torch.device .* got 3\.5"):
        resolve_device(3.5, "where")
