"""Input noise as Tikhonov regularization: the ridge solution, the exact noise set, SGD with
fresh noise, and the second-order expansion for a network, each against an independent
computation (autograd, an augmented least-squares system, Monte Carlo)."""

import pytest
import torch
from conftest import named_errors_test
from torch import nn

from reglab.data.noise import (
    add_input_noise,
    axis_noise,
    noise_penalty_monte_carlo,
    noise_penalty_taylor,
    noisy_least_squares_sgd,
    ridge_solution,
)


def _problem(N=120, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, d, generator=g, dtype=torch.float64)
    y = X @ torch.randn(d, generator=g, dtype=torch.float64) + 0.3 * torch.randn(
        N, generator=g, dtype=torch.float64
    )
    return X, y


@pytest.mark.parametrize("penalty", [0.0, 0.05, 1.0])
def test_ridge_solution_zeroes_the_gradient_and_solves_the_augmented_system(penalty):
    X, y = _problem()
    N, d = X.shape
    w = ridge_solution(X, y, penalty).requires_grad_()
    objective = ((y - X @ w) ** 2).mean() + penalty * w.pow(2).sum()
    (grad,) = torch.autograd.grad(objective, w)
    torch.testing.assert_close(grad, torch.zeros(d, dtype=torch.float64), atol=1e-12, rtol=0)
    # the same minimiser as least squares on [X; sqrt(N lam) I] w = [y; 0]
    A = torch.cat([X, (N * penalty) ** 0.5 * torch.eye(d, dtype=torch.float64)])
    b = torch.cat([y, torch.zeros(d, dtype=torch.float64)])
    torch.testing.assert_close(w.detach(), torch.linalg.lstsq(A, b[:, None]).solution[:, 0])


@pytest.mark.parametrize("std", [0.1, 0.7])
def test_axis_noise_has_exact_moments_and_gives_the_ridge_solution(std):
    X, y = _problem(d=5)
    E = axis_noise(5, std)  # (2d, d)
    torch.testing.assert_close(E.mean(0), torch.zeros(5, dtype=torch.float64))
    torch.testing.assert_close(E.T @ E / len(E), std**2 * torch.eye(5, dtype=torch.float64))
    X_noisy = (X[:, None, :] + E[None]).reshape(-1, 5)  # every sample with every noise vector
    y_rep = y.repeat_interleave(len(E))
    w = torch.linalg.lstsq(X_noisy, y_rep[:, None]).solution[:, 0]
    torch.testing.assert_close(w, ridge_solution(X, y, std**2), rtol=1e-10, atol=1e-12)
    assert (w - ridge_solution(X, y, 0.0)).norm() > 1e-3  # and not least squares


def test_sgd_with_fresh_noise_converges_to_ridge_not_to_least_squares():
    X, y = _problem(N=200, d=5, seed=1)
    std = 0.7
    w_ridge, w_ols = ridge_solution(X, y, std**2), ridge_solution(X, y, 0.0)
    w_avg, trajectory = noisy_least_squares_sgd(
        X, y, std, lr=0.05, num_steps=4000, generator=torch.Generator().manual_seed(0)
    )
    assert trajectory.shape == (4001, 5) and (trajectory[0] == 0).all()
    assert (w_avg - w_ridge).norm() / w_ridge.norm() < 0.01
    assert (w_ols - w_ridge).norm() / w_ridge.norm() > 0.2
    # without noise the same loop is plain gradient descent on least squares
    w0, _ = noisy_least_squares_sgd(X, y, 0.0, lr=0.05, num_steps=4000)
    torch.testing.assert_close(w0, w_ols, rtol=1e-8, atol=1e-10)


def test_minibatch_sgd_also_converges():
    X, y = _problem(N=200, d=3, seed=2)
    w_avg, _ = noisy_least_squares_sgd(
        X, y, 0.5, lr=0.01, num_steps=20000, batch_size=20,
        generator=torch.Generator().manual_seed(1),
    )  # fmt: skip
    w_ridge = ridge_solution(X, y, 0.25)
    assert (w_avg - w_ridge).norm() / w_ridge.norm() < 0.02


