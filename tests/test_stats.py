import math
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from reglab.stats import PairedDifference, holm, paired_difference, tally

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def paired_samples(draw):
    n = draw(st.integers(min_value=2, max_value=12))
    a = draw(st.lists(finite, min_size=n, max_size=n))
    b = draw(st.lists(finite, min_size=n, max_size=n))
    return a, b


@settings(max_examples=200, deadline=None)
@given(paired_samples(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_interval_is_scipys_paired_t_interval(samples, confidence):
    a, b = samples
    d = np.subtract(a, b)
    if np.std(d) < 1e-9 * max(1.0, np.abs(d).max()):
        return  # scipy returns nan for zero variance; covered by its own test below
    result = paired_difference(a, b, confidence=confidence)
    ci = scipy_stats.ttest_rel(a, b).confidence_interval(confidence_level=confidence)
    assert result.low == pytest.approx(ci.low, rel=1e-7, abs=1e-9)
    assert result.high == pytest.approx(ci.high, rel=1e-7, abs=1e-9)
    assert result.mean == pytest.approx(float(np.mean(d)), rel=1e-9, abs=1e-9)
    assert result.differences == pytest.approx(tuple(d))
    assert result.confidence == confidence


def test_known_interval_by_hand():
    # d = (1, 2, 3): mean 2, s_d = 1, t_{2, 0.975} = 4.302652729911275 (tables)
    result = paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert result.mean == 2.0
    assert result.low == pytest.approx(2.0 - half) and result.high == pytest.approx(2.0 + half)


def test_wider_confidence_gives_a_wider_interval():
    a, b = [0.9, 0.8, 0.95, 0.85], [0.88, 0.81, 0.9, 0.8]
    widths = [paired_difference(a, b, confidence=c) for c in (0.5, 0.9, 0.99)]
    assert [w.high - w.low for w in widths] == sorted(w.high - w.low for w in widths)
    assert len({w.mean for w in widths}) == 1


def test_direction_is_a_minus_b():
    forward = paired_difference([3.0, 4.0, 5.0], [1.0, 1.5, 2.5])
    backward = paired_difference([1.0, 1.5, 2.5], [3.0, 4.0, 5.0])
    assert forward.mean > 0 and forward.sign == 1
    assert backward.mean == -forward.mean and backward.sign == -1
    assert backward.low == pytest.approx(-forward.high)


@pytest.mark.parametrize(
    "a, b, same_sign, excludes_zero, clear, sign",
    [
        # every seed better, interval excludes 0, the test rejects
        ([1.0, 2.0, 3.0], [0.0, 0.5, 1.0], True, True, True, 1),
        # every seed better but very uneven: the interval includes 0, NOT clear
        ([0.01, 0.01, 5.0], [0.0, 0.0, 0.0], True, False, False, 0),
        # one seed the other way, but the test rejects: clear
        ([1.0] * 8 + [-0.1], [0.0] * 9, False, True, True, 1),
        # mixed signs, interval includes 0: no clear difference
        ([1.0, -1.0, 0.5, -0.4], [0.0, 0.0, 0.0, 0.0], False, False, False, 0),
        # every seed worse, the test rejects
        ([0.0, 0.0, 0.0], [1.0, 2.0, 1.5], True, True, True, -1),
        # a tie on one seed is not "the same sign"
        ([0.0, 1.0, 1.0], [0.0, 0.0, 0.5], False, False, False, 0),
    ],
)
def test_sign_logic(a, b, same_sign, excludes_zero, clear, sign):
    result = paired_difference(a, b)
    assert result.all_same_sign is same_sign
    assert result.excludes_zero is excludes_zero
    assert result.clear is clear is result.rejects
    assert result.sign == sign


def test_three_seeds_of_one_sign_with_a_wide_interval_are_not_clear():
    # +1, +10, +10 points: the same sign for every seed, the interval reaches below zero
    d = paired_difference([0.9, 0.8, 0.7], [0.89, 0.7, 0.6])
    assert d.all_same_sign and d.low < 0 < d.high
    assert not d.rejects and not d.clear and d.sign == 0
    assert d.verdict().endswith(": not clearly different")


def test_verdict_reads_the_holm_adjusted_test():
    # alone, each test rejects at 5%; in a family of 3 with these p-values, Holm keeps one
    strong = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    weak = paired_difference([0.3, 0.1, 0.25, 0.05, 0.2], [0.0] * 5)
    null = paired_difference([0.1, -0.1, 0.2, 0.0, -0.2], [0.0] * 5)
    assert strong.rejects and weak.p_value < 0.05 and weak.clear
    family = holm([strong, weak, null])
    assert [d.family_size for d in family] == [3, 3, 3]
    for alone, adjusted in zip([strong, weak, null], family, strict=True):
        assert adjusted.clear is adjusted.rejects is (adjusted.p_adjusted < 0.05)
        assert adjusted.p_adjusted >= alone.p_value
        expected = "higher" if adjusted.rejects else "not clearly different"
        assert adjusted.verdict() == f"{adjusted.describe()}: {expected}"


def test_zero_variance_differences():
    constant = paired_difference([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])  # d = 1, 1, 1
    assert (constant.low, constant.mean, constant.high) == (1.0, 1.0, 1.0)
    assert constant.sign == 1
    ties = paired_difference([1.0, 2.0], [1.0, 2.0])  # d = 0, 0
    assert not ties.all_same_sign and not ties.excludes_zero and ties.sign == 0


def test_unpacks_as_a_4_tuple_and_accepts_tensors():
    a, b = torch.tensor([0.91, 0.93, 0.92]), torch.tensor([0.90, 0.91, 0.915])
    result = paired_difference(a, b)
    mean, low, high, same = result
    assert (mean, low, high, same) == (result.mean, result.low, result.high, True)
    assert isinstance(result, PairedDifference)
    assert result == paired_difference(a.tolist(), b.tolist())


@pytest.mark.parametrize(
    "a, b, kwargs, match",
    [
        ([1.0, 2.0], [1.0], {}, r"a and b must pair seed by seed, got 2 and 1 values"),
        ([1.0], [2.0], {}, r"at least 2 seeds, got 1"),
        ([], [], {}, r"at least 2 seeds, got 0"),
        ([1.0, 2.0], [0.0, 0.0], dict(confidence=0.0), r"confidence must be in \(0, 1\), got 0"),
        ([1.0, 2.0], [0.0, 0.0], dict(confidence=1.0), r"confidence must be in \(0, 1\)"),
        ([1.0, 2.0], [0.0, 0.0], dict(confidence=95), r"confidence must be in \(0, 1\)"),
        ([1.0, 2.0], [0.0, 0.0], dict(confidence=math.nan), r"confidence must be in \(0, 1\)"),
        ([1.0, math.nan], [0.0, 0.0], {}, r"finite values only"),
        ([1.0, 2.0], [math.inf, 0.0], {}, r"finite values only"),
    ],
)
def test_bad_inputs(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b, **kwargs)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0.9, 0.8, 0.7, 0.6, 0.5], [0.8, 0.71, 0.6, 0.52, 0.4], "better"),
        ([0.8, 0.71, 0.6, 0.52, 0.4], [0.9, 0.8, 0.7, 0.6, 0.5], "worse"),
        ([1.0] * 9 + [0.0], [0.0] * 9 + [0.1], "better"),
        ([0.3, 0.1, 0.2], [0.1, 0.2, 0.2], "not clearly different"),
        ([0.9, 0.8, 0.7], [0.89, 0.7, 0.6], "not clearly different"),  # one sign, 3 seeds
    ],
)
def test_verdict_states_the_effect_with_its_interval_then_the_test(a, b, expected):
    d = paired_difference(a, b)
    assert d.verdict("better", "worse") == f"{d.describe()}: {expected}"
    assert d.verdict("better", "worse", effect=False) == expected
    plain = expected.replace("better", "higher").replace("worse", "lower")
    assert d.verdict() == f"{d.describe()}: {plain}"
    unclear = d.verdict("better", "worse", unclear="tied ({n} seeds)", effect=False)
    assert unclear == (expected if d.rejects else f"tied ({d.n} seeds)")
    losses = d.verdict(scale=1.0, unit="nats", digits=3)
    assert losses.startswith(f"{d.mean:+.3f} nats (95% interval ".replace("-", "\u2212"))


