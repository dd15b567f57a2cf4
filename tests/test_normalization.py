"""layer_norm, group_norm, instance_norm and rms_norm against torch.nn.functional: outputs and
the gradients of every input, in float64 (plus gradcheck), float32 and half precision."""

import math

import pytest
import torch
import torch.nn.functional as F

from reglab.nn import KINDS, shared_stats_mask
from reglab.nn import functional as ours

SHAPES = [(5, 6), (4, 6, 7), (3, 6, 4, 5), (2, 6, 3, 4, 2)]  # 2-D to 5-D, C = 6
SPATIAL = SHAPES[1:]  # instance norm needs positions
HALF_TOL = {torch.float16: dict(rtol=1e-2, atol=1e-2), torch.bfloat16: dict(rtol=5e-2, atol=5e-2)}


def _case(name, shape, dtype, affine, option, seed=0):
    """(positional args, keyword args) of one call; the same for ours and torch's."""
    g = torch.Generator().manual_seed(seed)
    X = 3 * torch.randn(shape, generator=g, dtype=torch.float64) + 2  # not standardized
    C = shape[1]
    if name in ("layer_norm", "rms_norm"):
        normalized_shape = tuple(shape[option:])  # option: first normalized dimension
        param_shape = normalized_shape
    else:
        param_shape = (C,)
    weight = torch.rand(param_shape, generator=g, dtype=torch.float64) + 0.5 if affine else None
    bias = torch.randn(param_shape, generator=g, dtype=torch.float64) if affine else None
    cast = lambda t: None if t is None else t.to(dtype).requires_grad_()  # noqa: E731
    X, weight, bias = cast(X), cast(weight), cast(bias)
    if name == "layer_norm":
        return (X, normalized_shape, weight, bias), {}
    if name == "rms_norm":
        return (X, normalized_shape, weight), {"eps": option * 1e-3 if option > 1 else None}
    if name == "group_norm":
        return (X, option, weight, bias), {}
    return (X, None, None, weight, bias), {}  # instance_norm


def _cases():
    for shape in SHAPES:
        for first in range(1, len(shape)):  # normalize over the last 1, 2, ... dimensions
            yield "layer_norm", shape, first
            yield "rms_norm", shape, first
        for G in (1, 2, 3, 6):  # 1, C and the divisors of C = 6
            yield "group_norm", shape, G
    for shape in SPATIAL:
        yield "instance_norm", shape, None


CASES = list(_cases())
IDS = [f"{n}-{len(s)}d-{o}" for n, s, o in CASES]


def _set_size(name, shape, option):
    """How many values share one mean and variance."""
    if name in ("layer_norm", "rms_norm"):
        return math.prod(shape[option:])
    if name == "group_norm":
        return shape[1] // option * math.prod(shape[2:])
    return math.prod(shape[2:])


# A set of one or two values normalizes to 0 or to +-1 whatever the input, so the exact
# gradient is 0 up to a term in eps; in float32 both implementations return only round-off
# there. Those cases are checked in float64 alone.
LOW_CASES, LOW_IDS = zip(
    *[(c, i) for c, i in zip(CASES, IDS, strict=True) if c[0] == "rms_norm" or _set_size(*c) > 2],
    strict=True,
)


def _run(fn, args, kwargs):
    """Output and the gradient of a fixed random loss w.r.t. every tensor input."""
    y = fn(*args, **kwargs)
    inputs = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(1)).to(y.dtype)
    grads = torch.autograd.grad((y * weights).sum(), inputs)
    return y, grads