def test_add_input_noise():
    X = torch.zeros(20000, 3, dtype=torch.float64)
    assert torch.equal(add_input_noise(X, 0.0), X)
    a = add_input_noise(X, 0.5, generator=torch.Generator().manual_seed(0))
    b = add_input_noise(X, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.dtype == torch.float64
    assert abs(a.std().item() - 0.5) < 0.01 and abs(a.mean().item()) < 0.01


def test_taylor_terms_of_a_linear_model_are_exactly_ridge():
    X, y = _problem(d=3)
    model = nn.Linear(3, 1).double()
    jac, curv = noise_penalty_taylor(model, X, y, 0.3)
    w2 = model.weight.detach().pow(2).sum()
    torch.testing.assert_close(jac, torch.full_like(jac, 0.09 * w2.item()))
    torch.testing.assert_close(curv, torch.zeros_like(curv))
    mc = noise_penalty_monte_carlo(model, X, y, 0.3, num_draws=4000,
                                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    torch.testing.assert_close(mc.mean(), jac.mean(), rtol=0.03, atol=0)


class _Quadratic(nn.Module):
    """f(x) = x^T A x with a known gradient (A + A^T) x and Laplacian 2 tr(A)."""

    def __init__(self, A):
        super().__init__()
        self.A = nn.Parameter(A)

    def forward(self, x):
        return torch.einsum("ni,ij,nj->n", x, self.A, x)


def test_taylor_terms_of_a_quadratic_by_hand():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 3, generator=g, dtype=torch.float64)
    X = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y = torch.randn(10, generator=g, dtype=torch.float64)
    model = _Quadratic(A)
    jac, curv = noise_penalty_taylor(model, X, y, 0.2)
    grad = X @ (A + A.T)  # (N, d)
    torch.testing.assert_close(jac, 0.04 * grad.pow(2).sum(1))
    with torch.no_grad():
        torch.testing.assert_close(curv, 0.04 * (model(X) - y) * 2 * A.trace())


def test_monte_carlo_matches_the_expansion_for_a_small_noise():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(32, 2, generator=g, dtype=torch.float64)
    y = torch.sin(X[:, 0])
    jac, curv = noise_penalty_taylor(net, X, y, 0.05)
    mc = noise_penalty_monte_carlo(net, X, y, 0.05, num_draws=1000, generator=g)
    assert mc.sum().item() == pytest.approx((jac + curv).sum().item(), rel=0.03)
    assert not mc.sum().item() == pytest.approx(jac.sum().item(), rel=0.03)  # curvature counts


def test_errors():
    X, y = _problem()
    with pytest.raises(ValueError, match="std must be a finite number >= 0, got -1"):
        add_input_noise(X, -1.0)
    with pytest.raises(ValueError, match="penalty must be a finite number >= 0"):
        ridge_solution(X, y, -0.1)
    with pytest.raises(ValueError, match=r"X must be \(N, d\) and y \(N,\)"):
        ridge_solution(X, y[:-1], 0.1)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0\.0"):
        noisy_least_squares_sgd(X, y, 0.1, lr=0.0)
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 120\]"):
        noisy_least_squares_sgd(X, y, 0.1, batch_size=500)
    with pytest.raises(ValueError, match=r"num_steps - 1 must be an integer >= 1, got 0"):
        noisy_least_squares_sgd(X, y, 0.1, num_steps=1)
    with pytest.raises(ValueError, match="num_draws must be an integer >= 1, got 0"):
        noise_penalty_monte_carlo(nn.Linear(4, 1).double(), X, y, 0.1, num_draws=0)
    with pytest.raises(ValueError, match="one value per sample"):
        noise_penalty_monte_carlo(nn.Linear(4, 2).double(), X, y, 0.1, num_draws=1)


