"""Least squares from one SVD (minimum norm, ridge), random ReLU features, label corruption,
and the "Why regularize" study on tiny synthetic data."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch

from reglab.data import corrupt_labels
from reglab.nn import RandomReLUFeatures
from reglab.optim import LeastSquares, min_norm_solution, ridge_solutions
from reglab.studies import why_regularize as study

DT = torch.float64


def _system(N, p, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, p, generator=g, dtype=DT), torch.randn(N, k, generator=g, dtype=DT)


@pytest.mark.parametrize("N, p", [(20, 60), (60, 20), (30, 30)])
def test_min_norm_matches_pinv_and_lstsq(N, p):
    A, B = _system(N, p)
    W = min_norm_solution(A, B)
    torch.testing.assert_close(W, torch.linalg.pinv(A) @ B, rtol=1e-9, atol=1e-10)
    lstsq = torch.linalg.lstsq(A, B, driver="gelsd").solution  # minimum norm on CPU
    torch.testing.assert_close(W, lstsq, rtol=1e-9, atol=1e-10)
    if p >= N:  # more unknowns than equations: it interpolates
        torch.testing.assert_close(A @ W, B, rtol=1e-9, atol=1e-10)


def test_min_norm_of_a_rank_deficient_matrix_matches_pinv():
    g = torch.Generator().manual_seed(1)
    A = torch.randn(30, 4, generator=g, dtype=DT) @ torch.randn(4, 50, generator=g, dtype=DT)
    B = torch.randn(30, generator=g, dtype=DT)
    W = min_norm_solution(A, B)  # rank 4: 46 singular values are rounding noise
    assert W.shape == (50,)
    torch.testing.assert_close(W, torch.linalg.pinv(A) @ B, rtol=1e-8, atol=1e-10)


def test_min_norm_is_the_limit_of_gradient_descent_from_zero():
    A, B = _system(15, 40, k=2, seed=2)
    W_star = min_norm_solution(A, B)
    s = torch.linalg.svdvals(A)
    lr = 1 / s[0] ** 2  # eps * s_max^2 = 1: stable
    steps = math.ceil(math.log(1e-13) / math.log(1 - (s[-1] / s[0]).item() ** 2))
    W = torch.zeros(40, 2, dtype=DT)
    for _ in range(steps):
        W = W - lr * A.T @ (A @ W - B)  # gradient of (1/2)||A W - B||^2
    torch.testing.assert_close(W, W_star, rtol=1e-9, atol=1e-10)
    # from a start outside the row space, GD keeps that component: not the minimum norm
    W = torch.ones(40, 2, dtype=DT)
    for _ in range(steps):
        W = W - lr * A.T @ (A @ W - B)
    assert (W - W_star).norm() > 1


@pytest.mark.parametrize("N, p", [(20, 60), (60, 20)])
@pytest.mark.parametrize("lam", [1e-3, 0.5])
def test_ridge_matches_the_closed_form(N, p, lam):
    A, B = _system(N, p, seed=3)
    closed = torch.linalg.solve(A.T @ A + N * lam * torch.eye(p, dtype=DT), A.T @ B)
    torch.testing.assert_close(LeastSquares(A, B).solve(lam), closed, rtol=1e-9, atol=1e-11)
    path = ridge_solutions(A, B[:, 0], [lam, 0.0])
    assert path.shape == (2, p)
    torch.testing.assert_close(path[0], closed[:, 0], rtol=1e-9, atol=1e-11)
    # the ridge objective is minimal there: its gradient vanishes (autograd)
    W = path[0].clone().requires_grad_()
    ((A @ W - B[:, 0]).pow(2).sum() / N + lam * W.pow(2).sum()).backward()
    assert W.grad.abs().max() < 1e-9


def test_ridge_tends_to_the_min_norm_solution():
    A, B = _system(20, 60, seed=4)
    ls = LeastSquares(A, B)
    gaps = [(ls.solve(lam) - ls.solve(0.0)).norm().item() for lam in (1e-2, 1e-5, 1e-8, 1e-11)]
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert gaps[-1] < 1e-8


@pytest.mark.parametrize(
    "A, B, match",
    [
        (torch.zeros(5, 0, dtype=DT), torch.zeros(5, dtype=DT), "p >= 1"),
        (torch.zeros(0, 4, dtype=DT), torch.zeros(0, dtype=DT), "N >= 1"),
        (torch.zeros(5, 4, dtype=DT), torch.zeros(6, dtype=DT), "B must be"),
        (torch.zeros(5, dtype=DT), torch.zeros(5, dtype=DT), "A must be a matrix"),
        (torch.zeros(5, 4, 1, dtype=DT), torch.zeros(5, dtype=DT), "A must be a matrix"),
        (torch.full((5, 4), math.nan, dtype=DT), torch.zeros(5, dtype=DT), "A holds non-finite"),
        (torch.zeros(5, 4, dtype=DT), torch.full((5,), math.inf, dtype=DT), "B holds non-finite"),
    ],
)
def test_bad_systems_are_rejected_by_name(A, B, match):
    with pytest.raises(ValueError, match=match):
        min_norm_solution(A, B)


def test_bad_types_and_penalties_are_rejected_by_name():
    A, B = _system(5, 8)
    with pytest.raises(TypeError, match=r"A must be a torch\.Tensor"):
        min_norm_solution(A.tolist(), B)
    with pytest.raises(TypeError, match="B must hold floating-point"):
        min_norm_solution(A, torch.zeros(5, dtype=torch.long))
    ls = LeastSquares(A, B)
    with pytest.raises(ValueError, match="penalty must be a finite number >= 0"):
        ls.solve(-1e-3)
    with pytest.raises(ValueError, match="penalty must be finite"):
        ls.solve(math.inf)
    with pytest.raises(TypeError, match="penalty must be a real number"):
        ls.solve("0.1")
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        LeastSquares(A, B, rtol=-1.0)
    with pytest.raises(ValueError, match="penalties must hold"):
        ridge_solutions(A, B, [])


def test_random_relu_features_are_relu_of_a_seeded_gaussian_map():
    before = torch.random.get_rng_state()
    phi = RandomReLUFeatures(784, 300, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched
    again = RandomReLUFeatures(784, 300, generator=torch.Generator().manual_seed(0))
    assert torch.equal(phi.weight, again.weight) and "weight" in phi.state_dict()
    assert not list(phi.parameters())  # nothing to train
    X = torch.rand(7, 1, 28, 28)
    expected = torch.nn.functional.relu(torch.nn.functional.linear(X.flatten(1), phi.weight))
    torch.testing.assert_close(phi(X), expected)
    assert abs(phi.weight.var().item() * 784 - 1) < 0.02  # N(0, 1/d)


def test_random_relu_features_reject_bad_arguments():
    with pytest.raises(ValueError, match="num_features must be an integer >= 1"):
        RandomReLUFeatures(784, 0)
    with pytest.raises(TypeError, match="in_features must be an int"):
        RandomReLUFeatures(784.0, 10)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        RandomReLUFeatures(784, 10, generator=0)
    with pytest.raises(ValueError, match="in_features = 784"):
        RandomReLUFeatures(784, 10)(torch.rand(3, 100))


def test_corrupt_labels_redraws_the_requested_fraction():
    y = torch.arange(10).repeat(2000)  # (20000,)
    same, redrawn = corrupt_labels(y, 0.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(same, y) and not redrawn.any()
    q = 0.3
    y_noisy, redrawn = corrupt_labels(y, q, generator=torch.Generator().manual_seed(0))
    assert torch.equal(y_noisy[~redrawn], y[~redrawn])
    sd = math.sqrt(q * (1 - q) / len(y))
    assert abs(redrawn.double().mean().item() - q) < 5 * sd
    # a redrawn label keeps its class by chance with probability 1/10
    changed = (y_noisy != y).double().mean().item()
    assert abs(changed - q * 0.9) < 5 * sd
    y_random, _ = corrupt_labels(y, 1.0, generator=torch.Generator().manual_seed(1))
    counts = torch.bincount(y_random, minlength=10).double()
    assert (counts - 2000).abs().max() < 5 * math.sqrt(2000)  # uniform over the classes


def test_corrupt_labels_rejects_bad_arguments():
    y = torch.arange(10)
    with pytest.raises(ValueError, match="fraction has to be between 0 and 1"):
        corrupt_labels(y, 1.5)
    with pytest.raises(ValueError, match=r"labels in \[0, 5\)"):
        corrupt_labels(y, 0.5, num_classes=5)
    with pytest.raises(TypeError, match="y must be a 1-D tensor"):
        corrupt_labels(y.double(), 0.5)


@pytest.fixture
def tiny():
    """Synthetic 'digits' (class means plus noise), a pool and a test set, and a tiny config."""
    g = torch.Generator().manual_seed(0)
    means = torch.rand(10, 1, 28, 28, generator=g)

    def draw(n):
        y = torch.arange(10).repeat(n // 10)
        return (means[y] + 0.3 * torch.randn(len(y), 1, 28, 28, generator=g)).clamp(0, 1), y

    config = dataclasses.replace(
        study.Config(),
        seeds=(0, 1),
        mem_per_class=3,
        hidden=32,
        max_epochs=300,
        corruptions=(0.0, 1.0),
        dd_per_class=3,
        val_per_class=2,
        width_ratios=(0.5, 1.0, 2.0),
        penalties=(1e-4, 1e-1),
        fixed_penalties=(1e-2,),
        sample_sizes=(2, 3, 4),
        sample_width=30,
    )
    return draw(100), draw(50), config


def test_double_descent_study_shapes_and_interpolation(tiny):
    pool, test, config = tiny
    out = study.run_double_descent(pool, test, config)
    assert out["widths"].tolist() == [15, 30, 60] and config.n == 30
    for key in ("error", "error_noisy", "ridge", "ridge_noisy", "norm", "smin", "lam",
                "val_error"):  # fmt: skip
        assert out[key].shape == (2, 3) and torch.isfinite(out[key]).all(), key
    # an error rate on the 20 validation digits (2 per class), never on the test set
    n_val = 10 * config.val_per_class
    counts = out["val_error"] * n_val
    assert torch.allclose(counts, counts.round()) and (out["val_error"] <= 1).all()
    assert out["fixed"].shape == (1, 2, 3)
    assert (out["train_error"][:, 1:] == 0).all()  # p >= n: the fit interpolates
    assert set(out["lam"].flatten().tolist()) <= set(config.penalties)
    sample = study.run_sample_wise(pool, test, config)
    assert sample["sizes"].tolist() == [20, 30, 40] and sample["error"].shape == (2, 3)


def test_memorization_study_reaches_full_training_accuracy(tiny):
    pool, test, config = tiny
    runs = study.run_memorization(pool, test, config)
    assert set(runs) == {0.0, 1.0, "weight decay", "dropout"}
    for results in runs.values():
        assert len(results) == 2
        for r in results:
            assert r["epochs"] is not None and r["train_acc"][-1] == 1.0
            assert len(r["train_acc"]) == r["epochs"] < config.max_epochs


def test_plots_draw_every_seed_and_the_mean(ax):
    from reglab.plotting.double_descent import plot_seed_lines, plot_training_accuracy

    g = torch.Generator().manual_seed(0)
    curves = {"a": torch.rand(3, 4, generator=g), "b": torch.rand(3, 4, generator=g)}
    plot_seed_lines([10, 20, 40, 80], curves, ax, threshold=30)
    assert len(ax.lines) == 2 * (3 + 1) + 1 and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    torch.testing.assert_close(
        torch.tensor(ax.lines[3].get_ydata()), (100 * curves["a"].double()).mean(0)
    )
    with pytest.raises(ValueError, match=r"curves\['a'\] must be \(seeds, 3\)"):
        plot_seed_lines([1, 2, 3], curves, ax)
    ax.clear()
    plot_training_accuracy({"true": [[0.5, 1.0]], "random": [[0.1, 0.4, 1.0]]}, ax)
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 3]
    with pytest.raises(ValueError, match="curves is empty"):
        plot_training_accuracy({}, ax)
