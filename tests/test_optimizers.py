import pytest
import torch
from torch import nn

from reglab.optim import (
    AdamState,
    ProximalSGD,
    adam_step,
    adamw_step,
    l1_penalty,
    l2_penalty,
    sgd_step,
    soft_threshold,
)

LAMBDAS = [0.0, 1e-3, 0.1, 1.0]
LRS = [1e-3, 0.05, 0.5]


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    w0 = torch.randn(6, 4, generator=g, dtype=torch.float64)
    X = torch.randn(16, 4, generator=g, dtype=torch.float64)
    y = torch.randn(16, 6, generator=g, dtype=torch.float64)

    def grad_at(w):
        w = w.detach().clone().requires_grad_()
        ((X @ w.T - y) ** 2).mean().backward()
        return w.grad

    return w0, grad_at


def _run_torch(optimizer_cls, w0, grad_at, steps, **kwargs):
    w = nn.Parameter(w0.clone())
    optimizer = optimizer_cls([w], **kwargs)
    for _ in range(steps):
        w.grad = grad_at(w)
        optimizer.step()
    return w.detach()


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("lr", LRS)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_step_matches_torch(lam, lr, momentum):
    w0, grad_at = _problem()
    w, buf = w0.clone(), None
    for _ in range(3):
        w, buf = sgd_step(w, grad_at(w), lr, weight_decay=lam, momentum=momentum, buf=buf)
    expected = _run_torch(
        torch.optim.SGD, w0, grad_at, 3, lr=lr, weight_decay=lam, momentum=momentum
    )
    torch.testing.assert_close(w, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("lr", LRS)
def test_sgd_weight_decay_is_the_gradient_of_the_l2_penalty(lam, lr):
    """SGD(weight_decay=λ) on L  ==  SGD on L + λ/2 ||w||^2  ==  (1 - αλ) w - α dL/dw."""
    w0, grad_at = _problem()
    decayed = _run_torch(torch.optim.SGD, w0, grad_at, 1, lr=lr, weight_decay=lam)
    w = w0.clone().requires_grad_()
    (lam * l2_penalty([w])).backward()
    explicit = w0 - lr * (grad_at(w0) + w.grad)
    by_hand = (1 - lr * lam) * w0 - lr * grad_at(w0)
    torch.testing.assert_close(decayed, explicit, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(decayed, by_hand, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("lr", LRS)
@pytest.mark.parametrize(
    "fn, cls", [(adam_step, torch.optim.Adam), (adamw_step, torch.optim.AdamW)]
)
def test_adam_and_adamw_steps_match_torch(lam, lr, fn, cls):
    w0, grad_at = _problem()
    w, state = w0.clone(), AdamState.zeros_like(w0)
    for _ in range(4):
        w, state = fn(w, grad_at(w), state, lr=lr, weight_decay=lam)
    expected = _run_torch(cls, w0, grad_at, 4, lr=lr, weight_decay=lam)
    torch.testing.assert_close(w, expected, rtol=1e-10, atol=1e-12)
    assert state.step == 4


def test_adam_and_adamw_differ_only_with_weight_decay():
    w0, grad_at = _problem()
    state = AdamState.zeros_like(w0)
    a, _ = adam_step(w0, grad_at(w0), state, lr=0.01, weight_decay=0.0)
    b, _ = adamw_step(w0, grad_at(w0), state, lr=0.01, weight_decay=0.0)
    torch.testing.assert_close(a, b)
    a, _ = adam_step(w0, grad_at(w0), state, lr=0.01, weight_decay=0.5)
    b, _ = adamw_step(w0, grad_at(w0), state, lr=0.01, weight_decay=0.5)
    assert not torch.allclose(a, b)


def test_proximal_sgd_is_sgd_then_soft_threshold():
    w0, grad_at = _problem()
    p = nn.Parameter(w0.clone())
    optimizer = ProximalSGD([p], lr=0.1, l1=3.0)
    p.grad = grad_at(p)
    optimizer.step()
    expected = soft_threshold(w0 - 0.1 * grad_at(w0), 0.1 * 3.0)
    torch.testing.assert_close(p.detach(), expected)
    assert (p == 0).sum() > 0


def test_subgradient_l1_does_not_reach_exact_zeros_but_proximal_does():
    torch.manual_seed(0)
    w_sub = nn.Parameter(torch.randn(200) * 0.1)
    w_prox = nn.Parameter(w_sub.detach().clone())
    sub, prox = torch.optim.SGD([w_sub], lr=0.01), ProximalSGD([w_prox], lr=0.01, l1=1.0)
    for _ in range(200):  # the penalty alone: the minimum is w = 0
        sub.zero_grad()
        l1_penalty(w_sub).backward()
        sub.step()
        prox.zero_grad()
        w_prox.grad = torch.zeros_like(w_prox)
        prox.step()
    assert (w_prox == 0).all()
    assert (w_sub == 0).float().mean() < 0.05  # oscillates around 0 within lr * lambda
    assert w_sub.abs().max() <= 0.01 + 1e-6


@pytest.mark.parametrize(
    "call",
    [
        lambda: sgd_step(torch.ones(2), torch.ones(2), 0.1, weight_decay=-0.1),
        lambda: adam_step(
            torch.ones(2), torch.ones(2), AdamState.zeros_like(torch.ones(2)), weight_decay=-1
        ),
        lambda: adamw_step(
            torch.ones(2), torch.ones(2), AdamState.zeros_like(torch.ones(2)), lr=-1
        ),
        lambda: ProximalSGD([nn.Parameter(torch.ones(2))], lr=0.1, l1=-1.0),
    ],
)
def test_negative_strengths_are_clear_errors(call):
    with pytest.raises(ValueError, match=r"must be a finite number >= 0, got"):
        call()


# --- ProximalSGD: parameter groups, frozen parameters, negative l1 (issue 13) -------------


def test_proximal_sgd_param_group_added_later_uses_the_default_l1():
    first, later = nn.Parameter(torch.tensor([0.5, -0.05])), nn.Parameter(torch.tensor([0.03]))
    optimizer = ProximalSGD([first], lr=0.1, l1=0.5)  # threshold 0.05
    optimizer.add_param_group({"params": [later]})
    assert optimizer.param_groups[1]["l1"] == 0.5
    for p in (first, later):
        p.grad = torch.zeros_like(p)
    optimizer.step()
    torch.testing.assert_close(first.detach(), torch.tensor([0.45, 0.0]))
    torch.testing.assert_close(later.detach(), torch.tensor([0.0]))


def test_proximal_sgd_groups_can_set_their_own_l1():
    a, b = nn.Parameter(torch.tensor([1.0])), nn.Parameter(torch.tensor([1.0]))
    optimizer = ProximalSGD([{"params": [a]}, {"params": [b], "l1": 2.0}], lr=0.1, l1=1.0)
    a.grad, b.grad = torch.zeros(1), torch.zeros(1)
    optimizer.step()
    torch.testing.assert_close(a.detach(), torch.tensor([0.9]))
    torch.testing.assert_close(b.detach(), torch.tensor([0.8]))


def test_proximal_sgd_leaves_parameters_without_gradient_alone():
    """A frozen weight (grad None) went from 1.0 to 0.5 in 5 steps."""
    frozen = nn.Parameter(torch.ones(3))
    trained = nn.Parameter(torch.ones(3))
    optimizer = ProximalSGD([frozen, trained], lr=0.1, l1=1.0)
    for _ in range(5):
        trained.grad = torch.zeros(3)
        optimizer.step()
    torch.testing.assert_close(frozen.detach(), torch.ones(3), rtol=0, atol=0)
    torch.testing.assert_close(trained.detach(), torch.full((3,), 0.5))


@pytest.mark.parametrize("l1", [-1.0, float("nan")])
def test_proximal_sgd_rejects_a_negative_l1_in_any_group(l1):
    with pytest.raises(ValueError, match=r"l1 must be a finite number >= 0, got"):
        ProximalSGD([nn.Parameter(torch.ones(2))], lr=0.1, l1=l1)
    with pytest.raises(ValueError, match=r"l1 must be a finite number >= 0, got"):
        ProximalSGD([{"params": [nn.Parameter(torch.ones(2))], "l1": l1}], lr=0.1)
    optimizer = ProximalSGD([nn.Parameter(torch.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"l1 must be a finite number >= 0, got"):
        optimizer.add_param_group({"params": [nn.Parameter(torch.ones(2))], "l1": l1})


def test_proximal_sgd_state_dict_round_trip_keeps_l1():
    w = nn.Parameter(torch.ones(2))
    optimizer = ProximalSGD([w], lr=0.1, l1=0.3, momentum=0.9)
    w.grad = torch.ones(2)
    optimizer.step()
    restored = ProximalSGD([w], lr=0.1)
    restored.load_state_dict(optimizer.state_dict())
    assert restored.param_groups[0]["l1"] == 0.3


# --- shapes and betas, as torch.optim checks them (issue 13) ------------------------------


def test_sgd_step_rejects_mismatched_shapes():
    w = torch.ones(3, 2)
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but w has shape \(3, 2\)"):
        sgd_step(w, torch.ones(2), 0.1)
    with pytest.raises(ValueError, match=r"buf has shape \(1,\) but w has shape \(3, 2\)"):
        sgd_step(w, torch.ones(3, 2), 0.1, momentum=0.9, buf=torch.ones(1))


@pytest.mark.parametrize("fn", [adam_step, adamw_step])
def test_adam_steps_reject_mismatched_shapes(fn):
    w = torch.ones(3, 2)
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but w has shape \(3, 2\)"):
        fn(w, torch.ones(2), AdamState.zeros_like(w))
    with pytest.raises(ValueError, match=r"exp_avg has shape \(2,\) but w has shape \(3, 2\)"):
        fn(w, torch.ones(3, 2), AdamState.zeros_like(torch.ones(2)))


def test_adam_state_rejects_inconsistent_moments_and_negative_steps():
    with pytest.raises(ValueError, match=r"exp_avg_sq has shape \(3,\) but exp_avg has shape"):
        AdamState(0, torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="step must be an integer >= 0, got -1"):
        AdamState(-1, torch.zeros(2), torch.zeros(2))


ADAMS = [(adam_step, torch.optim.Adam), (adamw_step, torch.optim.AdamW)]


@pytest.mark.parametrize("fn, cls", ADAMS)
@pytest.mark.parametrize(
    "betas, index",
    [((1.5, 0.9), 0), ((0.9, 1.0), 1), ((-0.1, 0.9), 0), ((0.9, float("nan")), 1)],
)
def test_adam_steps_reject_betas_outside_zero_one_like_torch(fn, cls, betas, index):
    with pytest.raises(ValueError, match="beta"):
        cls([nn.Parameter(torch.ones(2))], betas=betas)  # torch rejects them too
    w = torch.ones(2)
    with pytest.raises(ValueError, match=rf"^betas\[{index}\] must be in \[0, 1\), got"):
        fn(w, torch.ones(2), AdamState.zeros_like(w), betas=betas)


@pytest.mark.parametrize("fn, cls", ADAMS)
def test_adam_steps_accept_betas_and_eps_of_zero_like_torch(fn, cls):
    w0, grad_at = _problem()
    w, state = w0.clone(), AdamState.zeros_like(w0)
    kwargs = dict(lr=0.01, betas=(0.0, 0.0), eps=0.0)
    for _ in range(2):
        w, state = fn(w, grad_at(w), state, **kwargs)
    torch.testing.assert_close(w, _run_torch(cls, w0, grad_at, 2, **kwargs))


@pytest.mark.parametrize("fn", [adam_step, adamw_step])
def test_adam_steps_reject_a_negative_eps(fn):
    w = torch.ones(2)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0, got -1e-08"):
        fn(w, torch.ones(2), AdamState.zeros_like(w), eps=-1e-8)


# --- defaults and error messages, as a user meets them --------------------------------


@pytest.mark.parametrize(
    "fn, cls", [(adam_step, torch.optim.Adam), (adamw_step, torch.optim.AdamW)]
)
def test_adam_defaults_are_torchs(fn, cls):
    w0, grad_at = _problem()
    w, state = w0.clone(), AdamState.zeros_like(w0)
    for _ in range(3):
        w, state = fn(w, grad_at(w), state)  # every hyperparameter at its default
    torch.testing.assert_close(w, _run_torch(cls, w0, grad_at, 3))


def test_sgd_defaults_are_torchs():
    w0, grad_at = _problem()
    w, buf = w0.clone(), None
    for _ in range(3):
        w, buf = sgd_step(w, grad_at(w), 0.1, buf=buf)
    torch.testing.assert_close(w, _run_torch(torch.optim.SGD, w0, grad_at, 3, lr=0.1))
    assert buf is None  # no momentum by default: no buffer


def _w_g_state():
    return torch.ones(2), torch.ones(2), AdamState.zeros_like(torch.ones(2))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda w, g, s: sgd_step(w, g, -0.1), "lr"),
        (lambda w, g, s: sgd_step(w, g, 0.1, weight_decay=-1), "weight_decay"),
        (lambda w, g, s: sgd_step(w, g, 0.1, momentum=-0.9), "momentum"),
        (lambda w, g, s: adam_step(w, g, s, lr=-1), "lr"),
        (lambda w, g, s: adam_step(w, g, s, weight_decay=-1), "weight_decay"),
        (lambda w, g, s: adamw_step(w, g, s, lr=-1), "lr"),
        (lambda w, g, s: adamw_step(w, g, s, weight_decay=-1), "weight_decay"),
        (lambda w, g, s: adamw_step(w, g, s, eps=-1), "eps"),
    ],
)
def test_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number >= 0, got -"):
        call(*_w_g_state())


def test_proximal_sgd_passes_momentum_and_weight_decay_to_sgd():
    w0, grad_at = _problem()
    p, q = nn.Parameter(w0.clone()), nn.Parameter(w0.clone())
    ours = ProximalSGD([p], lr=0.05, l1=0.0, momentum=0.9, weight_decay=0.1)
    sgd = torch.optim.SGD([q], lr=0.05, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        p.grad, q.grad = grad_at(p), grad_at(q)
        ours.step()
        sgd.step()
    torch.testing.assert_close(p, q)


def test_proximal_sgd_error_names_l1():
    with pytest.raises(ValueError, match=r"^l1 must be a finite number >= 0, got -1.0$"):
        ProximalSGD([nn.Parameter(torch.ones(2))], lr=0.1, l1=-1.0)


def test_proximal_sgd_without_l1_is_sgd():
    w0, grad_at = _problem()
    p = nn.Parameter(w0.clone())
    optimizer = ProximalSGD([p], lr=0.1)  # l1 defaults to 0: no shrinkage
    for _ in range(3):
        p.grad = grad_at(p)
        optimizer.step()
    torch.testing.assert_close(p.detach(), _run_torch(torch.optim.SGD, w0, grad_at, 3, lr=0.1))
    assert optimizer.defaults["l1"] == 0.0


def test_proximal_sgd_defaults_hold_l1_for_groups_added_later():
    """As every torch optimizer: a new group takes its missing options from .defaults."""
    optimizer = ProximalSGD([nn.Parameter(torch.ones(1))], lr=0.1, l1=0.5)
    assert optimizer.defaults["l1"] == 0.5
    optimizer.defaults["l1"] = 0.7
    optimizer.add_param_group({"params": [nn.Parameter(torch.ones(1))]})
    assert [g["l1"] for g in optimizer.param_groups] == [0.5, 0.7]


def test_proximal_sgd_step_runs_the_closure_and_returns_its_loss():
    w0, _ = _problem()
    p = nn.Parameter(w0.clone())
    optimizer = ProximalSGD([p], lr=0.1, l1=0.01)

    def closure():
        optimizer.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    torch.testing.assert_close(loss, (w0**2).sum())
    torch.testing.assert_close(p.detach(), soft_threshold(w0 - 0.1 * 2 * w0, 0.1 * 0.01))