def _named_errors():
    X, y = _problem(N=6, d=2)
    lin = nn.Linear(2, 1).double()
    nonneg, posint = "must be a finite number >= 0, got", "must be an integer >= 1, got"
    return {
        "noise std": (lambda: add_input_noise(X, -1.0), ValueError, rf"^std {nonneg} -1"),
        "ridge penalty": (lambda: ridge_solution(X, y, -1.0), ValueError, rf"^penalty {nonneg}"),
        "ridge 1-D X": (lambda: ridge_solution(y, y, 0.1), ValueError, r"^X must be \(N, d\)"),
        "ridge 2-D y": (lambda: ridge_solution(X, X, 0.1), ValueError, r"^X must be \(N, d\)"),
        "axis std": (lambda: axis_noise(3, -1.0), ValueError, rf"^std {nonneg} -1"),
        "axis features": (lambda: axis_noise(0, 0.1), ValueError, rf"^num_features {posint} 0"),
        "sgd std": (lambda: noisy_least_squares_sgd(X, y, -1.0), ValueError, rf"^std {nonneg}"),
        "sgd lr": (
            lambda: noisy_least_squares_sgd(X, y, 0.1, lr=-1.0), ValueError,
            r"^lr must be a finite number > 0, got -1"),
        "sgd shapes": (
            lambda: noisy_least_squares_sgd(X, y[:-1], 0.1), ValueError, r"^X must be \(N, d\)"),
        "sgd 1-D X": (
            lambda: noisy_least_squares_sgd(y, y, 0.1), ValueError, r"^X must be \(N, d\)"),
        "sgd batch 0": (
            lambda: noisy_least_squares_sgd(X, y, 0.1, batch_size=0), ValueError,
            rf"^batch_size {posint} 0"),
        "sgd batch N+1": (
            lambda: noisy_least_squares_sgd(X, y, 0.1, batch_size=7), ValueError,
            r"^batch_size must be in \[1, 6\], got 7$"),
        "mc std": (
            lambda: noise_penalty_monte_carlo(lin, X, y, -1.0), ValueError, rf"^std {nonneg}"),
        "mc model": (
            lambda: noise_penalty_monte_carlo(lambda x: x, X, y, 0.1), TypeError,
            r"^model must be an nn\.Module, got function"),
        "mc X": (
            lambda: noise_penalty_monte_carlo(lin, X.tolist(), y, 0.1), TypeError,
            r"^X and y must be tensors, got list, Tensor"),
        "mc y": (
            lambda: noise_penalty_monte_carlo(lin, X, y.tolist(), 0.1), TypeError,
            r"^X and y must be tensors, got Tensor, list"),
        "mc y column": (
            lambda: noise_penalty_monte_carlo(lin, X, y[:, None], 0.1), ValueError,
            r"^y must be \(N,\) for X of \(6, 2\), got \(6, 1\)"),
        "taylor std": (
            lambda: noise_penalty_taylor(lin, X, y, -1.0), ValueError, rf"^std {nonneg}"),
        "taylor model": (
            lambda: noise_penalty_taylor(None, X, y, 0.1), TypeError, r"^model must be an nn"),
        "taylor outputs": (
            lambda: noise_penalty_taylor(nn.Linear(2, 2).double(), X, y, 0.1), ValueError,
            r"^model must return one value per sample, got \(1, 2\)"),
    }  # fmt: skip


test_errors_name_the_argument_and_its_range = named_errors_test(_named_errors)


def test_noiseless_sgd_is_gradient_descent_on_the_mean_squared_error():
    """Each step against autograd's gradient of (1/N)||Xw - y||^2, and the average over the
    second half of the iterates (w_2, ..., w_4 for 4 steps)."""
    X, y = _problem(N=30, d=3)
    w_avg, trajectory = noisy_least_squares_sgd(X, y, 0.0, lr=0.1, num_steps=4)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    iterates = [w.detach()]
    for _ in range(4):
        (grad,) = torch.autograd.grad(((X @ w - y) ** 2).mean(), w)
        w = (w - 0.1 * grad).detach().requires_grad_()
        iterates.append(w.detach())
    torch.testing.assert_close(trajectory, torch.stack(iterates), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(w_avg, torch.stack(iterates[2:]).mean(0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 5])
def test_noisy_sgd_draws_only_from_its_generator(batch_size):
    X, y = _problem(N=30, d=3)
    state = torch.get_rng_state()
    runs = [
        noisy_least_squares_sgd(X, y, 0.5, num_steps=6, batch_size=batch_size,
                                generator=torch.Generator().manual_seed(seed))[1]
        for seed in (0, 0, 1)
    ]  # fmt: skip
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_add_input_noise_is_x_plus_std_times_a_standard_normal_draw():
    X = torch.randn(5, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    noisy = add_input_noise(X, 0.5, generator=torch.Generator().manual_seed(2))
    draw = torch.randn(5, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.testing.assert_close(noisy, X + 0.5 * draw, rtol=0, atol=0)


def test_results_stay_on_the_inputs_device():
    """The meta device stands in for an accelerator: a tensor made on the default device
    would fail to combine with the inputs."""
    X = torch.empty(10, 3, dtype=torch.float64, device="meta")
    y = torch.empty(10, dtype=torch.float64, device="meta")
    assert add_input_noise(X, 0.1).device.type == "meta"
    assert ridge_solution(X, y, 0.1).device.type == "meta"
    for batch_size in (None, 4):
        w_avg, trajectory = noisy_least_squares_sgd(X, y, 0.1, num_steps=3, batch_size=batch_size)
        assert w_avg.device.type == trajectory.device.type == "meta"
