"""Mixup and CutMix against torchvision.transforms.v2: the same seed gives the same lambda,
box, images and soft labels, bit for bit; plus the properties torchvision's code does not
state (pairing, box area, label sums) and bad arguments."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import v2

from reglab.data import cutmix, cutmix_box, mixup, mixup_or_cutmix, sample_lambda


def _batch(n=8, c=1, h=28, w=28, k=10, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g, dtype=dtype), torch.randint(0, k, (n,), generator=g)


def _assert_identical(ours, theirs):
    assert ours[0].dtype == theirs[0].dtype and ours[1].dtype == theirs[1].dtype
    torch.testing.assert_close(ours[0], theirs[0], rtol=0, atol=0)
    torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=0)


SEEDS = range(40)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_mixup_equals_torchvision(seed, alpha):
    X, y = _batch(seed=seed)
    torch.manual_seed(seed)
    theirs = v2.MixUp(alpha=alpha, num_classes=10)(X, y)
    ours = mixup(X, y, alpha=alpha, num_classes=10, generator=torch.Generator().manual_seed(seed))
    _assert_identical(ours, theirs)
    torch.manual_seed(seed)  # the global-RNG path draws the same numbers
    _assert_identical(mixup(X, y, alpha=alpha, num_classes=10), theirs)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_cutmix_equals_torchvision(seed, alpha):
    X, y = _batch(n=6, c=3, h=17, w=23, seed=seed)  # odd, non-square sizes exercise clipping
    torch.manual_seed(seed)
    theirs = v2.CutMix(alpha=alpha, num_classes=10)(X, y)
    ours = cutmix(X, y, alpha=alpha, num_classes=10, generator=torch.Generator().manual_seed(seed))
    _assert_identical(ours, theirs)
    torch.manual_seed(seed)
    _assert_identical(cutmix(X, y, alpha=alpha, num_classes=10), theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_choice_of_the_two_equals_torchvision(seed):
    X, y = _batch(seed=seed)
    torch.manual_seed(seed)
    choice = v2.RandomChoice([v2.MixUp(alpha=0.2, num_classes=10),
                              v2.CutMix(alpha=1.0, num_classes=10)])  # fmt: skip
    theirs = choice(X, y)
    ours = mixup_or_cutmix(X, y, num_classes=10, mixup_alpha=0.2, cutmix_alpha=1.0,
                           generator=torch.Generator().manual_seed(seed))  # fmt: skip
    _assert_identical(ours, theirs)


def test_random_choice_with_unequal_probabilities_equals_torchvision():
    picked = []
    for seed in range(30):
        X, y = _batch(seed=seed)
        torch.manual_seed(seed)
        theirs = v2.RandomChoice(
            [v2.MixUp(num_classes=10), v2.CutMix(num_classes=10)], p=[0.3, 0.7]
        )(X, y)
        g = torch.Generator().manual_seed(seed)
        ours = mixup_or_cutmix(X, y, num_classes=10, p=0.3, generator=g)
        _assert_identical(ours, theirs)
        picked.append(bool(((ours[0] != X) & (ours[0] != X.roll(1, 0))).any()))  # blended?
    assert 0 < sum(picked) < 30  # both branches were taken


@pytest.mark.parametrize("transform, ours", [(v2.MixUp, mixup), (v2.CutMix, cutmix)])
def test_probability_targets_equal_torchvision(transform, ours):
    X, _ = _batch()
    t = torch.rand(8, 5, generator=torch.Generator().manual_seed(1)).softmax(1)
    torch.manual_seed(3)
    theirs = transform(alpha=0.5)(X, t)
    _assert_identical(ours(X, t, alpha=0.5, generator=torch.Generator().manual_seed(3)), theirs)


def test_float64_images_equal_torchvision():
    X, y = _batch(dtype=torch.float64)
    torch.manual_seed(5)
    theirs = v2.MixUp(alpha=0.4, num_classes=10)(X, y)
    _assert_identical(mixup(X, y, alpha=0.4, num_classes=10,
                            generator=torch.Generator().manual_seed(5)), theirs)  # fmt: skip


def test_global_rng_is_left_alone_when_a_generator_is_given():
    X, y = _batch()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    mixup(X, y, num_classes=10, generator=torch.Generator().manual_seed(1))
    cutmix(X, y, num_classes=10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(before, torch.get_rng_state())


def test_lambda_is_beta_distributed():
    # mean 1/2 and variance 1 / (4 (2 alpha + 1)) of Beta(alpha, alpha)
    g = torch.Generator().manual_seed(0)
    for alpha in (0.2, 2.0):
        lam = torch.tensor([sample_lambda(alpha, generator=g) for _ in range(4000)])
        var = 1 / (4 * (2 * alpha + 1))
        assert abs(lam.mean() - 0.5) < 4 * math.sqrt(var / 4000)
        assert abs(lam.var() / var - 1) < 0.1


def test_mixup_pairs_each_sample_with_its_predecessor():
    X = torch.arange(4.0).view(4, 1, 1, 1) * torch.ones(4, 1, 2, 2)  # image n is all n
    y = torch.tensor([0, 1, 2, 3])
    mixed, soft = mixup(X, y, alpha=1.0, num_classes=4, generator=torch.Generator().manual_seed(0))
    lam = soft[1, 1].item()  # sample 1 keeps lam of itself and 1 - lam of sample 0
    assert 0 < lam < 1
    expected = lam * torch.arange(4.0) + (1 - lam) * torch.tensor([3.0, 0, 1, 2])
    torch.testing.assert_close(mixed[:, 0, 0, 0], expected)
    torch.testing.assert_close(soft.sum(1), torch.ones(4))
    torch.testing.assert_close(soft[0], torch.tensor([lam, 0, 0, 1 - lam]))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(h=st.integers(1, 40), w=st.integers(1, 40), lam=st.floats(0, 1), seed=st.integers(0, 999))
def test_cutmix_box_is_inside_the_image_and_lambda_is_its_area(h, w, lam, seed):
    g = torch.Generator().manual_seed(seed)
    (x1, y1, x2, y2), lam_adjusted = cutmix_box(h, w, lam, generator=g)
    assert 0 <= x1 <= x2 <= w and 0 <= y1 <= y2 <= h
    assert lam_adjusted == pytest.approx(1 - (x2 - x1) * (y2 - y1) / (h * w))
    r = 0.5 * math.sqrt(1 - lam)  # unclipped half-sides: the box never exceeds them
    assert x2 - x1 <= 2 * int(r * w) and y2 - y1 <= 2 * int(r * h)


def test_cutmix_pastes_the_box_and_weights_labels_by_area():
    X, y = _batch(n=5, h=20, w=20, seed=2)
    g = torch.Generator().manual_seed(11)
    mixed, soft = cutmix(X, y, alpha=1.0, num_classes=10, generator=g)
    g = torch.Generator().manual_seed(11)
    lam = sample_lambda(1.0, generator=g)
    (x1, y1, x2, y2), lam_adjusted = cutmix_box(20, 20, lam, generator=g)
    inside = torch.zeros(20, 20, dtype=torch.bool)
    inside[y1:y2, x1:x2] = True
    assert 0 < inside.sum() < 400
    assert torch.equal(mixed[..., inside], X.roll(1, 0)[..., inside])
    assert torch.equal(mixed[..., ~inside], X[..., ~inside])
    kept = soft[torch.arange(5), y]  # weight of the own label
    own_equals_previous = y == y.roll(1, 0)
    other = kept[~own_equals_previous]
    torch.testing.assert_close(other, torch.full_like(other, lam_adjusted))


@pytest.mark.parametrize("fn", [mixup, cutmix, mixup_or_cutmix])
def test_bad_arguments_are_clear_errors(fn):
    X, y = _batch(n=4)
    alpha_kw = "mixup_alpha" if fn is mixup_or_cutmix else "alpha"
    for alpha in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"alpha must be a finite number > 0"):
            fn(X, y, num_classes=10, **{alpha_kw: alpha})
    with pytest.raises(ValueError, match=r"input and target differ in batch size: 4 != 3"):
        fn(X, y[:3], num_classes=10)
    with pytest.raises(ValueError, match="num_classes must be given"):
        fn(X, y)
    with pytest.raises(ValueError, match=r"classes outside \[0, num_classes=5\)"):
        fn(X, y.clamp(min=5), num_classes=5)
    with pytest.raises(ValueError, match="probability target has 10 columns but num_classes=5"):
        fn(X, torch.rand(4, 10), num_classes=5)
    with pytest.raises(ValueError, match="target must be class indices"):
        fn(X, torch.zeros(4, 2, 2, dtype=torch.long), num_classes=10)
    with pytest.raises(ValueError, match="integer tensor"):
        fn(X, torch.zeros(4, dtype=torch.bool), num_classes=10)


def test_input_shape_errors():
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"input must be a batch of shape \(N, \*, H, W\)"):
        cutmix(torch.rand(2, 5), y, num_classes=2)
    with pytest.raises(ValueError, match=r"input must be a batch of shape \(N, \*\)"):
        mixup(torch.rand(2), y, num_classes=2)
    with pytest.raises(ValueError, match="p has to be between 0 and 1"):
        mixup_or_cutmix(torch.rand(2, 1, 4, 4), y, num_classes=2, p=1.5)


def _named_errors():
    X, y = _batch(n=4)
    k10 = dict(num_classes=10)
    batch = r"^input must be a batch of shape "
    positive = "must be a finite number > 0, got"
    indices = r"^class-index target must be an integer tensor, got torch\."
    return {
        "mixup alpha": (lambda: mixup(X, y, alpha=0.0, **k10), rf"^alpha {positive} 0\.0"),
        "cutmix alpha": (lambda: cutmix(X, y, alpha=-1.0, **k10), rf"^alpha {positive} -1"),
        "mixup_alpha": (
            lambda: mixup_or_cutmix(X, y, mixup_alpha=0.0, **k10), rf"^mixup_alpha {positive}"),
        "cutmix_alpha": (
            lambda: mixup_or_cutmix(X, y, cutmix_alpha=0.0, **k10), rf"^cutmix_alpha {positive}"),
        "p": (lambda: mixup_or_cutmix(X, y, p=-0.5, **k10), r"^p has to be between 0 and 1"),
        "mixup 1-D input": (
            lambda: mixup(X[:, 0, 0, 0], y, **k10), batch + r"\(N, \*\), got \(4,\)$"),
        "cutmix 2-D input": (
            lambda: cutmix(X[:, 0, 0], y, **k10), batch + r"\(N, \*, H, W\), got \(4, 28\)$"),
        "choice 2-D input": (
            lambda: mixup_or_cutmix(X[:, 0, 0], y, **k10), batch + r"\(N, \*, H, W\)"),
        "3-D target": (
            lambda: mixup(X, y[:, None, None], **k10),
            r"^target must be class indices \(N,\) or probabilities \(N, num_classes\), got "
            r"shape \(4, 1, 1\)$"),
        "0-D target": (lambda: cutmix(X, y[0], **k10), r"^target must be class indices"),
        "batch sizes": (
            lambda: cutmix(X, y[:2], **k10), r"^input and target differ in batch size: 4 != 2$"),
        "no num_classes": (
            lambda: cutmix(X, y),
            r"^num_classes must be given when target holds class indices$"),
        "float indices": (lambda: mixup(X, y.float(), **k10), indices + "float32$"),
        "bool indices": (lambda: cutmix(X, y > 4, **k10), indices + "bool$"),
        "class K": (
            lambda: mixup(X, torch.tensor([0, 1, 2, 3]), num_classes=3),
            r"^target holds classes outside \[0, num_classes=3\): min 0, max 3$"),
        "class -1": (
            lambda: cutmix(X, torch.tensor([0, -1, 2, 1]), num_classes=3),
            r"^target holds classes outside \[0, num_classes=3\): min -1, max 2$"),
        "columns": (
            lambda: mixup(X, torch.full((4, 10), 0.1), num_classes=5),
            r"^probability target has 10 columns but num_classes=5$"),
        "box height": (lambda: cutmix_box(0, 5, 0.5), r"^height must be an integer >= 1, got 0"),
        "box width": (lambda: cutmix_box(5, 0, 0.5), r"^width must be an integer >= 1, got 0"),
        "box lam": (lambda: cutmix_box(5, 5, 1.5), r"^lam has to be between 0 and 1, but got 1\.5"),
        "lambda alpha": (lambda: sample_lambda(0.0), rf"^alpha {positive} 0\.0"),
    }  # fmt: skip


@pytest.mark.parametrize("case", list(_named_errors()))
def test_errors_name_the_argument_and_its_range(case):
    call, message = _named_errors()[case]
    g_state = torch.get_rng_state()
    with pytest.raises(ValueError, match=message):
        call()
    assert torch.equal(torch.get_rng_state(), g_state)  # checked before any draw


def test_the_largest_class_and_the_smallest_inputs_are_valid():
    """Edge cases of the checks: class K - 1, a (N, d) batch for mixup, (N, H, W) for
    cutmix (each the same as with a channel axis), probability targets without num_classes."""
    X, y = _batch(n=4, h=6, w=5)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    y_max = torch.tensor([0, 9, 3, 9])
    _, soft = mixup(X, y_max, num_classes=10, generator=g())
    assert soft.shape == (4, 10) and soft[:, 9].sum() > 0
    flat, _ = mixup(X.flatten(1), y, num_classes=10, generator=g())
    torch.testing.assert_close(flat, mixup(X, y, num_classes=10, generator=g())[0].flatten(1))
    images, _ = cutmix(X[:, 0], y, num_classes=10, generator=g())
    torch.testing.assert_close(images, cutmix(X, y, num_classes=10, generator=g())[0][:, 0])
    t = torch.rand(4, 7, generator=g()).softmax(1)
    torch.testing.assert_close(mixup(X, t, generator=g())[1].sum(1), torch.ones(4))


@pytest.mark.parametrize("p, blended", [(1.0, True), (0.0, False)])
def test_mixup_or_cutmix_with_a_certain_choice(p, blended):
    """p = 1 is always mixup (every pixel a blend), p = 0 always cutmix (pixels copied)."""
    X, y = _batch(n=6, h=12, w=12)
    for seed in range(5):
        mixed, _ = mixup_or_cutmix(X, y, num_classes=10, p=p,
                                   generator=torch.Generator().manual_seed(seed))  # fmt: skip
        copied = (mixed == X) | (mixed == X.roll(1, 0))
        assert bool(copied.all()) is not blended


@pytest.mark.parametrize("seed", range(6))
def test_defaults_and_both_alphas_equal_torchvision(seed):
    """alpha defaults to torchvision's 1.0; mixup_or_cutmix hands each method its own alpha."""
    X, y = _batch(n=6, h=10, w=12, seed=seed)
    for transform, ours in [(v2.MixUp, mixup), (v2.CutMix, cutmix)]:
        torch.manual_seed(seed)
        theirs = transform(num_classes=10)(X, y)
        g = torch.Generator().manual_seed(seed)
        _assert_identical(ours(X, y, num_classes=10, generator=g), theirs)
    torch.manual_seed(seed)
    theirs = v2.RandomChoice([v2.MixUp(alpha=0.4, num_classes=10),
                              v2.CutMix(alpha=0.3, num_classes=10)])(X, y)  # fmt: skip
    ours = mixup_or_cutmix(X, y, num_classes=10, mixup_alpha=0.4, cutmix_alpha=0.3,
                           generator=torch.Generator().manual_seed(seed))  # fmt: skip
    _assert_identical(ours, theirs)


@pytest.mark.parametrize("transform, ours", [(v2.MixUp, mixup), (v2.CutMix, cutmix)])
def test_float64_probability_targets_keep_their_dtype_like_torchvision(transform, ours):
    X, _ = _batch()
    t = torch.rand(8, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t = t.softmax(1)
    torch.manual_seed(2)
    theirs = transform(alpha=0.5)(X, t)
    _assert_identical(ours(X, t, alpha=0.5, generator=torch.Generator().manual_seed(2)), theirs)
    assert theirs[1].dtype == torch.float64