# -- the test behind a verdict: p-values, Holm's adjustment, error rates --------------------


@settings(max_examples=200, deadline=None)
@given(paired_samples())
def test_p_value_is_scipys_paired_t_test(samples):
    a, b = samples
    d = np.subtract(a, b)
    if np.std(d) < 1e-9 * max(1.0, np.abs(d).max()):
        return  # zero variance: scipy gives nan; reglab's convention is tested below
    expected = scipy_stats.ttest_rel(a, b).pvalue
    assert paired_difference(a, b).p_value == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_p_value_with_zero_variance():
    assert paired_difference([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]).p_value == 0.0
    assert paired_difference([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).p_value == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-12, max_value=1.0), min_size=1, max_size=12))
def test_holm_matches_statsmodels(p_values):
    diffs = [paired_difference([p, 2 * p], [0.0, 0.0]) for p in p_values]
    diffs = [replace_p(d, p) for d, p in zip(diffs, p_values, strict=True)]
    adjusted = holm(diffs)
    with mock.patch("gc.collect"):  # multipletests collects garbage on every call: 0.2 s here
        expected = multipletests(p_values, alpha=0.05, method="holm")[1]
    assert [d.p_adjusted for d in adjusted] == pytest.approx(list(expected), rel=1e-12)
    assert all(d.family_size == len(p_values) for d in adjusted)
    assert [d.p_value for d in adjusted] == p_values  # the raw p-values are kept