def _compare(name, shape, option, dtype, affine, **tol):
    args, kwargs = _case(name, shape, dtype, affine, option)
    y, grads = _run(getattr(ours, name), args, kwargs)
    args_t, kwargs_t = _case(name, shape, dtype, affine, option)
    y_t, grads_t = _run(getattr(F, name), args_t, kwargs_t)
    assert y.dtype == y_t.dtype == dtype
    torch.testing.assert_close(y, y_t, **tol)
    assert len(grads) == len(grads_t) == (3 if affine and name != "rms_norm" else 1 + affine)
    for grad, grad_t in zip(grads, grads_t, strict=True):
        torch.testing.assert_close(grad, grad_t, **tol)


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("name, shape, option", CASES, ids=IDS)
def test_float64_outputs_and_gradients_match_torch(name, shape, option, affine):
    _compare(name, shape, option, torch.float64, affine, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("name, shape, option", LOW_CASES, ids=LOW_IDS)
def test_float32_matches_torch_at_default_tolerances(name, shape, option, affine):
    _compare(name, shape, option, torch.float32, affine)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name, shape, option", LOW_CASES[::3], ids=LOW_IDS[::3])
def test_half_precision_is_as_accurate_as_torch(name, shape, option, dtype):
    """Both are compared with float64 on the same (rounded) inputs: ours may differ from torch
    by rounding, but its error must not exceed torch's own by more than a rounding step.
    (torch's CPU kernels accumulate some half-precision gradients less accurately.)"""
    args, kwargs = _case(name, shape, dtype, True, option)
    y, grads = _run(getattr(ours, name), args, kwargs)
    y_t, grads_t = _run(getattr(F, name), *_case(name, shape, dtype, True, option))
    exact = [
        a.detach().double().requires_grad_() if isinstance(a, torch.Tensor) else a for a in args
    ]
    y_64, grads_64 = _run(getattr(F, name), exact, kwargs)
    assert y.dtype == y_t.dtype == dtype
    for mine, theirs, truth in zip((y, *grads), (y_t, *grads_t), (y_64, *grads_64), strict=True):
        step = truth.abs().max().item() * torch.finfo(dtype).eps  # one rounding step at scale
        error, error_torch = (mine - truth).abs().max(), (theirs - truth).abs().max()
        assert error <= error_torch + step, (error, error_torch)
        torch.testing.assert_close(mine, theirs, **HALF_TOL[dtype])


GRADCHECK = [
    ("layer_norm", (3, 4, 5), 1),
    ("layer_norm", (3, 4, 5), 2),
    ("rms_norm", (3, 4, 5), 2),
    ("rms_norm", (3, 4, 5), 1),
    ("group_norm", (2, 6, 3), 2),
    ("group_norm", (2, 6, 2, 2), 1),
    ("instance_norm", (2, 3, 4), None),
    ("instance_norm", (2, 3, 2, 3), None),
]


@pytest.mark.parametrize("name, shape, option", GRADCHECK)
def test_gradcheck(name, shape, option):
    args, kwargs = _case(name, shape, torch.float64, True, option)
    inputs = [a for a in args if isinstance(a, torch.Tensor)]
    rest = {i: a for i, a in enumerate(args) if not isinstance(a, torch.Tensor)}

    def fn(*tensors):
        it = iter(tensors)
        full = [rest[i] if i in rest else next(it) for i in range(len(args))]
        return getattr(ours, name)(*full, **kwargs)

    assert torch.autograd.gradcheck(fn, inputs)
    assert torch.autograd.gradgradcheck(fn, inputs)


def test_rms_norm_default_eps_is_float32s_for_half_inputs():
    """A tiny input is where eps matters: torch uses float32's eps for float16 inputs."""
    X = torch.full((2, 4), 1e-4, dtype=torch.float16)
    torch.testing.assert_close(ours.rms_norm(X, (4,)), F.rms_norm(X, (4,)))
    X64 = torch.full((2, 4), 1e-9, dtype=torch.float64)
    torch.testing.assert_close(ours.rms_norm(X64, (4,)), F.rms_norm(X64, (4,)))
    assert ours.rms_norm(X64, (4,)).max() < 0.1  # eps = 2.2e-16 dominates 1e-18


@pytest.mark.parametrize("shape", SPATIAL)
@pytest.mark.parametrize("momentum", [0.1, 1.0])
def test_instance_norm_running_stats_match_torch(shape, momentum):
    C = shape[1]
    buffers = {who: (torch.zeros(C), torch.ones(C)) for who in ("ours", "torch")}
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        X = 4 * torch.randn(shape, generator=g) + 1
        y = ours.instance_norm(X, *buffers["ours"], momentum=momentum)
        y_t = F.instance_norm(X, *buffers["torch"], momentum=momentum)
        torch.testing.assert_close(y, y_t)
    for mine, theirs in zip(buffers["ours"], buffers["torch"], strict=True):
        torch.testing.assert_close(mine, theirs)
    X = torch.randn(shape, generator=g)
    kw = dict(use_input_stats=False, eps=1e-3)
    torch.testing.assert_close(
        ours.instance_norm(X, *buffers["ours"], **kw), F.instance_norm(X, *buffers["torch"], **kw)
    )


def test_group_norm_with_one_group_is_layer_norm_and_with_C_groups_instance_norm():
    X = torch.randn(4, 6, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(ours.group_norm(X, 1), ours.layer_norm(X, X.shape[1:]))
    torch.testing.assert_close(ours.group_norm(X, 6), ours.instance_norm(X))
    assert not torch.allclose(ours.group_norm(X, 3), ours.group_norm(X, 1))


def test_layer_norm_is_the_same_in_both_modes_and_independent_of_the_batch():
    X = torch.randn(8, 6, 4, dtype=torch.float64)
    full = ours.layer_norm(X, (6, 4))
    torch.testing.assert_close(full[:1], ours.layer_norm(X[:1], (6, 4)))  # sample 0 alone


def _bad_calls():
    X = torch.randn(2, 6, 4)
    return {
        "layer_norm wrong shape": (lambda f: f.layer_norm(X, (3,)), RuntimeError, "normalized"),
        "layer_norm too long": (lambda f: f.layer_norm(X, (1, 2, 6, 4)), RuntimeError, "input"),
        "layer_norm empty": (lambda f: f.layer_norm(X, ()), RuntimeError, "1-dimensional"),
        "layer_norm int": (lambda f: f.layer_norm(X, 4), TypeError, "normalized_shape"),
        "layer_norm weight": (
            lambda f: f.layer_norm(X, (4,), torch.ones(3)), RuntimeError, "weight"),
        "layer_norm bias": (
            lambda f: f.layer_norm(X, (4,), None, torch.ones(3)), RuntimeError, "bias"),
        "rms_norm wrong shape": (lambda f: f.rms_norm(X, (3,)), RuntimeError, "normalized"),
        "rms_norm weight": (lambda f: f.rms_norm(X, (4,), torch.ones(3)), RuntimeError, "weight"),
        "group_norm indivisible": (lambda f: f.group_norm(X, 4), RuntimeError, "num_groups=4"),
        "group_norm negative": (lambda f: f.group_norm(X, -2), RuntimeError, "-2"),
        "group_norm 1-D": (lambda f: f.group_norm(torch.randn(6), 2), RuntimeError, "2 dim"),
        "group_norm weight": (
            lambda f: f.group_norm(X, 2, torch.ones(3)), RuntimeError, "weight"),
        "group_norm bias": (
            lambda f: f.group_norm(X, 2, None, torch.ones(3)), RuntimeError, "bias"),
        "instance_norm one position": (
            lambda f: f.instance_norm(torch.randn(2, 6, 1)), ValueError, "spatial"),
        "instance_norm 2-D": (lambda f: f.instance_norm(torch.randn(2, 6)), ValueError, "spatial"),
        "instance_norm no buffers": (
            lambda f: f.instance_norm(X, use_input_stats=False), RuntimeError, "running_mean"),
        "instance_norm buffer size": (
            lambda f: f.instance_norm(X, torch.zeros(5), torch.ones(6)),
            RuntimeError,
            "running_mean",
        ),
        "instance_norm weight": (
            lambda f: f.instance_norm(X, weight=torch.ones(5)), RuntimeError, "weight"),
    }  # fmt: skip


@pytest.mark.parametrize("case", list(_bad_calls()))
def test_bad_arguments_raise_like_torch(case):
    call, error, words = _bad_calls()[case]
    with pytest.raises(error, match=words):
        call(ours)
    with pytest.raises(error):  # torch raises the same exception type
        call(F)


def test_group_norm_zero_groups_is_a_clear_error():
    # torch itself fails here with an unhelpful ZeroDivisionError
    with pytest.raises(RuntimeError, match="num_groups to be greater than 0, got 0"):
        ours.group_norm(torch.randn(2, 6, 4), 0)


PLAIN_KINDS = [("batch", None), ("layer", None), ("instance", None)]
MASK_CASES = [
    (shape, kind, G)
    for shape in [(4, 6, 3, 2), (3, 4, 5), (5, 6)]
    for kind, G in [*PLAIN_KINDS, ("group", 1), ("group", 2), ("group", shape[1])]
    if not (kind == "instance" and len(shape) == 2)  # instance norm needs positions
]


@pytest.mark.parametrize("shape, kind, G", MASK_CASES)
def test_shared_stats_mask_is_the_set_of_axes_of_each_kind(shape, kind, G):
    N, C = shape[:2]
    index = (N - 1, C - 1) + (0,) * (len(shape) - 2)  # the last channel of the last sample
    mask = shared_stats_mask(kind, shape, G, index=index)
    n, c = torch.meshgrid(torch.arange(N), torch.arange(C), indexing="ij")
    same = {
        "batch": c == C - 1,  # the same channel, every sample
        "layer": n == N - 1,  # the same sample, every channel
        "instance": (n == N - 1) & (c == C - 1),
        "group": (n == N - 1) & (c // (C // (G or 1)) == (C - 1) // (C // (G or 1))),
    }[kind]
    expected = same.reshape(N, C, *[1] * (len(shape) - 2)).expand(shape)
    assert torch.equal(mask, expected)
    per_stat = {"batch": N, "layer": C, "instance": 1, "group": C // (G or 1)}[kind]
    assert mask.sum() == per_stat * math.prod(shape[2:])


def test_shared_stats_mask_rejects_bad_kinds():
    with pytest.raises(ValueError, match="kind must be one of"):
        shared_stats_mask("weight", (2, 3, 4))
    with pytest.raises(ValueError, match="num_groups is required"):
        shared_stats_mask("group", (2, 4, 4))
    assert KINDS == ("batch", "layer", "instance", "group")


@pytest.mark.parametrize("name", ["group_norm", "layer_norm"])
def test_backward_formula_with_gamma_inside_the_sums_matches_torch(name):
    """The chapter's eq-norm-backward: dL/dx_i = (gamma_i g_i - mean(gamma g)
    - x_hat_i mean(gamma g x_hat)) / sqrt(var + eps), with gamma varying inside the set."""
    g = torch.Generator().manual_seed(0)
    X = 3 * torch.randn(4, 6, 5, generator=g, dtype=torch.float64) + 2  # (N, C, L)
    G = 3 if name == "group_norm" else 1  # layer norm over (C, L): one set per sample
    gamma_shape = (6,) if name == "group_norm" else (6, 5)  # per channel / per element
    gamma = torch.rand(gamma_shape, generator=g, dtype=torch.float64) + 0.5
    g_out = torch.randn(X.shape, generator=g, dtype=torch.float64)
    x = X.clone().requires_grad_()
    if name == "group_norm":
        y, gamma_full = F.group_norm(x, G, gamma), gamma.view(1, 6, 1).expand_as(X)
    else:
        y, gamma_full = F.layer_norm(x, (6, 5), gamma), gamma.expand_as(X)
    y.backward(g_out)
    sets = (4, G, -1)  # (N, sets per sample, values per set)
    x_hat = F.group_norm(X, G).reshape(sets)
    gg = (gamma_full * g_out).reshape(sets)  # gamma_k g_k
    invstd = (X.reshape(sets).var(2, correction=0, keepdim=True) + 1e-5).rsqrt()
    grad = invstd * (gg - gg.mean(2, keepdim=True) - x_hat * (gg * x_hat).mean(2, keepdim=True))
    torch.testing.assert_close(grad.reshape(X.shape), x.grad)
    # gamma cannot be factored out of the sums when it varies inside a set
    g_plain = g_out.reshape(sets)
    factored = (
        gamma_full.reshape(sets)
        * invstd
        * (
            g_plain
            - g_plain.mean(2, keepdim=True)
            - x_hat * (g_plain * x_hat).mean(2, keepdim=True)
        )
    )
    assert (factored.reshape(X.shape) - x.grad).abs().max() > 1e-3


def _torch_message_calls():
    X = torch.randn(2, 6, 4)
    return {
        "layer_norm empty": lambda f: f.layer_norm(X, ()),
        "layer_norm two trailing dims": lambda f: f.layer_norm(X, (3, 5)),
        "layer_norm weight": lambda f: f.layer_norm(X, (4,), torch.ones(3)),
        "layer_norm bias": lambda f: f.layer_norm(X, (4,), None, torch.ones(3)),
        "group_norm weight": lambda f: f.group_norm(X, 2, torch.ones(3)),
        "group_norm bias": lambda f: f.group_norm(X, 2, None, torch.ones(3)),
        "group_norm indivisible": lambda f: f.group_norm(X, 4),
        "instance_norm one buffer": lambda f: f.instance_norm(
            X, torch.zeros(6), None, use_input_stats=False
        ),
        "instance_norm one position": lambda f: f.instance_norm(torch.randn(2, 6, 1)),
    }


@pytest.mark.parametrize("case", list(_torch_message_calls()))
def test_shape_errors_carry_torchs_own_message(case):
    """torch is the oracle for the wording: the same exception with the same message."""
    call = _torch_message_calls()[case]
    with pytest.raises(Exception) as theirs:
        call(F)
    with pytest.raises(theirs.type) as mine:
        call(ours)
    assert str(mine.value) == str(theirs.value)


def _typed_calls():
    X, X64, ints = torch.randn(2, 6, 4), torch.ones(6, dtype=torch.float64), torch.ones(2, 6, 4)
    ints = ints.long()
    w4, w6 = torch.ones(4, dtype=torch.float64), X64
    return [
        (lambda: ours.layer_norm(ints, (4,)), "layer_norm", "input", "be a floating-point"),
        (lambda: ours.layer_norm(X, (4,), 1.0), "layer_norm", "weight", "be a Tensor or None"),
        (lambda: ours.layer_norm(X, (4,), None, 1.0), "layer_norm", "bias", "be a Tensor or None"),
        (lambda: ours.layer_norm(X, (4,), w4), "layer_norm", "weight", "have the dtype"),
        (lambda: ours.layer_norm(X, (4,), None, w4), "layer_norm", "bias", "have the dtype"),
        (lambda: ours.layer_norm(X, 4), "layer_norm", "normalized_shape", "be a tuple of ints"),
        (lambda: ours.rms_norm(ints, (4,)), "rms_norm", "input", "be a floating-point"),
        (lambda: ours.rms_norm(X, (4,), 1.0), "rms_norm", "weight", "be a Tensor or None"),
        (lambda: ours.rms_norm(X, (4,), w4), "rms_norm", "weight", "have the dtype"),
        (lambda: ours.group_norm(ints, 2), "group_norm", "input", "be a floating-point"),
        (lambda: ours.group_norm(X, 2, 1.0), "group_norm", "weight", "be a Tensor or None"),
        (lambda: ours.group_norm(X, 2, None, 1.0), "group_norm", "bias", "be a Tensor or None"),
        (lambda: ours.group_norm(X, 2, w6), "group_norm", "weight", "have the dtype"),
        (lambda: ours.group_norm(X, 2, None, w6), "group_norm", "bias", "have the dtype"),
        (lambda: ours.group_norm(X, 2.0), "group_norm", "num_groups", "be int"),
        (lambda: ours.instance_norm(ints), "instance_norm", "input", "be a floating-point"),
        (lambda: ours.instance_norm(X, 1.0), "instance_norm", "running_mean", "be a Tensor or"),
        (
            lambda: ours.instance_norm(X, None, 1.0),
            "instance_norm",
            "running_var",
            "be a Tensor or",
        ),
        (lambda: ours.instance_norm(X, weight=1.0), "instance_norm", "weight", "be a Tensor or"),
        (lambda: ours.instance_norm(X, bias=1.0), "instance_norm", "bias", "be a Tensor or None"),
        (lambda: ours.instance_norm(X, weight=w6), "instance_norm", "weight", "have the dtype"),
        (lambda: ours.instance_norm(X, bias=w6), "instance_norm", "bias", "have the dtype"),
    ]


@pytest.mark.parametrize("k", range(len(_typed_calls())))
def test_type_errors_name_the_function_and_the_argument(k):
    call, fn, name, must = _typed_calls()[k]
    with pytest.raises(TypeError, match=rf"^{fn}\(\): argument '{name}' must {must}"):
        call()


@pytest.mark.parametrize("name", ["layer_norm", "rms_norm", "group_norm", "instance_norm"])
def test_a_negative_eps_is_a_value_error_naming_the_function(name):
    X = torch.randn(2, 6, 4)
    first = {"layer_norm": ((4,),), "rms_norm": ((4,),), "group_norm": (2,)}.get(name, ())
    with pytest.raises(ValueError, match=rf"^{name}\(\): eps must be a finite number >= 0"):
        getattr(ours, name)(X, *first, eps=-1.0)


def test_instance_norm_momentum_and_buffer_sizes_are_named():
    X = torch.randn(2, 6, 4)
    with pytest.raises(ValueError, match=r"^momentum has to be between 0 and 1, but got 1\.5"):
        ours.instance_norm(X, momentum=1.5)
    for k, name in enumerate(["running_mean", "running_var"]):
        buffers = [torch.zeros(6), torch.ones(6)]
        buffers[k] = buffers[k][:5]
        with pytest.raises(RuntimeError, match=rf"^{name} should contain 6 elements not 5$"):
            ours.instance_norm(X, *buffers)


def test_the_smallest_valid_sets_match_torch():
    """Edge cases of the checks: layer norm over the whole input (no leading dimension) and
    instance norm with exactly two positions are both valid."""
    X = torch.randn(3, 4, 2, dtype=torch.float64)
    torch.testing.assert_close(ours.layer_norm(X, X.shape), F.layer_norm(X, X.shape))
    torch.testing.assert_close(ours.instance_norm(X), F.instance_norm(X))


def test_shared_stats_mask_defaults_to_the_first_element_and_keeps_the_global_rng():
    state = torch.get_rng_state()
    for kind, G in [("batch", None), ("group", 2)]:
        first = shared_stats_mask(kind, (3, 4, 2), G, index=(0, 0, 0))
        assert torch.equal(shared_stats_mask(kind, (3, 4, 2), G), first)
    assert torch.equal(torch.get_rng_state(), state)  # drew from its own generator


def test_shared_stats_mask_messages_name_the_argument():
    with pytest.raises(ValueError, match=r"^kind must be one of \('batch', "):
        shared_stats_mask("weight", (2, 3, 4))
    for G, kind in [(None, "group"), (2, "layer")]:
        with pytest.raises(ValueError, match=r"^num_groups is required for kind='group', and"):
            shared_stats_mask(kind, (2, 4, 4), G)
