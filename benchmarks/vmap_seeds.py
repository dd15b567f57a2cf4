"""Many seeds at once: K small MLPs trained one after another, or in one vmapped step.

A study with many seeds trains K copies of one small model that differ only in their
seed. ``torch.func.stack_module_state`` stacks their parameters along a new first
dimension and ``torch.func.vmap`` runs one SGD step of all K at once, each on its own
batch. The script first checks that the vmapped step gives the parameters the loop gives
(after ``--check-steps`` steps), then times one step of each with
``torch.utils.benchmark.Timer`` (warm-up, CUDA synchronisation, all CPU threads) for at
least ``--min-run-time`` seconds, and prints the medians and their ratio. It asserts
nothing about speed: vmap pays off where one small model leaves a GPU idle, and can be
slower than the loop on a CPU.

    python benchmarks/vmap_seeds.py                       # CPU (and CUDA when available)
    python benchmarks/vmap_seeds.py --device cuda --models 10 100 1000
"""

from __future__ import annotations

import argparse
import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap
from torch.utils.benchmark import Measurement, Timer

from reglab.train import default_device, mlp


def make_models(K: int, hidden: int, device: torch.device) -> list[nn.Module]:
    """K MLPs (784 -> hidden -> 10), model k initialized from seed k."""
    models = []
    for seed in range(K):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            models.append(mlp((hidden,)).to(device))
    return models


def loop_step(models: list[nn.Module], X: torch.Tensor, y: torch.Tensor, lr: float) -> None:
    """One SGD step of each model on its own batch: ``X[k]`` (B, 784), ``y[k]`` (B,)."""
    for k, model in enumerate(models):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(X[k]), y[k]).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad  # p <- p - lr * dL/dp


def vmapped_step_fn(template: nn.Module):
    """The step of all K models at once, for parameters stacked by ``stack_module_state``."""
    base = copy.deepcopy(template).to("meta")

    def loss(params, X, y):
        return F.cross_entropy(functional_call(base, params, (X,)), y)

    gradients = vmap(grad(loss))  # (K, ...) gradients for (K, B, 784) inputs

    def step(params: dict, X: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        g = gradients(params, X, y)
        with torch.no_grad():
            for name, p in params.items():
                p -= lr * g[name]  # p <- p - lr * dL/dp, for every model at once

    return step


def check_same_parameters(K, hidden, batch_size, device, steps, lr=0.1) -> float:
    """Train K models ``steps`` steps both ways; return the largest parameter difference
    (raises if the two disagree beyond float32 rounding)."""
    models = make_models(K, hidden, device)
    params, _ = stack_module_state(copy.deepcopy(models))
    params = {name: p.detach() for name, p in params.items()}
    step = vmapped_step_fn(models[0])
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        X = torch.randn(K, batch_size, 784, generator=g).to(device)  # (K, B, 784)
        y = torch.randint(0, 10, (K, batch_size), generator=g).to(device)  # (K, B)
        loop_step(models, X, y, lr)
        step(params, X, y, lr)
    largest = 0.0
    for name, stacked in params.items():
        looped = torch.stack([dict(m.named_parameters())[name].detach() for m in models])
        torch.testing.assert_close(stacked, looped, rtol=1e-4, atol=1e-5)
        largest = max(largest, (stacked - looped).abs().max().item())
    return largest


def measure(fn, label: str, min_run_time: float) -> Measurement:
    timer = Timer("fn()", globals={"fn": fn}, label=label, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time)


def compare(K, hidden, batch_size, device, min_run_time) -> tuple[Measurement, Measurement]:
    models = make_models(K, hidden, device)
    params, _ = stack_module_state(copy.deepcopy(models))
    params = {name: p.detach() for name, p in params.items()}
    step = vmapped_step_fn(models[0])
    g = torch.Generator().manual_seed(1)
    X = torch.randn(K, batch_size, 784, generator=g).to(device)  # (K, B, 784)
    y = torch.randint(0, 10, (K, batch_size), generator=g).to(device)  # (K, B)
    return (
        measure(lambda: loop_step(models, X, y, 1e-3), f"loop of {K}", min_run_time),
        measure(lambda: step(params, X, y, 1e-3), f"vmap of {K}", min_run_time),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[10, 100], help="K values")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--check-steps", type=int, default=3)
    parser.add_argument("--min-run-time", type=float, default=2.0, help="seconds per timing")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = parser.parse_args(argv)

    if args.device == "auto":
        devices = sorted({torch.device("cpu"), default_device()}, key=str)
    else:
        devices = [torch.device(args.device)]
    print(f"MLP 784-{args.hidden}-10, batch {args.batch_size}, {torch.get_num_threads()} threads")
    for device in devices:
        for K in args.models:
            diff = check_same_parameters(K, args.hidden, args.batch_size, device, args.check_steps)
            loop, vmapped = compare(K, args.hidden, args.batch_size, device, args.min_run_time)
            print(
                f"{device.type:4} K={K:<5} loop {1e3 * loop.median:8.2f} ms (IQR "
                f"{1e3 * loop.iqr:6.2f})  vmap {1e3 * vmapped.median:8.2f} ms (IQR "
                f"{1e3 * vmapped.iqr:6.2f})  loop/vmap {loop.median / vmapped.median:5.2f}x  "
                f"(max |diff| after {args.check_steps} steps {diff:.1e})"
            )


if __name__ == "__main__":
    main()
