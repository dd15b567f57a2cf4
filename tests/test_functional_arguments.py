"""The tensor arguments of reglab.nn.functional's normalizations are type-checked as torch's
are: a number, a list, an integer or boolean tensor in place of a tensor raises a TypeError
naming the argument (torch raises a TypeError, or an error of its kernel), and a shape or
a group count that is not an integer is refused rather than truncated."""

import pytest
import torch
import torch.nn.functional as F

from reglab.nn import functional as ours
from reglab.nn import sync_batch_norm

C, D = 4, 3
X = torch.randn(2, C, D)  # (N, C, L)


def _call(fn, **kw):
    """``fn`` of module ``f`` with valid arguments, ``kw`` replacing some of them."""
    per_channel = {"weight": torch.ones(C), "bias": torch.zeros(C)}
    buffers = {"running_mean": torch.zeros(C), "running_var": torch.ones(C)}
    defaults = {
        "batch_norm": {**buffers, **per_channel, "training": True},
        "instance_norm": {**buffers, **per_channel},
        "group_norm": {"num_groups": 2, **per_channel},
        "layer_norm": {"normalized_shape": (D,), "weight": torch.ones(D), "bias": torch.ones(D)},
        "rms_norm": {"normalized_shape": (D,), "weight": torch.ones(D)},
    }[fn]
    return lambda f: getattr(f, fn)(**{"input": X, **defaults, **kw})


TENSOR_ARGUMENTS = {
    "batch_norm": ["input", "running_mean", "running_var", "weight", "bias"],
    "instance_norm": ["input", "running_mean", "running_var", "weight", "bias"],
    "group_norm": ["input", "weight", "bias"],
    "layer_norm": ["input", "weight", "bias"],
    "rms_norm": ["input", "weight"],
}
CASES = [(fn, arg) for fn, args in TENSOR_ARGUMENTS.items() for arg in args]
# torch casts these silently instead of refusing them; we refuse them too (a clearer error)
TORCH_ACCEPTS = {("rms_norm", "weight"), ("instance_norm", "running_mean")}


@pytest.mark.parametrize(("fn", "arg"), CASES)
@pytest.mark.parametrize("value", [1.0, 2, [1.0, 2.0]], ids=["float", "int", "list"])
def test_a_non_tensor_argument_is_a_type_error_naming_it(fn, arg, value):
    call = _call(fn, **{arg: value})
    with pytest.raises(TypeError, match=rf"^{fn}\(\): argument '{arg}' must be a Tensor"):
        call(ours)
    with pytest.raises((TypeError, AttributeError)):  # torch: TypeError (or, for batch_norm's
        call(F)  # and instance_norm's input, an AttributeError)


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")  # torch's
@pytest.mark.parametrize(("fn", "arg"), CASES)
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_an_integer_or_boolean_tensor_is_refused(fn, arg, dtype):
    """batch_norm on an int tensor used to return a truncated int tensor; torch raises."""
    if arg == "input":
        value = X
    else:
        value = torch.ones(D if fn in ("layer_norm", "rms_norm") else C)
    call = _call(fn, **{arg: value.to(dtype)})  # a valid tensor, in another dtype
    with pytest.raises(TypeError, match=rf"argument '{arg}' must be a floating-point tensor"):
        call(ours)
    if (fn, arg) not in TORCH_ACCEPTS:
        with pytest.raises(RuntimeError):  # NotImplementedError too: "not implemented for"
            call(F)


@pytest.mark.parametrize("fn", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("shape", [(4.7,), (3.0,), (True,), ("3",)], ids=repr)
def test_a_shape_of_non_integers_is_refused_not_truncated(fn, shape):
    call = _call(fn, normalized_shape=shape, weight=None)
    with pytest.raises(TypeError, match=r"normalized_shape' must be a tuple of ints"):
        call(ours)
    with pytest.raises(TypeError):
        call(F)


def test_a_group_count_that_is_not_an_integer_is_refused():
    for value in (2.0, True):
        call = _call("group_norm", num_groups=value)
        with pytest.raises(TypeError, match=r"argument 'num_groups' must be int"):
            call(ours)
    with pytest.raises(TypeError):
        _call("group_norm", num_groups=2.0)(F)


def test_valid_arguments_still_match_torch():
    shapes = [(D,), [D], torch.Size([D]), X.shape[-1:]]
    for shape in shapes:
        for fn in ("layer_norm", "rms_norm"):
            call = _call(fn, normalized_shape=shape)
            torch.testing.assert_close(call(ours), call(F))
    for fn in ("batch_norm", "instance_norm", "group_norm"):
        torch.testing.assert_close(_call(fn)(ours), _call(fn)(F))
    half = _call("batch_norm", input=X.half())  # half input, float32 parameters: allowed
    torch.testing.assert_close(half(ours), half(F))


def test_sync_batch_norm_checks_its_tensors_too():
    with pytest.raises(TypeError, match=r"^sync_batch_norm\(\): argument 'weight'"):
        sync_batch_norm(X, None, None, 1.0, training=True)
    with pytest.raises(TypeError, match=r"argument 'input' must be a floating-point tensor"):
        sync_batch_norm(X.long(), None, None, training=True)
