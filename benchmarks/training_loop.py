"""Overhead of ``reglab.train.train`` over a minimal hand-written PyTorch loop.

Both loops train the same CNN (same initial weights) on the same in-memory MNIST tensors
with the same batch order, optimizer and number of epochs; ``train`` is called without
per-epoch evaluation so that only the loop itself is compared. Each is timed with
``torch.utils.benchmark.Timer`` (warm-up, CUDA synchronisation, all CPU threads) for at
least ``--min-run-time`` seconds; the script prints the median and interquartile range of
each and the relative overhead of the medians.

    python benchmarks/training_loop.py                 # CPU (and CUDA when available)
    python benchmarks/training_loop.py --device cpu --n-train 2000 --epochs 3
"""

from __future__ import annotations

import argparse
import copy

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Measurement, Timer

from reglab.data import mnist_tensors
from reglab.train import default_device, small_cnn, spawn_seeds, train


def minimal_loop(model, X, y, *, lr, num_epochs, batch_size, seed):
    """The loop everyone writes: shuffle, slice, forward, backward, step (with the batch
    order ``train`` draws for the same ``seed``)."""
    order_seed, _ = spawn_seeds(torch.Generator().manual_seed(seed), 2)
    generator = torch.Generator().manual_seed(order_seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def measure(fn, label: str, min_run_time: float) -> Measurement:
    """Time ``fn()`` with torch's benchmark Timer on every CPU thread torch uses."""
    timer = Timer("fn()", globals={"fn": fn}, label=label, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time)


def compare(template, X, y, device: torch.device, args) -> tuple[Measurement, Measurement]:
    """Timings of the minimal loop and of reglab's loop on ``device``."""
    X, y = X.to(device), y.to(device)
    kwargs = dict(lr=0.05, num_epochs=args.epochs, batch_size=args.batch_size, seed=0)

    def hand():
        minimal_loop(copy.deepcopy(template).to(device), X, y, **kwargs)

    def ours():
        model = copy.deepcopy(template)
        train(model, (X, y), device=device, progress=False, evaluate_train=False, **kwargs)

    return (
        measure(hand, "minimal loop", args.min_run_time),
        measure(ours, "reglab.train.train", args.min_run_time),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--min-run-time", type=float, default=5.0, help="seconds per loop")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = parser.parse_args(argv)

    if args.device == "auto":
        devices = sorted({torch.device("cpu"), default_device()}, key=str)
    else:
        devices = [torch.device(args.device)]
    X, y = mnist_tensors(train=True)
    X, y = X[: args.n_train], y[: args.n_train]
    torch.manual_seed(0)
    template = small_cnn()
    threads = torch.get_num_threads()
    print(f"{len(X)} images, {args.epochs} epochs, batch {args.batch_size}, {threads} CPU threads")
    steps = args.epochs * -(-len(X) // args.batch_size)
    for device in devices:
        hand, ours = compare(template, X, y, device, args)
        for m in (hand, ours):
            print(
                f"{device.type:5} {m.label:22} median {m.median:7.3f} s  IQR {m.iqr:6.3f} s  "
                f"({len(m.times)} runs, {steps / m.median:7.1f} steps/s)"
            )
        overhead = 100 * (ours.median / hand.median - 1)
        print(f"{device.type:5} overhead of the medians {overhead:+.1f}%")


if __name__ == "__main__":
    main()