def replace_p(d, p):
    from dataclasses import replace

    return replace(d, p_value=p, p_adjusted=p)


def test_holm_rejects_bad_families():
    with pytest.raises(ValueError, match="at least one"):
        holm([])
    with pytest.raises(TypeError, match=r"differences\[1\] must be a PairedDifference"):
        holm([paired_difference([1.0, 2.0], [0.0, 0.5]), 0.3])


def _null_p_values(num, n, generator):
    # paired runs whose settings do not differ: the differences are pure noise
    a = torch.randn(num, n, generator=generator, dtype=torch.float64)
    b = torch.randn(num, n, generator=generator, dtype=torch.float64)
    return [paired_difference(x, y) for x, y in zip(a, b, strict=True)]


def _binomial_upper(num, rate, level=1e-4):
    # the largest count a Binomial(num, rate) exceeds with probability < level
    return scipy_stats.binom.ppf(1 - level, num, rate) / num


@pytest.mark.parametrize("n", [3, 5, 10])
def test_false_positive_rate_is_at_most_five_percent(n):
    g = torch.Generator().manual_seed(n)
    num = 2000
    rate = sum(d.rejects for d in _null_p_values(num, n, g)) / num
    assert rate <= _binomial_upper(num, 0.05)
    # and it is not a test that never rejects: the rate is near 5%
    assert rate >= 0.05 - (_binomial_upper(num, 0.05) - 0.05)


def test_same_sign_for_every_seed_is_no_test():
    # with 3 seeds, "same sign for every seed" happens 1 time in 4 when nothing differs
    g = torch.Generator().manual_seed(1)
    num = 2000
    rate = sum(d.all_same_sign for d in _null_p_values(num, 3, g)) / num
    assert abs(rate - 0.25) < _binomial_upper(num, 0.25) - 0.25


