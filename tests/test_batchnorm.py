import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.batchnorm import trace_running_stats
from reglab.functional import batch_norm

SHAPES = [(16, 3), (8, 3, 7), (4, 3, 5, 6)]  # (N, C), (N, C, L), (N, C, H, W)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _inputs(shape, dtype, device, affine, seed=0):
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    X = (20 * torch.randn(shape, generator=g, dtype=dtype) + 100).to(
        device
    )  # skewed, as the seed's
    weight = (torch.rand(C, generator=g, dtype=dtype) + 0.5).to(device) if affine else None
    bias = torch.randn(C, generator=g, dtype=dtype).to(device) if affine else None
    return X, weight, bias


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("momentum, eps", [(0.1, 1e-5), (0.5, 1e-3), (1.0, 1e-5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_matches_torch_in_train_then_eval(shape, affine, momentum, eps, dtype, device):
    C = shape[1]
    kw = dict(dtype=dtype, device=device)
    buffers = {who: (torch.zeros(C, **kw), torch.ones(C, **kw)) for who in ("ours", "torch")}
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for step in range(4):  # several steps: the running buffers accumulate
        X, weight, bias = _inputs(shape, dtype, device, affine, seed=step)
        ours = batch_norm(X, *buffers["ours"], weight, bias, True, momentum, eps)
        theirs = F.batch_norm(X, *buffers["torch"], weight, bias, True, momentum, eps)
        torch.testing.assert_close(ours, theirs, **tol)
        torch.testing.assert_close(buffers["ours"][0], buffers["torch"][0], **tol)  # running_mean
        torch.testing.assert_close(buffers["ours"][1], buffers["torch"][1], **tol)  # running_var
    X, weight, bias = _inputs(shape, dtype, device, affine, seed=99)
    ours = batch_norm(X, *buffers["ours"], weight, bias, False, momentum, eps)
    theirs = F.batch_norm(X, *buffers["torch"], weight, bias, False, momentum, eps)
    torch.testing.assert_close(ours, theirs, **tol)


def test_running_var_is_unbiased_and_normalization_biased():
    X = torch.tensor([[1.0], [2.0], [4.0], [7.0]])  # (N=4, C=1)
    running_mean, running_var = torch.zeros(1), torch.ones(1)
    y = batch_norm(X, running_mean, running_var, training=True, momentum=1.0, eps=0.0)
    biased, unbiased = X.var(correction=0), X.var(correction=1)
    torch.testing.assert_close(running_var, unbiased.reshape(1))
    torch.testing.assert_close(y, (X - X.mean()) / biased.sqrt())
    assert y.var(correction=0).item() == pytest.approx(1.0)


def test_momentum_none_is_a_cumulative_average_like_the_module():
    torch.manual_seed(0)
    module = nn.BatchNorm2d(3, momentum=None)
    running_mean, running_var = torch.zeros(3), torch.ones(3)
    batches = [torch.randn(4, 3, 2, 2) * (k + 1) + k for k in range(5)]
    for k, X in enumerate(batches, start=1):
        y_module = module(X)
        y = batch_norm(X, running_mean, running_var, module.weight, module.bias, True, 1 / k)
        torch.testing.assert_close(y, y_module)
    torch.testing.assert_close(running_mean, module.running_mean)
    torch.testing.assert_close(running_var, module.running_var)
    means = torch.stack([X.mean(dim=(0, 2, 3)) for X in batches])
    torch.testing.assert_close(module.running_mean, means.mean(0))  # a plain average


def test_matches_the_module_with_learned_parameters_and_gradients():
    torch.manual_seed(0)
    module = nn.BatchNorm2d(3)
    nn.init.uniform_(module.weight)
    nn.init.normal_(module.bias)
    X = torch.randn(6, 3, 4, 4, requires_grad=True)
    y_module = module(X)
    weight = module.weight.detach().clone().requires_grad_()
    X2 = X.detach().clone().requires_grad_()
    y = batch_norm(X2, torch.zeros(3), torch.ones(3), weight, module.bias.detach(), training=True)
    torch.testing.assert_close(y, y_module)
    (y_module**2).sum().backward()
    (y**2).sum().backward()
    torch.testing.assert_close(X2.grad, X.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weight.grad, module.weight.grad, rtol=1e-4, atol=1e-5)


def test_training_without_buffers_uses_batch_statistics():
    X = torch.randn(8, 3)
    torch.testing.assert_close(
        batch_norm(X, None, None, training=True), F.batch_norm(X, None, None, training=True)
    )


def test_one_value_per_channel_raises_like_torch():
    X = torch.randn(1, 3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel") as ours:
        batch_norm(X, torch.zeros(3), torch.ones(3), training=True)
    with pytest.raises(ValueError) as theirs:
        F.batch_norm(X, torch.zeros(3), torch.ones(3), training=True)
    assert str(ours.value) == str(theirs.value)
    # in eval mode one sample is fine: the running statistics are used
    assert not batch_norm(X, torch.zeros(3), torch.ones(3)).isnan().any()


def test_wrong_shapes_are_clear_errors():
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 2"):
        batch_norm(torch.randn(4, 3), torch.zeros(2), torch.ones(3), training=True)
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 4"):
        batch_norm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        batch_norm(torch.randn(5), torch.zeros(5), torch.ones(5))
    with pytest.raises(RuntimeError, match="must be defined in evaluation mode"):
        batch_norm(torch.randn(4, 3), None, None, training=False)


def test_trace_records_the_closed_form_for_identical_batches():
    """After k identical batches: running_mean = (1 - (1 - m)^k) E[x]."""
    torch.manual_seed(0)
    X = 20 * torch.randn(13, 3, 5, 4) + 100
    m = 0.1
    trace = trace_running_stats(nn.BatchNorm2d(3, momentum=m), [X] * 30)
    k = torch.arange(1, 31, dtype=torch.float32).unsqueeze(1)  # (steps, 1)
    expected = (1 - (1 - m) ** k) * X.mean(dim=(0, 2, 3))
    torch.testing.assert_close(trace.running_mean, expected, rtol=1e-5, atol=1e-4)
    assert trace.running_var.shape == (30, 3)
    torch.testing.assert_close(trace.batch_var[0], X.var(dim=(0, 2, 3)))  # unbiased
    with pytest.raises(ValueError, match="empty"):
        trace_running_stats(nn.BatchNorm2d(3), [])
