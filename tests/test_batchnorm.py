import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.nn import trace_running_stats
from reglab.nn.functional import batch_norm

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
    for step in range(4):  # several steps: the running buffers accumulate
        X, weight, bias = _inputs(shape, dtype, device, affine, seed=step)
        ours = batch_norm(X, *buffers["ours"], weight, bias, True, momentum, eps)
        theirs = F.batch_norm(X, *buffers["torch"], weight, bias, True, momentum, eps)
        torch.testing.assert_close(ours, theirs)
        torch.testing.assert_close(buffers["ours"][0], buffers["torch"][0])  # running_mean
        torch.testing.assert_close(buffers["ours"][1], buffers["torch"][1])  # running_var
    X, weight, bias = _inputs(shape, dtype, device, affine, seed=99)
    ours = batch_norm(X, *buffers["ours"], weight, bias, False, momentum, eps)
    theirs = F.batch_norm(X, *buffers["torch"], weight, bias, False, momentum, eps)
    torch.testing.assert_close(ours, theirs)


def test_running_var_is_unbiased_and_normalization_biased():
    X = torch.tensor([[1.0], [2.0], [4.0], [7.0]])  # (N=4, C=1)
    running_mean, running_var = torch.zeros(1), torch.ones(1)
    y = batch_norm(X, running_mean, running_var, training=True, momentum=1.0, eps=1e-12)
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
    module = nn.BatchNorm2d(3).double()
    nn.init.uniform_(module.weight)
    nn.init.normal_(module.bias)
    X = torch.randn(6, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y_module = module(X)
    weight = module.weight.detach().clone().requires_grad_()
    bias = module.bias.detach().clone().requires_grad_()
    X2 = X.detach().clone().requires_grad_()
    running = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y = batch_norm(X2, *running, weight, bias, training=True)
    torch.testing.assert_close(y, y_module)
    upstream = torch.randn_like(y)  # a generic dL/dy, not one whose sum hides errors
    y_module.backward(upstream)
    y.backward(upstream)
    torch.testing.assert_close(X2.grad, X.grad)
    torch.testing.assert_close(weight.grad, module.weight.grad)
    torch.testing.assert_close(bias.grad, module.bias.grad)
    torch.testing.assert_close(running[0], module.running_mean)
    torch.testing.assert_close(running[1], module.running_var)


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


@pytest.mark.parametrize("wrong", ["running_mean", "running_var", "weight", "bias"])
def test_each_wrong_sized_argument_is_named(wrong):
    args = dict(running_mean=torch.zeros(3), running_var=torch.ones(3), weight=torch.ones(3),
                bias=torch.zeros(3))  # fmt: skip
    args[wrong] = torch.ones(4)
    with pytest.raises(RuntimeError, match=rf"^{wrong} should contain 3 elements not 4$"):
        batch_norm(torch.randn(5, 3), **args, training=True)


@pytest.mark.parametrize("missing", ["running_mean", "running_var"])
def test_evaluation_needs_both_buffers(missing):
    args = dict(running_mean=torch.zeros(3), running_var=torch.ones(3))
    args[missing] = None
    with pytest.raises(
        RuntimeError, match=r"^running_mean and running_var must be defined in evaluation mode$"
    ):
        batch_norm(torch.randn(5, 3), **args)


def test_evaluation_accepts_eps_zero_like_torch():
    X, rm, rv = torch.randn(5, 3), torch.randn(3), torch.rand(3) + 0.5
    torch.testing.assert_close(batch_norm(X, rm, rv, eps=0.0), F.batch_norm(X, rm, rv, eps=0.0))


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
    # running_var = (1 - m)^k * 1 + (1 - (1 - m)^k) * unbiased Var[x]
    unbiased = X.var(dim=(0, 2, 3))
    torch.testing.assert_close(trace.running_var, (1 - m) ** k + (1 - (1 - m) ** k) * unbiased)
    torch.testing.assert_close(trace.batch_var, unbiased.expand(30, 3))
    torch.testing.assert_close(trace.batch_mean, X.mean(dim=(0, 2, 3)).expand(30, 3))
    with pytest.raises(ValueError, match=r"^batches is empty$"):
        trace_running_stats(nn.BatchNorm2d(3), [])


# --- float16/bfloat16, empty inputs, bad momentum and eps (issue 13) ---------------------


@pytest.mark.parametrize("buffer_dtype", [torch.float16, torch.float32])
def test_float16_running_var_does_not_overflow(buffer_dtype):
    """n / (n - 1) * Var in float16 overflowed (inf) once a channel had > ~164 values;
    torch computes the statistics in float32."""
    g = torch.Generator().manual_seed(0)
    X = (20 * torch.randn(200, 3, generator=g) + 100).half()  # 200 values per channel
    buffers = {who: (torch.zeros(3, dtype=buffer_dtype), torch.ones(3, dtype=buffer_dtype))
               for who in ("ours", "torch")}  # fmt: skip
    ours = batch_norm(X, *buffers["ours"], training=True)
    theirs = F.batch_norm(X, *buffers["torch"], training=True)
    assert torch.isfinite(buffers["ours"][1]).all()
    assert ours.dtype == theirs.dtype == torch.float16
    # The output against torch's float64 result rounded to float16 (torch's own float16
    # kernel with float16 buffers computes x * alpha + beta, which loses an ulp near the
    # mean; with float32 buffers it agrees with ours at the default tolerances too).
    exact = F.batch_norm(X.double(), None, None, training=True).half()
    torch.testing.assert_close(ours, exact)
    if buffer_dtype == torch.float32:
        torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(buffers["ours"][0], buffers["torch"][0])
    torch.testing.assert_close(buffers["ours"][1], buffers["torch"][1])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("device", DEVICES)
def test_half_input_with_float32_buffers_keeps_the_input_dtype(dtype, training, device):
    X = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(1)).to(device, dtype)
    weight, bias = torch.rand(3, device=device) + 0.5, torch.randn(3, device=device)
    rm, rv = torch.randn(3, device=device), torch.rand(3, device=device) + 0.5
    ours = batch_norm(X, rm.clone(), rv.clone(), weight, bias, training)
    theirs = F.batch_norm(X, rm.clone(), rv.clone(), weight, bias, training)
    assert ours.dtype == theirs.dtype == dtype
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("shape", [(4, 0), (4, 0, 5), (0, 3), (0, 3, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_empty_input_returns_empty_like_torch(shape, training):
    C = shape[1]
    rm, rv = torch.full((C,), 0.5), torch.full((C,), 2.0)
    ours = batch_norm(torch.empty(shape), rm, rv, torch.ones(C), torch.zeros(C), training)
    theirs = F.batch_norm(torch.empty(shape), rm.clone(), rv.clone(), training=training)
    assert ours.shape == theirs.shape == shape
    torch.testing.assert_close(rm, torch.full((C,), 0.5))  # buffers untouched, as torch's
    torch.testing.assert_close(rv, torch.full((C,), 2.0))


@pytest.mark.parametrize("momentum", [-0.1, 1.5, float("nan")])
def test_momentum_outside_unit_interval_is_a_clear_error(momentum):
    with pytest.raises(ValueError, match=r"momentum has to be between 0 and 1, but got"):
        batch_norm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), training=True,
                   momentum=momentum)  # fmt: skip


@pytest.mark.parametrize("training, eps", [(True, 0.0), (True, -1e-5), (False, -1e-5),
                                           (False, float("nan"))])  # fmt: skip
def test_eps_is_checked_like_torch(training, eps):
    args = (torch.randn(4, 3), torch.zeros(3), torch.ones(3))
    if eps == eps:  # torch rejects these too (it lets NaN through in evaluation)
        with pytest.raises(ValueError, match="eps must be"):
            F.batch_norm(*args, training=training, eps=eps)
    with pytest.raises(ValueError, match=r"eps must be (> 0 when training|>= 0), got"):
        batch_norm(*args, training=training, eps=eps)


# --- property-based: any shape, dtype, momentum and eps, outputs and every gradient ------

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


@st.composite
def batch_norm_cases(draw):
    N = draw(st.integers(2, 6))
    C = draw(st.integers(1, 4))
    spatial = draw(st.lists(st.integers(1, 4), max_size=2))
    return dict(
        shape=(N, C, *spatial),
        dtype=draw(st.sampled_from(DTYPES)),
        training=draw(st.booleans()),
        affine=draw(st.booleans()),
        momentum=draw(st.floats(0.0, 1.0)),
        eps=draw(st.floats(1e-6, 1e-1)),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=80, deadline=None, derandomize=True)
@given(case=batch_norm_cases())
def test_outputs_buffers_and_every_gradient_match_torch(case):
    """Half-precision inputs use float32 buffers and parameters, as mixed precision does."""
    shape, dtype, training = case["shape"], case["dtype"], case["training"]
    C = shape[1]
    g = torch.Generator().manual_seed(case["seed"])
    X = (3 * torch.randn(shape, generator=g, dtype=torch.float64) + 2).to(dtype)
    param_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    weight = torch.rand(C, generator=g, dtype=param_dtype) + 0.5
    params = [weight, torch.randn(C, generator=g, dtype=param_dtype)]
    params = params if case["affine"] else [None, None]
    buffers = (torch.randn(C, generator=g, dtype=param_dtype),
               torch.rand(C, generator=g, dtype=param_dtype) + 0.5)  # fmt: skip
    upstream = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    results = {}
    for who, fn in (("ours", batch_norm), ("torch", F.batch_norm)):
        inputs = [t.clone().requires_grad_() for t in (X, *params) if t is not None]
        running = [b.clone() for b in buffers]
        y = fn(inputs[0], *running, *(inputs[1:] or [None, None]), training,
               case["momentum"], case["eps"])  # fmt: skip
        grads = torch.autograd.grad(y, inputs, upstream)
        results[who] = (y, *running, *grads)
    assert results["ours"][0].dtype == dtype
    for ours, theirs in zip(results["ours"], results["torch"], strict=True):
        if dtype in (torch.float16, torch.bfloat16) and ours.dtype == dtype:
            # one rounding of the output (or of its gradient) to the half dtype apart
            torch.testing.assert_close(ours.double(), theirs.double(), **HALF_TOL[dtype])
        else:
            torch.testing.assert_close(ours, theirs)


#: A few ulps of the half dtype, relative to the value; values here are O(1).
HALF_TOL = {torch.float16: dict(rtol=4e-3, atol=4e-3), torch.bfloat16: dict(rtol=3e-2, atol=3e-2)}


def test_gradients_of_every_input_pass_gradcheck():
    """An oracle independent of torch's batch_norm: finite differences in float64."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(5, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    weight = (torch.rand(2, generator=g, dtype=torch.float64) + 0.5).requires_grad_()
    bias = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: batch_norm(x, None, None, w, b, training=True), (X, weight, bias)
    )
    running = torch.randn(2, dtype=torch.float64), torch.rand(2, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(
        lambda x, w, b: batch_norm(x, *running, w, b, training=False), (X, weight, bias)
    )


@pytest.mark.parametrize("module", [nn.BatchNorm2d(3, track_running_stats=False), nn.ReLU()])
def test_trace_needs_a_module_with_running_statistics(module):
    with pytest.raises(ValueError, match=rf"^{type(module).__name__} has no running statistics"):
        trace_running_stats(module, [torch.randn(4, 3, 2, 2)])


class _OnlyMean(nn.Module):  # a module with one of the two buffers
    def __init__(self, with_var_attribute):
        super().__init__()
        self.register_buffer("running_mean", torch.zeros(3))
        if with_var_attribute:
            self.running_var = None

    def forward(self, X):
        return X


@pytest.mark.parametrize("with_var_attribute", [False, True])
def test_trace_needs_both_running_buffers(with_var_attribute):
    with pytest.raises(ValueError, match=r"^_OnlyMean has no running statistics"):
        trace_running_stats(_OnlyMean(with_var_attribute), [torch.randn(4, 3)])


def test_defaults_are_torchs():
    """momentum=0.1, eps=1e-5, training=False, no affine: called with positional buffers only."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, 2, generator=g, dtype=torch.float64) * 5 + 1
    ours_buffers = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    torch_buffers = [b.clone() for b in ours_buffers]
    torch.testing.assert_close(batch_norm(X, *ours_buffers), F.batch_norm(X, *torch_buffers))
    ours = batch_norm(X, *ours_buffers, None, None, True)
    torch.testing.assert_close(ours, F.batch_norm(X, *torch_buffers, None, None, True))
    torch.testing.assert_close(ours_buffers, torch_buffers)
    # eval with a tiny variance: only the default eps keeps the output finite and equal
    tiny = torch.full((3,), 1e-12, dtype=torch.float64)
    torch.testing.assert_close(
        batch_norm(X, torch.zeros(3, dtype=torch.float64), tiny),
        F.batch_norm(X, torch.zeros(3, dtype=torch.float64), tiny),
    )


def test_trace_of_a_1d_module_and_inputs_that_require_grad():
    module = nn.BatchNorm1d(2, momentum=0.5)
    X = torch.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]], requires_grad=True)  # (N, C)
    trace = trace_running_stats(module, [X, 2 * X])
    assert not any(t.requires_grad for t in vars(trace).values())
    torch.testing.assert_close(trace.batch_mean, torch.tensor([[3.0, 30.0], [6.0, 60.0]]))
    torch.testing.assert_close(trace.running_mean[0], torch.tensor([1.5, 15.0]))  # 0.5 * mean
    torch.testing.assert_close(trace.batch_var[1], torch.tensor([16.0, 1600.0]))  # unbiased
