import pytest
import torch
from torch import nn

from reglab.inspection import Description, describe, format_device


def test_tensor_fields():
    t = torch.zeros(3, 5, dtype=torch.float64, requires_grad=True)
    d = describe("w", t)
    assert isinstance(d, Description)
    assert (d.name, d.kind, d.shape, d.dtype, d.device, d.requires_grad) == (
        "w",
        "tensor",
        (3, 5),
        torch.float64,
        "cpu",
        True,
    )
    assert d.is_tensor
    assert str(d) == "w: tensor shape=(3, 5) dtype=torch.float64 device=cpu requires_grad=True"


def test_scalar_tensor_has_empty_shape():
    d = describe("s", torch.tensor(2.0))
    assert d.shape == ()
    assert "shape=()" in str(d)


def test_values_are_shown_on_request():
    d = describe("x", torch.tensor([1.5, -2.0]), values=True)
    assert "1.5000" in str(d) and "-2.0000" in str(d)
    assert "1.5000" not in str(describe("x", torch.tensor([1.5, -2.0])))


@pytest.mark.parametrize("obj, kind", [(0.1, "float"), ([1, 2], "list"), (None, "NoneType")])
def test_non_tensors_say_so(obj, kind):
    d = describe("lr", obj)
    assert not d.is_tensor
    assert d.kind == kind
    assert str(d) == f"lr: not a tensor ({kind}) = {obj!r}"


def test_meta_device():
    d = describe("m", torch.empty(2, 2, device="meta"), values=True)
    assert d.device == "meta"
    assert d.value is None  # a meta tensor has no values to show


@pytest.mark.parametrize(
    "device, expected",
    [("cpu", "cpu"), ("meta", "meta"), (torch.device("cuda", 0), "cuda:0"), ("cuda:1", "cuda:1")],
)
def test_format_device(device, expected):
    assert format_device(device) == expected
    assert torch.device(format_device(device)) == torch.device(device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensor():
    assert describe("g", torch.ones(1, device="cuda")).device == "cuda:0"


def test_parameter_is_labelled():
    assert describe("p", nn.Parameter(torch.ones(2))).kind == "parameter"


def test_batchnorm_parameters_and_buffers():
    bn = nn.BatchNorm2d(3)
    d = describe("bn", bn, values=True)
    kinds = {c.name: c.kind for c in d.children}
    assert kinds == {
        "weight": "parameter",
        "bias": "parameter",
        "running_mean": "buffer",
        "running_var": "buffer",
        "num_batches_tracked": "buffer",
    }
    by_name = {c.name: c for c in d.children}
    assert by_name["num_batches_tracked"].dtype == torch.int64
    assert by_name["running_var"].requires_grad is False
    text = str(d)
    assert text.startswith(
        "bn: BatchNorm2d in train mode, 6 learnable values, 2 parameters, 3 buffers"
    )
    assert "running_mean: buffer shape=(3,)" in text
    bn.eval()
    assert "in eval mode" in str(describe("bn", bn))


def test_nested_module_names():
    model = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))
    names = [c.name for c in describe("model", model).children]
    assert names[:4] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert "1.running_mean" in names


def test_ipython_display_is_the_printout():
    d = describe("x", torch.ones(1))

    class Printer:
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s

    p = Printer()
    d._repr_pretty_(p, cycle=False)
    assert p.out == str(d)