def test_holm_keeps_the_familywise_error_rate():
    g = torch.Generator().manual_seed(2)
    families, m = 800, 6
    any_false = 0
    unadjusted_any_false = 0
    for _ in range(families):
        family = _null_p_values(m, 5, g)
        any_false += any(d.rejects for d in holm(family))
        unadjusted_any_false += any(d.rejects for d in family)
    assert any_false / families <= _binomial_upper(families, 0.05)
    # without the adjustment, six tests at 5% err about 1 - 0.95**6 = 26% of the time
    assert unadjusted_any_false / families > 0.15


@pytest.mark.parametrize(("n", "shift"), [(5, 1.5), (10, 1.0)])
def test_power_on_a_known_shift_matches_the_noncentral_t(n, shift):
    # differences ~ N(shift, 1): the power of the two-sided paired t-test is known exactly
    g = torch.Generator().manual_seed(n)
    num = 1500
    a = torch.randn(num, n, generator=g, dtype=torch.float64) + shift
    rejected = sum(paired_difference(x, torch.zeros(n)).rejects for x in a) / num
    t_crit = scipy_stats.t.ppf(0.975, n - 1)
    nc = shift * math.sqrt(n)
    power = scipy_stats.nct.sf(t_crit, n - 1, nc) + scipy_stats.nct.cdf(-t_crit, n - 1, nc)
    sd = math.sqrt(power * (1 - power) / num)
    assert abs(rejected - power) < 4 * sd


def test_describe_states_the_effect_with_its_interval():
    d = paired_difference([0.91, 0.93, 0.92, 0.95, 0.90], [0.90, 0.90, 0.91, 0.92, 0.90])
    text = d.describe()
    assert text == (
        f"+{d.mean * 100:.1f} points (95% interval {d.low * 100:+.1f} to {d.high * 100:+.1f})"
    ).replace("-", "\u2212")
    assert d.n == 5
    assert d.describe(scale=1, unit="", digits=3).startswith(f"{d.mean:+.3f} (95% interval")


def test_tally_counts_comparisons_made_and_found_clear():
    strong = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    null = paired_difference([0.1, -0.1, 0.2, 0.0, -0.2], [0.0] * 5)
    one_sign = paired_difference([0.9, 0.8, 0.7], [0.89, 0.7, 0.6])  # same sign, not clear
    assert tally(holm([strong, null, one_sign])) == "3/1"
    assert tally([]) == "0/0"
    with pytest.raises(TypeError, match=r"differences\[1\] must be a PairedDifference"):
        tally([strong, 0.5])


def test_seeds_text_formats_each_seed_in_order():
    from reglab.stats import seeds_text

    assert seeds_text([0.9712, 0.5, 1.0], ".1%") == "97.1% 50.0% 100.0%"
    assert seeds_text([], ".3f") == ""


@pytest.mark.parametrize("lower_is_better", [False, True])
def test_verdict_reads_a_clear_difference_by_the_metric_direction(lower_is_better):
    from reglab.stats import verdict

    up = paired_difference([0.5, 0.6, 0.7, 0.8, 0.9], [0.3, 0.41, 0.5, 0.62, 0.7])  # A > B
    assert up.rejects
    expected = "worse" if lower_is_better else "better"
    assert verdict(up, lower_is_better=lower_is_better) == f"{up.describe()}: {expected}"
    down = paired_difference([0.3, 0.41, 0.5, 0.62, 0.7], [0.5, 0.6, 0.7, 0.8, 0.9])
    expected = "better" if lower_is_better else "worse"
    assert verdict(down, lower_is_better=lower_is_better).endswith(f": {expected}")
    flat = paired_difference([0.1, 0.2, 0.3], [0.2, 0.1, 0.3])
    assert verdict(flat).endswith(": not clearly different")
    assert verdict(flat, unclear="tied", effect=False) == "tied"
    assert verdict(up, better="ahead", worse="behind", effect=False) == "ahead"
    # one sign on three seeds, a wide interval: not a verdict, in either direction
    one_sign = paired_difference([0.9, 0.8, 0.7], [0.89, 0.7, 0.6])
    assert verdict(one_sign, lower_is_better=lower_is_better, effect=False) == (
        "not clearly different"
    )


