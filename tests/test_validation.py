import math

import pytest

from reglab._checks import check_nonnegative, check_probability


@pytest.mark.parametrize("value", [0.0, 1e-300, 0.5, 1.0, 0, 1])
def test_probabilities_in_the_closed_unit_interval_pass(value):
    check_probability(value)


@pytest.mark.parametrize("value", [-1e-12, 1 + 1e-12, math.nan, -math.inf, math.inf])
def test_other_probabilities_name_the_argument_and_the_range(value):
    with pytest.raises(ValueError, match=rf"^p2d has to be between 0 and 1, but got {value}$"):
        check_probability(value, "p2d")
    with pytest.raises(ValueError, match=r"^p has to be between 0 and 1"):
        check_probability(value)


@pytest.mark.parametrize("value", [0.0, 0, 1e-300, 3.0, math.inf])
def test_nonnegative_values_pass(value):
    check_nonnegative(value, "lr")


@pytest.mark.parametrize("value", [-1e-300, -1, math.nan, -math.inf])
def test_negative_values_name_the_argument(value):
    with pytest.raises(ValueError, match=rf"^lr must be >= 0, got {value}$"):
        check_nonnegative(value, "lr")
