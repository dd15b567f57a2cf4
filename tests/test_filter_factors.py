"""Spectral filter factors of gradient descent and ridge, against PyTorch's own iterates."""

import pytest
import torch

from reglab.studies.early_stopping import (
    equivalent_alpha,
    gd_filter_factors,
    gd_trajectory,
    gd_weights,
    quadratic_spectrum,
    ridge_filter_factors,
    ridge_weights,
)

HESSIAN_MESSAGE = r"^eigenvalues must be finite and >= 0 \(those of a Hessian X\^T X / N\)$"


def _problem(n=40, d=5, seed=0, rank=None):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = X * torch.logspace(0, -1.5, d, dtype=torch.float64)  # spread-out spectrum
    if rank is not None:
        X[:, rank:] = X[:, :1]  # duplicate columns: H is singular
    y = torch.randn(n, generator=g, dtype=torch.float64)
    return X, y


def test_spectrum_is_that_of_the_hessian():
    X, _ = _problem()
    lam, Q = quadratic_spectrum(X)
    w0 = torch.zeros(5, dtype=X.dtype)
    H = torch.autograd.functional.hessian(lambda w: 0.5 * ((X @ w) ** 2).mean(), w0)
    torch.testing.assert_close(Q @ torch.diag(lam) @ Q.T, H, rtol=0, atol=1e-12)
    assert (lam[1:] >= lam[:-1]).all()


@pytest.mark.parametrize("lr_times_max", [0.1, 0.9, 1.5])  # eps * lambda_max, up to 1.5 < 2
def test_closed_form_matches_torch_sgd_iterates(lr_times_max):
    X, y = _problem()
    lam, _ = quadratic_spectrum(X)
    lr = lr_times_max / lam.max().item()
    iterates = gd_trajectory(X, y, lr, 60)  # torch.optim.SGD + autograd
    closed = gd_weights(X, y, lr, list(range(61)))
    torch.testing.assert_close(closed, iterates, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gd_weights(X, y, lr, 60), iterates[-1], rtol=1e-10, atol=1e-12)


