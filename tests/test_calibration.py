"""Expected calibration error against torchmetrics' MulticlassCalibrationError (an independent
implementation), the reliability curve by hand, and bad arguments."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.classification import MulticlassCalibrationError  # the test group's oracle

from reglab.stats import expected_calibration_error, probabilistic_scores, reliability_curve


def _reference(probs, y, n_bins):
    metric = MulticlassCalibrationError(num_classes=probs.shape[1], n_bins=n_bins, norm="l1")
    return float(metric(probs, y))


def _model_like(n, k, scale, seed, dtype=torch.float32):
    """Probabilities of a model that is right about 70 % of the time, with confidence
    growing with ``scale``; large scales saturate float32 softmax at exactly 1."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g, dtype=dtype)
    right = torch.rand(n, generator=g) < 0.7
    logits[right, y[right]] += scale
    return (scale * logits).softmax(1), y


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15, 30])
@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0, 10.0])
def test_ece_equals_torchmetrics(n_bins, scale):
    probs, y = _model_like(2000, 10, scale, seed=n_bins)
    assert expected_calibration_error(probs, y, n_bins=n_bins) == pytest.approx(
        _reference(probs, y, n_bins), abs=1e-6
    )


def test_confidence_of_exactly_one_has_its_own_bin_like_torchmetrics():
    probs, y = _model_like(2000, 10, 10.0, seed=0)
    ones = probs.max(1).values == 1
    assert ones.sum() > 100  # float32 softmax saturates: the case this test is about
    conf, acc, count = reliability_curve(probs, y, n_bins=15)
    assert len(count) == 16 and count[-1] == ones.sum()
    assert conf[-1] == 1
    assert acc[-1] == pytest.approx((probs[ones].argmax(1) == y[ones]).float().mean().item())
    merged = expected_calibration_error(probs, y, n_bins=15)
    assert merged == pytest.approx(_reference(probs, y, 15), abs=1e-6)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 300),
    k=st.integers(2, 12),
    n_bins=st.integers(1, 25),
    scale=st.floats(0.05, 20),
    seed=st.integers(0, 2**16),
)
def test_ece_equals_torchmetrics_for_any_data(n, k, n_bins, scale, seed):
    probs, y = _model_like(n, k, scale, seed)
    assert expected_calibration_error(probs, y, n_bins=n_bins) == pytest.approx(
        _reference(probs, y, n_bins), abs=1e-6
    )


def test_float64_probabilities_agree_with_torchmetrics_on_float32():
    probs, y = _model_like(3000, 10, 1.5, seed=3, dtype=torch.float64)
    ours = expected_calibration_error(probs, y)
    assert ours == pytest.approx(_reference(probs.float(), y, 15), abs=1e-5)


def test_reliability_curve_by_hand():
    # 4 bins: confidences 0.3 (bin 1), 0.6 and 0.7 (bin 2), 0.9 (bin 3), 1.0 (own bin)
    probs = torch.tensor(
        [[0.3, 0.25, 0.25, 0.2], [0.6, 0.4, 0, 0], [0.1, 0.7, 0.2, 0], [0.9, 0.1, 0, 0],
         [0, 0, 1.0, 0]]
    )  # fmt: skip
    y = torch.tensor([0, 1, 1, 0, 3])  # right, wrong, right, right, wrong
    conf, acc, count = reliability_curve(probs, y, n_bins=4)
    torch.testing.assert_close(count, torch.tensor([0.0, 1, 2, 1, 1]))
    torch.testing.assert_close(conf[1:], torch.tensor([0.3, 0.65, 0.9, 1.0]))
    torch.testing.assert_close(acc[1:], torch.tensor([1.0, 0.5, 1.0, 0.0]))
    assert torch.isnan(conf[0]) and torch.isnan(acc[0])  # empty bin
    expected = (0.7 + 2 * 0.15 + 0.1 + 1.0) / 5  # sum |B_k|/N |acc_k - conf_k|
    assert expected_calibration_error(probs, y, n_bins=4) == pytest.approx(expected)


def test_boundaries_belong_to_the_bin_above():
    probs = torch.tensor([[0.5, 0.5], [0.75, 0.25]])  # confidence exactly on an edge
    _, _, count = reliability_curve(probs, torch.tensor([0, 0]), n_bins=4)
    torch.testing.assert_close(count, torch.tensor([0.0, 0, 1, 1, 0]))


def test_perfectly_calibrated_and_fully_overconfident():
    probs = torch.tensor([[1.0, 0.0]] * 10)
    y = torch.tensor([0] * 9 + [1])  # always "100 %", right 90 % of the time
    assert expected_calibration_error(probs, y) == pytest.approx(0.1)
    probs = torch.tensor([[0.75, 0.25]] * 4)
    y = torch.tensor([0, 0, 0, 1])  # 75 % confident, 75 % right
    assert expected_calibration_error(probs, y) == pytest.approx(0.0, abs=1e-7)


def test_bad_arguments_are_clear_errors():
    probs, y = torch.tensor([[0.2, 0.8], [0.5, 0.5]]), torch.tensor([1, 0])
    with pytest.raises(ValueError, match=r"probs and y differ in batch size: 2 != 3"):
        expected_calibration_error(probs, torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="n_bins must be an integer >= 1, got 0"):
        expected_calibration_error(probs, y, n_bins=0)
    with pytest.raises(TypeError, match=r"n_bins must be an integer >= 1, got float 2\.5"):
        reliability_curve(probs, y, n_bins=2.5)
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        expected_calibration_error(torch.tensor([[2.0, -1.0], [0.5, 0.5]]), y)
    with pytest.raises(ValueError, match="each row of probs must sum to 1"):
        expected_calibration_error(torch.tensor([[0.2, 0.2], [0.5, 0.5]]), y)
    with pytest.raises(ValueError, match=r"probs must have shape \(N, K\)"):
        expected_calibration_error(torch.tensor([0.2, 0.8]), y)
    with pytest.raises(ValueError, match="y must be a 1-D tensor of class indices"):
        expected_calibration_error(probs, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="empty"):
        expected_calibration_error(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))