def test_describe_in_a_family_names_the_holm_p_that_decides():
    strong = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    weak = paired_difference([0.03, 0.01, 0.02, 0.0, 0.025], [0.0] * 5)
    alone = weak.describe()
    assert "Holm" not in alone
    family = holm([strong, weak, weak])
    text = family[1].describe()
    assert text.startswith(alone[:-1] + "; Holm-adjusted p")
    assert text.endswith(" over 3)")
    assert f"p = {family[1].p_adjusted:.2g} over 3)" in text
    assert "Holm-adjusted p < 0.001 over 3)" in family[0].describe()


def test_describe_writes_p_at_a_thousandth_as_a_number():
    # "p < 0.001" only strictly below a thousandth; 0.001 itself is written out
    from dataclasses import replace

    d = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    assert replace(d, p_adjusted=0.001, family_size=2).describe().endswith("p = 0.001 over 2)")
    assert replace(d, p_adjusted=0.000999, family_size=2).describe().endswith("p < 0.001 over 2)")


@pytest.mark.parametrize("bad", [5, "ab", None])
def test_tally_rejects_a_non_sequence_naming_its_type(bad):
    with pytest.raises(
        TypeError, match=rf"must be a sequence of PairedDifference, got {type(bad).__name__}$"
    ):
        tally(bad)


def test_tally_names_the_type_of_a_bad_element():
    strong = paired_difference([1.0, 1.2, 0.9, 1.1, 1.0], [0.0, 0.1, 0.1, 0.0, 0.2])
    with pytest.raises(TypeError, match=r"differences\[1\] must be a PairedDifference, got float$"):
        tally([strong, 0.5])


ONE_D = r"must be 1-D \(one value per seed\), got "
SEQ = "must be a sequence of numbers, one per seed, got"
DICT = r"\(a dict would contribute its keys\)"


@pytest.mark.parametrize(
    ("a", "b", "error", "match"),
    [
        (torch.ones(2, 2), [1.0, 2.0], ValueError, rf"^a {ONE_D}\(2, 2\)$"),
        ([1.0, 2.0], torch.ones(2, 1), ValueError, rf"^b {ONE_D}\(2, 1\)$"),
        ({0.9: 1, 0.8: 2}, [1.0, 2.0], TypeError, rf"^a {SEQ} dict {DICT}$"),
        ([1.0, 2.0], "12", TypeError, rf"^b {SEQ} str "),
        (5, [1.0], TypeError, rf"^a {SEQ} int "),
        ([1.0, "x"], [1.0, 2.0], TypeError, r"^a must hold numbers, got str 'x'$"),
        ([1.0, 2.0], [True, False], TypeError, r"^b must hold numbers, got bool True$"),
        ([torch.tensor(1.0), True], [1.0, 2.0], TypeError, r"^a must hold numbers, got bool True$"),
        ([1.0, torch.ones(2)], [1.0, 2.0], TypeError, r"^a must hold numbers, got Tensor "),
        ([1.0, math.nan], [0.0, 0.0], ValueError, r"^a and b must hold finite values only$"),
    ],
    ids=["2d-a", "2d-b", "dict", "str", "int", "str-item", "bool", "bool-after-tensor",
         "tensor-item", "nan"],
)  # fmt: skip
def test_bad_values_name_the_argument_and_what_it_must_be(a, b, error, match):
    with pytest.raises(error, match=match):
        paired_difference(a, b)


def test_one_element_tensors_count_as_numbers():
    a = [torch.tensor(0.9, dtype=torch.float64), torch.tensor([0.8], dtype=torch.float64), 0.7]
    assert paired_difference(a, [0.5, 0.6, 0.4]) == paired_difference(
        [0.9, 0.8, 0.7], [0.5, 0.6, 0.4]
    )
