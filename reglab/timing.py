"""Throughput measurements for the book's speed comparisons (not for tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["best_time", "throughput"]


def best_time(
    run: Callable[[], object], *, repeat: int = 3, device: torch.device | str | None = None
) -> float:
    """Seconds taken by the fastest of ``repeat`` timed calls of ``run()``, after one
    warm-up call.

    On a CUDA ``device`` the GPU is synchronized before each clock reading, so queued
    kernels are counted.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    cuda = device is not None and torch.device(device).type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    run()  # warm-up: first-call allocations, lazy initialization, caches
    best = float("inf")
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(
    run: Callable[[], object],
    n_items: int,
    *,
    repeat: int = 3,
    device: torch.device | str | None = None,
) -> float:
    """Items per second of ``run()``, which processes ``n_items`` items, timed by
    :func:`best_time`."""
    if n_items < 1 or repeat < 1:
        raise ValueError(f"n_items and repeat must be >= 1, got {n_items} and {repeat}")
    return n_items / best_time(run, repeat=repeat, device=device)
