import time

import pytest

from reglab.timing import throughput


def test_throughput_counts_items_per_second_and_warms_up():
    calls = []

    def run():
        calls.append(1)
        time.sleep(0.02)

    speed = throughput(run, 100, repeat=2)
    assert len(calls) == 3  # one warm-up, two timed
    assert 100 / 0.05 < speed <= 100 / 0.02 + 1e-9


def test_throughput_rejects_bad_counts():
    with pytest.raises(ValueError, match="must be >= 1"):
        throughput(lambda: None, 0)