def test_probabilistic_scores():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    y = torch.tensor([0, 0, 0])
    scores = probabilistic_scores(logits, y)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    p = logits.softmax(1)
    assert scores["nll"] == pytest.approx(-p[torch.arange(3), y].log().mean().item())
    assert scores["ece"] == pytest.approx(_reference(p, y, 15), abs=1e-6)
    with pytest.raises(ValueError, match="logits must be"):
        probabilistic_scores(logits, y[:2])


def _named_errors():
    probs, y = torch.tensor([[0.2, 0.8], [0.5, 0.5]]), torch.tensor([1, 0])
    ece = expected_calibration_error
    not_indices = r"^y must be a 1-D tensor of class indices, got torch\."
    outside = r"^probs must lie in \[0, 1\]"
    return {
        "n_bins": (lambda: ece(probs, y, n_bins=0), r"^n_bins must be an integer >= 1, got 0"),
        "probs 1-D": (lambda: ece(probs[0], y), r"^probs must have shape \(N, K\), got \(2,\)$"),
        "probs 3-D": (lambda: ece(probs[None], y), r"^probs must have shape \(N, K\), got \(1,"),
        "y float": (
            lambda: ece(probs, y.double()),
            r"^y must be a 1-D tensor of class indices, got torch\.float64 \(2,\)$"),
        "y bool": (
            lambda: ece(probs, y.bool()), not_indices + "bool"),
        "y 2-D": (
            lambda: ece(probs, y[:, None]), not_indices + "int"),
        "sizes": (lambda: ece(probs, y[:1]), r"^probs and y differ in batch size: 2 != 1$"),
        "empty": (
            lambda: ece(probs[:0], y[:0]), r"^probs and y are empty: need at least one sample$"),
        "integers": (
            lambda: ece(torch.tensor([[0, 1], [1, 0]]), y),
            r"^probs must be floating point, got torch\.int64$"),
        "above 1": (
            lambda: ece(torch.tensor([[1.5, -0.5], [0.5, 0.5]]), y), outside),
        "above 1 only": (lambda: ece(torch.tensor([[1.2, 0.0], [0.5, 0.5]]), y), outside),
        "below 0": (
            lambda: ece(torch.tensor([[-0.1, 0.9], [0.5, 0.5]]), y), outside),
        "row sums": (
            lambda: ece(torch.tensor([[0.2, 0.2], [0.5, 0.5]]), y),
            r"^each row of probs must sum to 1 \(off by up to 0\.6\): pass probabilities "
            r"\(logits\.softmax\(1\)\), not logits or scores$"),
        "scores shapes": (
            lambda: probabilistic_scores(probs, y[:, None]),
            r"^logits must be \(N, K\) and y \(N,\), got \(2, 2\) and \(2, 1\)$"),
        "scores 1-D": (
            lambda: probabilistic_scores(probs[0], y), r"^logits must be \(N, K\) and y \(N,\)"),
    }  # fmt: skip


@pytest.mark.parametrize("case", list(_named_errors()))
def test_errors_name_the_argument_and_what_it_must_be(case):
    call, message = _named_errors()[case]
    with pytest.raises(ValueError, match=message):
        call()


def test_row_sums_are_checked_to_a_tolerance_of_a_thousandth():
    """float32 softmax rows sum to 1 up to rounding: accepted; logits or scores: refused."""
    y = torch.tensor([0, 1])
    close = torch.tensor([[0.6, 0.4 + 5e-4], [0.5 - 5e-4, 0.5]], dtype=torch.float64)
    assert expected_calibration_error(close, y) >= 0
    off = torch.tensor([[0.6, 0.4 + 2e-3], [0.5, 0.5]], dtype=torch.float64)
    with pytest.raises(ValueError, match="each row of probs must sum to 1"):
        expected_calibration_error(off, y)


def test_probabilistic_scores_bins_like_torchmetrics_by_default_and_when_asked():
    probs, y = _model_like(500, 5, 1.0, seed=4)
    logits = probs.log()  # softmax(log p) = p
    assert _reference(probs, y, 15) != pytest.approx(_reference(probs, y, 16), abs=1e-6)
    for n_bins, kwargs in [(15, {}), (4, {"n_bins": 4})]:
        ece = probabilistic_scores(logits, y, **kwargs)["ece"]
        assert ece == pytest.approx(_reference(logits.softmax(1), y, n_bins), abs=1e-6)


def test_default_bins_and_float64_edges():
    """15 bins (and the bin of 1) by default; a float64 confidence just above 1/3 lies in bin
    1 by the definition k/M <= p (float32 rounds the edge 1/3 up to 0.33333334327)."""
    c = 0.33333334  # 3 c = 1.00000002: bin 1 of 3
    probs = torch.tensor([[c, (1 - c) / 2, (1 - c) / 2]], dtype=torch.float64)
    assert len(reliability_curve(probs, torch.tensor([0]))[2]) == 16
    _, _, count = reliability_curve(probs, torch.tensor([0]), n_bins=3)
    assert count.tolist() == [0.0, 1.0, 0.0, 0.0]
