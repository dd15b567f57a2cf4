"""Cross-entropy with label smoothing: values and gradients against F.cross_entropy (float64),
against cross-entropy with probability targets, the optimal logit gap, and bad arguments."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import named_errors_test
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.nn import functional as RF
from reglab.nn import logit_gap, optimal_logit_gap, smooth_targets
from reglab.nn.functional import cross_entropy

EPS = [0.0, 0.1, 0.5, 1.0]
REDUCTIONS = ["mean", "sum", "none"]
# (input shape, class-index target shape): batched, spatial (N, K, d1, d2), unbatched
SHAPES = [((7, 5), (7,)), ((3, 5, 4, 2), (3, 4, 2)), ((5,), ())]


def _data(shape, target_shape, seed=0, ignore=True):
    g = torch.Generator().manual_seed(seed)
    K = shape[0] if len(shape) == 1 else shape[1]
    x = (3 * torch.randn(shape, generator=g, dtype=torch.float64)).requires_grad_()
    y = torch.randint(0, K, target_shape, generator=g)
    if ignore and y.dim() > 0:
        y.view(-1)[1] = -100  # one ignored position
    w = torch.rand(K, generator=g, dtype=torch.float64) + 0.2
    return x, y, w


def _value_and_grad(fn, x, *args, **kwargs):
    out = fn(x, *args, **kwargs)
    (grad,) = torch.autograd.grad((out * torch.linspace(1, 2, out.numel()).view_as(out)).sum(), x)
    return out, grad


@pytest.mark.parametrize("shape, target_shape", SHAPES)
@pytest.mark.parametrize("eps", EPS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_torch_values_and_gradients(shape, target_shape, eps, reduction, weighted):
    x, y, w = _data(shape, target_shape)
    weight = w if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=eps)
    ours, g_ours = _value_and_grad(cross_entropy, x, y, **kwargs)
    theirs, g_theirs = _value_and_grad(F.cross_entropy, x, y, **kwargs)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eps", EPS)
def test_ignore_index_is_excluded_from_loss_and_mean(eps):
    x, y, w = _data((9, 4), (9,), ignore=False)
    y_ignored = y.clone()
    y_ignored[[0, 3]] = 2  # a custom ignore_index that is also a valid class
    kwargs = dict(weight=w, ignore_index=2, label_smoothing=eps)
    torch.testing.assert_close(
        cross_entropy(x, y_ignored, **kwargs), F.cross_entropy(x, y_ignored, **kwargs)
    )
    kept = y_ignored != 2
    by_hand = cross_entropy(x[kept], y_ignored[kept], weight=w, label_smoothing=eps)
    torch.testing.assert_close(cross_entropy(x, y_ignored, **kwargs), by_hand)
    none = cross_entropy(x, y_ignored, reduction="none", **kwargs)
    assert (none[~kept] == 0).all() and (none[kept] > 0).all()


def test_all_ignored_mean_is_nan_like_torch():
    x, _, w = _data((4, 3), (4,))
    y = torch.full((4,), -100)
    for weight in (None, w):
        ours = cross_entropy(x, y, weight=weight, label_smoothing=0.2)
        assert torch.isnan(ours) and torch.isnan(F.cross_entropy(x, y, weight=weight))


@pytest.mark.parametrize("eps", EPS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_equals_cross_entropy_with_smoothed_probability_targets(eps, reduction):
    x, y, _ = _data((8, 6), (8,), ignore=False)
    q = smooth_targets(y, 6, eps, dtype=torch.float64)
    torch.testing.assert_close(q.sum(1), torch.ones(8, dtype=torch.float64))
    torch.testing.assert_close(q[torch.arange(8), y], torch.full((8,), 1 - eps + eps / 6).double())
    ours, g_ours = _value_and_grad(cross_entropy, x, y, reduction=reduction, label_smoothing=eps)
    soft, g_soft = _value_and_grad(F.cross_entropy, x, q, reduction=reduction)
    torch.testing.assert_close(ours, soft, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_ours, g_soft, rtol=1e-12, atol=1e-12)


def test_with_class_weights_smoothing_is_not_a_weighted_probability_target():
    # torch weights the two cases differently (see the docstring): check that we follow it
    x, y, w = _data((8, 6), (8,), ignore=False)
    q = smooth_targets(y, 6, 0.3, dtype=torch.float64)
    ours = cross_entropy(x, y, weight=w, label_smoothing=0.3)
    torch.testing.assert_close(ours, F.cross_entropy(x, y, weight=w, label_smoothing=0.3))
    assert not torch.allclose(ours, F.cross_entropy(x, q, weight=w))
    by_hand = -(w * q * x.log_softmax(1)).sum(1).sum() / w[y].sum()  # same numerator
    torch.testing.assert_close(ours, by_hand)


@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3), (4,)])
@pytest.mark.parametrize("eps", EPS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_probability_targets_equal_torch(shape, eps, weighted, reduction):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
    class_dim = 0 if len(shape) == 1 else 1
    t = torch.rand(shape, generator=g, dtype=torch.float64).softmax(class_dim)
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.1 if weighted else None
    kwargs = dict(weight=w, reduction=reduction, label_smoothing=eps)
    ours, g_ours = _value_and_grad(cross_entropy, x, t, **kwargs)
    theirs, g_theirs = _value_and_grad(F.cross_entropy, x, t, **kwargs)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 6),
    k=st.integers(2, 7),
    eps=st.floats(0, 1),
    scale=st.floats(0.1, 30),
    seed=st.integers(0, 2**16),
)
def test_equals_torch_for_any_size_and_smoothing(n, k, eps, scale, seed):
    g = torch.Generator().manual_seed(seed)
    x = (scale * torch.randn(n, k, generator=g, dtype=torch.float64)).requires_grad_()
    y = torch.randint(0, k, (n,), generator=g)
    w = torch.rand(k, generator=g, dtype=torch.float64) + 0.1
    ours, g_ours = _value_and_grad(cross_entropy, x, y, weight=w, label_smoothing=eps)
    theirs, g_theirs = _value_and_grad(F.cross_entropy, x, y, weight=w, label_smoothing=eps)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-10, atol=1e-10)


def test_float32_and_the_functional_path():
    x, y = torch.randn(16, 10), torch.randint(0, 10, (16,))
    assert RF.cross_entropy is cross_entropy
    torch.testing.assert_close(
        RF.cross_entropy(x, y, label_smoothing=0.1), F.cross_entropy(x, y, label_smoothing=0.1)
    )


@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_minus_infinite_logits_equal_torch(eps, weighted, reduction):
    """A class ruled out by a -inf logit: finite where torch is finite (no 0 * inf = NaN)."""
    inf = math.inf
    x = torch.tensor(
        [[0.0, -inf, 1.0], [2.0, 0.5, -inf], [-inf, 0.0, 0.0]], dtype=torch.float64
    ).requires_grad_()
    y = torch.tensor([2, 0, 1])
    w = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64) if weighted else None
    kwargs = dict(weight=w, reduction=reduction, label_smoothing=eps)
    ours, g_ours = _value_and_grad(cross_entropy, x, y, **kwargs)
    theirs, g_theirs = _value_and_grad(F.cross_entropy, x, y, **kwargs)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    if eps == 0:  # with smoothing both losses are inf, and so are not differentiated
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(g_ours, g_theirs, rtol=1e-12, atol=1e-12)


def test_the_minus_infinite_logit_example_of_the_issue():
    x, y = torch.tensor([[0.0, -math.inf, 1.0]]), torch.tensor([2])
    torch.testing.assert_close(cross_entropy(x, y), F.cross_entropy(x, y))
    assert cross_entropy(x, y).item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_the_deprecated_size_average_and_reduce_are_gone():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(TypeError, match="size_average"):
        cross_entropy(x, y, size_average=False)
    with pytest.raises(TypeError, match="positional"):  # torch's 4th is size_average: no
        cross_entropy(x, y, None, False)


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("K", [2, 10, 100])
def test_optimal_logit_gap_minimises_the_smoothed_loss(eps, K):
    # free logits trained to the optimum: the gap z_y - z_c matches the formula
    z = torch.zeros(1, K, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([K // 2])
    opt = torch.optim.LBFGS(
        [z], max_iter=500, tolerance_grad=1e-13, tolerance_change=0, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z, y, label_smoothing=eps)  # torch's loss: an independent oracle
        loss.backward()
        return loss

    opt.step(closure)
    gap = logit_gap(z.detach(), y)
    expected = math.log((1 - eps + eps / K) / (eps / K))
    assert optimal_logit_gap(eps, K) == pytest.approx(expected, rel=1e-12)
    assert gap.item() == pytest.approx(expected, abs=1e-6)
    others = z.detach()[0, torch.arange(K) != K // 2]
    torch.testing.assert_close(others, others.mean().expand_as(others))  # all others equal


def test_optimal_logit_gap_limits_and_errors():
    assert optimal_logit_gap(0.0, 10) == math.inf
    assert optimal_logit_gap(1.0, 10) == 0.0
    assert optimal_logit_gap(0.1, 10) == pytest.approx(math.log(91))
    with pytest.raises(ValueError, match=r"eps has to be between 0 and 1, but got 1\.5"):
        optimal_logit_gap(1.5, 10)
    with pytest.raises(ValueError, match="num_classes must be >= 2, got 1"):
        optimal_logit_gap(0.1, 1)


def test_logit_gap_by_hand():
    logits = torch.tensor([[3.0, 1.0, 0.0, -1.0], [0.0, 2.0, 2.0, 2.0]])
    torch.testing.assert_close(logit_gap(logits, torch.tensor([0, 0])), torch.tensor([3.0, -2.0]))
    with pytest.raises(ValueError, match="logits must be"):
        logit_gap(logits, torch.tensor([0]))


@pytest.mark.parametrize("eps", [-0.1, 1.1, float("nan")])
def test_smoothing_outside_0_1_is_a_clear_error(eps):
    x, y = torch.randn(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="label_smoothing has to be between 0 and 1, but got"):
        cross_entropy(x, y, label_smoothing=eps)
    with pytest.raises(ValueError, match="eps has to be between 0 and 1"):
        smooth_targets(y, 4, eps)


def test_bad_arguments_are_clear_errors():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"input and target differ in batch size: 4 != 3"):
        cross_entropy(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        cross_entropy(x, torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"outside \[0, 3\).*max 3"):
        cross_entropy(x, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"outside \[0, 3\).*min -1"):
        cross_entropy(x, torch.tensor([0, 1, 2, -1]))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\)"):
        cross_entropy(x, torch.tensor([0, 1, 2, 0]), weight=torch.ones(4))
    with pytest.raises(ValueError, match="reduction must be one of"):
        cross_entropy(x, torch.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="probability targets must have the input's shape"):
        cross_entropy(x, torch.rand(4, 2))
    with pytest.raises(ValueError, match="ignore_index is not supported for probability"):
        cross_entropy(x, torch.rand(4, 3).softmax(1), ignore_index=1)
    with pytest.raises(ValueError, match="input must have a class dimension"):
        cross_entropy(torch.tensor(1.0), torch.tensor(0))
    with pytest.raises(ValueError, match="floating-point logits"):
        cross_entropy(torch.ones(4, 3, dtype=torch.long), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="integer class indices"):
        cross_entropy(x, torch.tensor([True, False, True, False]))


@pytest.mark.parametrize("weight", [0.5, 1, [1.0, 2.0, 3.0]])
def test_a_weight_that_is_no_tensor_is_a_type_error_naming_weight(weight):
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(TypeError, match=r"^weight must be a tensor of one weight per class"):
        cross_entropy(x, y, weight=weight)


def _named_errors():
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    targets = r"^target must hold class indices in \[0, 3\), got "
    shape = r"^target must have shape \(4,\) \(the input's without the class dimension 1\) or "
    return {
        "smooth eps": (lambda: smooth_targets(y, 3, 1.5), ValueError,
                       r"^eps has to be between 0 and 1, but got 1\.5"),
        "smooth K": (lambda: smooth_targets(y, 0), ValueError,
                     r"^num_classes must be an integer >= 1, got 0"),
        "smooth int32": (lambda: smooth_targets(y.int(), 3), TypeError,
                         r"^target must be an int64 tensor of class indices, got torch\.int32$"),
        "smooth list": (lambda: smooth_targets([0, 1], 3), TypeError,
                        r"^target must be an int64 tensor of class indices, got list$"),
        "smooth K class": (lambda: smooth_targets(torch.tensor([0, 3]), 3), ValueError,
                           targets + r"0\.\.3$"),
        "smooth -1": (lambda: smooth_targets(torch.tensor([-1, 2]), 3), ValueError,
                      targets + r"-1\.\.2$"),
        "gap eps": (lambda: optimal_logit_gap(-0.5, 3), ValueError, r"^eps has to be between"),
        "gap K": (lambda: optimal_logit_gap(0.1, 0), ValueError,
                  r"^num_classes must be an integer >= 1, got 0"),
        "logit_gap float y": (lambda: logit_gap(x, y.float()), TypeError,
                              r"^y must hold integer class indices, got torch\.float32$"),
        "logit_gap 1-D": (lambda: logit_gap(x[0], y[:1]), ValueError,
                          r"^logits must be \(N, K\) and y \(N,\), got \(3,\) and \(1,\)$"),
        "reduction": (lambda: cross_entropy(x, y, reduction="avg"), ValueError,
                      r"^reduction must be one of \('mean', 'sum', 'none'\), got 'avg'$"),
        "int logits": (lambda: cross_entropy(x.long(), y), ValueError,
                       r"^input must hold floating-point logits, got torch\.int64$"),
        "target shape": (lambda: cross_entropy(x, y[:, None]), ValueError,
                         shape + r"the input's shape for probabilities; got \(4, 1\)$"),
        "bool target": (lambda: cross_entropy(x, y > 0), ValueError,
                        r"^target must hold integer class indices, got torch\.bool$"),
        "complex target": (lambda: cross_entropy(x, y.to(torch.complex64)), ValueError,
                           r"^target must hold integer class indices, got torch\.complex64$"),
        "ignore_index 0": (lambda: cross_entropy(x, x.softmax(1), ignore_index=0), ValueError,
                           r"^ignore_index is not supported for probability targets$"),
        "probability shape": (lambda: cross_entropy(x, x[:, :2].softmax(1)), ValueError,
                              r"^probability targets must have the input's shape \(4, 3\), "
                              r"got \(4, 2\)$"),
        "weight shape": (lambda: cross_entropy(x, y, torch.ones(2)), ValueError,
                         r"^weight must have one entry per class, shape \(3,\), got \(2,\)$"),
        "weight type": (lambda: cross_entropy(x, y, 0.5), TypeError,
                        r"^weight must be a tensor .*; got float 0\.5$"),
        "0-D input": (lambda: cross_entropy(x[0, 0], y[0]), ValueError,
                      r"^input must have a class dimension: shape \(K,\), \(N, K\) or "
                      r"\(N, K, \.\.\.\)$"),
        "smoothing": (lambda: cross_entropy(x, y, label_smoothing=2.0), ValueError,
                      r"^label_smoothing has to be between 0 and 1, but got 2\.0"),
    }  # fmt: skip


test_errors_name_the_argument_and_its_range = named_errors_test(_named_errors)


def test_smooth_targets_edges():
    """No samples, the largest class, the default dtype and an explicit one."""
    assert smooth_targets(torch.zeros(0, dtype=torch.long), 4).shape == (0, 4)
    q = smooth_targets(torch.tensor([2]), 3, 0.3)
    assert q.dtype == torch.get_default_dtype()
    torch.testing.assert_close(q, torch.tensor([[0.1, 0.1, 0.8]]))  # (1 - 0.3) + 0.3 / 3
    q64 = smooth_targets(torch.tensor([0]), 2, 0.5, dtype=torch.float64)
    assert q64.dtype == torch.float64 and q64.tolist() == [[0.75, 0.25]]


def test_probability_targets_with_a_negative_ignore_index_equal_torch():
    """Only a non-negative ignore_index is refused with probability targets, as in torch."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    t = torch.rand(4, 3, generator=g, dtype=torch.float64).softmax(1)
    for ignore_index in (-1, -100):
        torch.testing.assert_close(
            cross_entropy(x, t, ignore_index=ignore_index, label_smoothing=0.2),
            F.cross_entropy(x, t, ignore_index=ignore_index, label_smoothing=0.2),
        )


def test_smooth_targets_default_is_no_smoothing():
    torch.testing.assert_close(smooth_targets(torch.tensor([1, 0]), 3), torch.eye(3)[[1, 0]])


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_a_single_class_with_ignored_targets_equals_torch(eps):
    """K = 1: the placeholder class of an ignored target must be a valid class, 0."""
    x = torch.randn(4, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.tensor([0, -100, 0, -100])
    for reduction in REDUCTIONS:
        kwargs = dict(reduction=reduction, label_smoothing=eps)
        torch.testing.assert_close(cross_entropy(x, y, **kwargs), F.cross_entropy(x, y, **kwargs))