def test_closed_form_handles_a_singular_hessian():
    X, y = _problem(rank=3)
    lam, _ = quadratic_spectrum(X)
    assert lam.min().abs() < 1e-12
    lr = 0.5 / lam.max().item()
    torch.testing.assert_close(
        gd_weights(X, y, lr, [0, 7, 30]), gd_trajectory(X, y, lr, 30)[[0, 7, 30]],
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip


@pytest.mark.parametrize("lr_times_max", [0.3, 1.5])
def test_gd_filter_factors_are_the_shrinkage_of_the_iterates(lr_times_max):
    # project the SGD iterates and the least-squares solution on the eigenvectors
    X, y = _problem()
    lam, Q = quadratic_spectrum(X)
    lr = lr_times_max / lam.max().item()
    w_star = torch.linalg.lstsq(X, y).solution
    steps = [1, 2, 5, 25]
    measured = (gd_trajectory(X, y, lr, 25)[steps] @ Q) / (Q.T @ w_star)
    torch.testing.assert_close(gd_filter_factors(lam, lr, steps), measured, rtol=1e-8, atol=1e-10)
    expected = 1 - (1 - lr * lam[-1]) ** 5  # one entry by hand
    assert gd_filter_factors(lam, lr, 5)[-1].item() == pytest.approx(expected.item(), rel=1e-14)


def test_ridge_weights_solve_the_penalized_problem():
    # independent route: least squares on the augmented system [X; sqrt(N alpha) I]
    X, y = _problem()
    n, d = X.shape
    alphas = [1e-3, 0.1, 3.0]
    for alpha, w in zip(alphas, ridge_weights(X, y, alphas), strict=True):
        X_aug = torch.cat([X, (n * alpha) ** 0.5 * torch.eye(d, dtype=X.dtype)])
        y_aug = torch.cat([y, torch.zeros(d, dtype=X.dtype)])
        torch.testing.assert_close(w, torch.linalg.lstsq(X_aug, y_aug).solution, rtol=1e-10,
                                   atol=1e-12)  # fmt: skip
        w = w.clone().requires_grad_()
        (0.5 * ((X @ w - y) ** 2).mean() + 0.5 * alpha * w.pow(2).sum()).backward()
        assert w.grad.abs().max() < 1e-12  # a stationary point of L(w) + alpha/2 |w|^2


def test_ridge_filter_factors_are_the_shrinkage_of_the_ridge_solution():
    X, y = _problem()
    lam, Q = quadratic_spectrum(X)
    w_star = torch.linalg.lstsq(X, y).solution
    alphas = [1e-3, 0.1, 3.0]
    measured = (ridge_weights(X, y, alphas) @ Q) / (Q.T @ w_star)
    torch.testing.assert_close(ridge_filter_factors(lam, alphas), measured, rtol=1e-8, atol=1e-10)
    assert ridge_filter_factors(lam, 0.1).shape == lam.shape
    assert ridge_filter_factors(torch.tensor([1.0, 3.0]), 1.0).tolist() == [0.5, 0.75]


def test_equivalent_alpha_matches_both_limits():
    lr, tau = 0.01, 200
    alpha = equivalent_alpha(lr, tau)
    assert alpha == 1 / (lr * tau)
    small = torch.tensor([1e-4, 1e-3, 5e-3])  # eps*tau*lambda <= 0.01: both ~ eps*tau*lambda
    torch.testing.assert_close(
        gd_filter_factors(small, lr, tau), ridge_filter_factors(small, alpha), rtol=0.02, atol=0
    )
    large = torch.tensor([50.0, 80.0])  # eps*tau*lambda >= 100, eps*lambda < 1: both ~ 1
    assert (gd_filter_factors(large, lr, tau) > 0.99).all()
    assert (ridge_filter_factors(large, alpha) > 0.99).all()


def test_beyond_two_over_lr_the_factors_diverge_and_are_not_clamped():
    lam = torch.tensor([1.5, 2.5])  # eps*lambda = 1.5 (overshoots, converges), 2.5 (diverges)
    f = gd_filter_factors(lam, 1.0, [1, 2, 3, 20])
    assert f[0, 0] > 1 and f[1, 0] < 1 and f[2, 0] > 1  # oscillates around 1
    assert abs(f[-1, 0] - 1) < 1e-3
    assert f[-1, 1].abs() > 1e3  # |1 - 2.5|^20 = 1.5^20 ~ 3300


def test_scalar_and_sequence_arguments_agree_and_keep_the_dtype():
    X, y = _problem()
    torch.testing.assert_close(ridge_weights(X, y, 0.1), ridge_weights(X, y, [0.1])[0])
    torch.testing.assert_close(gd_weights(X, y, 0.1, 7), gd_weights(X, y, 0.1, [7])[0])
    X32, y32 = X.float(), y.float()
    assert ridge_weights(X32, y32, 0.1).dtype == gd_weights(X32, y32, 0.1, 3).dtype
    assert gd_weights(X32, y32, 0.1, 3).dtype == torch.float32
    assert gd_filter_factors(torch.ones(2, dtype=torch.float32), 0.1, 3).dtype == torch.float32
    assert gd_trajectory(X, y, 0.1, 0).shape == (1, 5)
    assert (gd_trajectory(X, y, 0.1, 0) == 0).all()  # w_0 = 0
    assert equivalent_alpha(0.5, 1) == 2.0


def test_eps_lambda_exactly_one_and_zero_steps():
    # 1 - (1 - 1)^tau: 0 at tau = 0 (0^0 = 1), then exactly 1
    f = gd_filter_factors(torch.tensor([1.0, 0.5], dtype=torch.float64), 1.0, [0, 1, 2])
    assert f[:, 0].tolist() == [0.0, 1.0, 1.0]
    assert f[:, 1].tolist() == [0.0, 0.5, 0.75]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, y: gd_filter_factors(torch.ones(3), 0.0, 5), "lr must be a finite number > 0"),
        (lambda X, y: gd_filter_factors(torch.ones(3), -0.1, 5), "lr must be"),
        (lambda X, y: gd_filter_factors(torch.ones(3), 0.1, -1), "num_steps must be >= 0"),
        (lambda X, y: gd_filter_factors(torch.ones(3), 0.1, 2.5), "num_steps must be an int or"),
        (lambda X, y: gd_filter_factors(torch.ones(3), 0.1, [[1, 2]]), "1-D sequence of ints"),
        (lambda X, y: gd_filter_factors(torch.ones(3), 0.1, torch.tensor([True])), "of ints"),
        (lambda X, y: gd_filter_factors(-torch.ones(3), 0.1, 2), HESSIAN_MESSAGE),
        (lambda X, y: ridge_filter_factors(torch.ones(3), float("inf")), "^alpha must be"),
        (lambda X, y: ridge_filter_factors(torch.ones(3), [[0.1]]), "^alpha must be"),
        (lambda X, y: quadratic_spectrum(X[0]), r"^X must have shape \(N, d\), got \(5,\)"),
        (lambda X, y: ridge_filter_factors(torch.ones(3), 0.0), "alpha must be a finite number"),
        (lambda X, y: ridge_filter_factors(torch.ones(3), [0.1, -1.0]), "alpha must be"),
        (lambda X, y: equivalent_alpha(0.1, 0), "num_steps must be an integer >= 1, got 0"),
        (lambda X, y: gd_trajectory(X, y, 0.1, -1), "num_steps must be an integer >= 0, got -1"),
        (lambda X, y: gd_weights(X, y[:-1], 0.1, 3), r"y must have shape \(N,\) = \(40,\)"),
        (lambda X, y: gd_weights(X[0], y, 0.1, 3), r"X must have shape \(N, d\)"),
        (lambda X, y: ridge_weights(X, y, 0.0), "alpha must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    X, y = _problem()
    with pytest.raises(ValueError, match=match):
        call(X, y)


def test_a_step_count_of_the_wrong_type_is_a_type_error():
    X, y = _problem()
    with pytest.raises(TypeError, match=r"num_steps must be an integer >= 0, got float 2\.0"):
        gd_trajectory(X, y, 0.1, 2.0)
    with pytest.raises(TypeError, match="num_steps must be an integer >= 1, got bool True"):
        equivalent_alpha(0.1, True)
