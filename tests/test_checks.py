import math
import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from reglab._checks import (
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_probability,
)

NOT_NUMBERS = ["0.5", None, torch.tensor(0.5), [0.5], 1j]


@pytest.mark.parametrize("value", [0.0, 1e-300, 0.5, 1.0, 0, 1, np.float32(0.25), Fraction(1, 3)])
def test_probabilities_in_the_closed_unit_interval_pass(value):
    check_probability(value)


@pytest.mark.parametrize("value", [-1e-12, 1 + 1e-12, math.nan, -math.inf, math.inf])
def test_other_probabilities_name_the_argument_and_the_range(value):
    with pytest.raises(ValueError, match=rf"^p2d has to be between 0 and 1, but got {value}$"):
        check_probability(value, "p2d")
    with pytest.raises(ValueError, match=r"^p has to be between 0 and 1"):
        check_probability(value)


@pytest.mark.parametrize("value", [*NOT_NUMBERS, True, False])
def test_a_probability_that_is_no_number_is_a_type_error(value):
    with pytest.raises(TypeError, match=r"^p2d must be a number between 0 and 1, got "):
        check_probability(value, "p2d")


@pytest.mark.parametrize("value", [0.0, 0, 1e-300, 3.0, np.float64(2.0)])
def test_nonnegative_values_pass(value):
    check_nonnegative(value, "lr")


@pytest.mark.parametrize("value", [-1e-300, -1, math.nan, -math.inf, math.inf])
def test_negative_or_infinite_values_name_the_argument(value):
    with pytest.raises(ValueError, match=rf"^lr must be a finite number >= 0, got {value}$"):
        check_nonnegative(value, "lr")


@pytest.mark.parametrize("check", [check_nonnegative, check_positive])
@pytest.mark.parametrize("value", [*NOT_NUMBERS, True])
def test_a_strength_that_is_no_number_is_a_type_error(check, value):
    with pytest.raises(TypeError, match=r"^weight_decay must be a finite number"):
        check(value, "weight_decay")


@pytest.mark.parametrize("value", [1e-300, 0.1, 3, np.float32(1.0)])
def test_positive_values_pass(value):
    check_positive(value, "lr")


@pytest.mark.parametrize("value", [0, 0.0, -1e-300, math.nan, math.inf, -math.inf])
def test_zero_negative_or_infinite_is_not_positive(value):
    with pytest.raises(ValueError, match=rf"^lr must be a finite number > 0, got {value}$"):
        check_positive(value, "lr")


@pytest.mark.parametrize("value", [1, 2, 10**30, np.int64(5)])
def test_positive_integers_pass(value):
    check_positive_int(value, "num_epochs")


@pytest.mark.parametrize("value", [0, -1, np.int64(0)])
def test_counts_below_one_are_value_errors(value):
    message = f"num_epochs must be an integer >= 1, got {value!r}"
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
        check_positive_int(value, "num_epochs")


@pytest.mark.parametrize("value", [True, False, 2.0, 1.5, "3", None, torch.tensor(3)])
def test_a_count_that_is_no_integer_is_a_type_error(value):
    """``True`` is not a count, though Python would let it pass for 1."""
    with pytest.raises(TypeError, match=r"^num_epochs must be an integer >= 1, got "):
        check_positive_int(value, "num_epochs")


def test_zero_is_a_nonnegative_count_and_minus_one_is_not():
    check_nonnegative_int(0, "num_steps")
    with pytest.raises(ValueError, match=r"^num_steps must be an integer >= 0, got -1$"):
        check_nonnegative_int(-1, "num_steps")
    with pytest.raises(TypeError, match=r"^num_steps must be an integer >= 0, got bool True$"):
        check_nonnegative_int(True, "num_steps")


def test_check_items_names_the_empty_sequence_and_the_wrong_element():
    from reglab._checks import check_items

    assert check_items(iter([1, 2]), int, "xs") == [1, 2]
    with pytest.raises(ValueError, match=r"^xs must hold at least one int, got none$"):
        check_items([], int, "xs")
    with pytest.raises(TypeError, match=r"^xs\[1\] must be a int, got str$"):
        check_items([1, "2"], int, "xs")
