"""FGSM and PGD from scratch, checked against torchattacks; the linear closed form; the
study's plumbing on synthetic digits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.train import adversarial_mix, fgsm, linear_adversarial_loss, pgd, train

torchattacks = pytest.importorskip("torchattacks")


def small_model(seed: int = 0, *, dropout: float = 0.0, batch_norm: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(64, 32)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(32))
    layers.append(nn.ReLU())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(32, 10))
    return nn.Sequential(*layers).eval()


def images(seed: int = 0, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, 8, 8, generator=g)  # (N, C, H, W) in [0, 1]
    X[:, :, :2] = 0.0  # pixels on the box's edges, as in MNIST
    X[:, :, -1] = 1.0
    y = torch.randint(0, 10, (n,), generator=g)
    return X, y


# -- against torchattacks ------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.0, 0.03, 0.1, 0.3])
def test_fgsm_equals_torchattacks(eps):
    model = small_model()
    X, y = images()
    expected = torchattacks.FGSM(model, eps=eps)(X, y)
    torch.testing.assert_close(fgsm(model, X, y, eps), expected, rtol=0, atol=0)


@pytest.mark.parametrize("random_start", [True, False])
@pytest.mark.parametrize(("eps", "alpha", "steps"), [(0.1, 0.025, 10), (0.3, 0.375, 1)])
def test_pgd_equals_torchattacks_from_the_same_start(random_start, eps, alpha, steps):
    # torchattacks draws its start with torch.empty_like(x).uniform_(-eps, eps) from the
    # global RNG; a generator seeded alike draws the same numbers
    model = small_model(1)
    X, y = images(1)
    torch.manual_seed(123)
    expected = torchattacks.PGD(
        model, eps=eps, alpha=alpha, steps=steps, random_start=random_start
    )(X, y)
    g = torch.Generator().manual_seed(123)
    got = pgd(model, X, y, eps, alpha, steps, random_start=random_start, generator=g)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_pgd_random_start_draws_from_the_generator_only():
    model = small_model()
    X, y = images()
    state = torch.get_rng_state()
    a = pgd(model, X, y, 0.1, 0.02, 3, generator=torch.Generator().manual_seed(5))
    b = pgd(model, X, y, 0.1, 0.02, 3, generator=torch.Generator().manual_seed(5))
    c = pgd(model, X, y, 0.1, 0.02, 3, generator=torch.Generator().manual_seed(6))
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_one_step_pgd_without_start_is_fgsm():
    model = small_model(2)
    X, y = images(2)
    torch.testing.assert_close(
        pgd(model, X, y, 0.1, 0.1, 1, random_start=False), fgsm(model, X, y, 0.1), rtol=0, atol=0
    )


def test_restarts_keep_the_worst_example_for_each_input():
    model = small_model(3)
    X, y = images(3, n=64)
    g = torch.Generator().manual_seed(0)
    single = [pgd(model, X, y, 0.2, 0.05, 2, generator=g) for _ in range(3)]
    best = pgd(model, X, y, 0.2, 0.05, 2, restarts=3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        losses = torch.stack([F.cross_entropy(model(x), y, reduction="none") for x in single])
        got = F.cross_entropy(model(best), y, reduction="none")
    torch.testing.assert_close(got, losses.max(0).values)
    assert (losses.argmax(0) > 0).any()  # a later restart won somewhere: the test can fail


# -- the ball and the box, on every output --------------------------------------------------


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    eps=st.floats(0.0, 0.6),
    alpha=st.floats(0.001, 0.5),
    steps=st.integers(1, 4),
    restarts=st.integers(1, 2),
    random_start=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_outputs_stay_in_the_ball_and_the_box(eps, alpha, steps, restarts, random_start, seed):
    model = small_model(seed % 5)
    X, y = images(seed, n=8)
    g = torch.Generator().manual_seed(seed)
    outputs = [
        fgsm(model, X, y, eps),
        pgd(model, X, y, eps, alpha, steps, restarts=restarts, random_start=random_start,
            generator=g),
    ]  # fmt: skip
    for X_adv in outputs:
        assert X_adv.shape == X.shape and X_adv.dtype == X.dtype and not X_adv.requires_grad
        assert (X_adv - X).abs().max() <= eps + 1e-6  # float32 rounding of x + delta
        assert X_adv.min() >= 0 and X_adv.max() <= 1


def test_attacks_raise_the_loss():
    model = small_model(4)
    X, y = images(4, n=64)
    with torch.no_grad():
        clean = F.cross_entropy(model(X), y)
        loss_fgsm = F.cross_entropy(model(fgsm(model, X, y, 0.1)), y)
        loss_pgd = F.cross_entropy(model(pgd(model, X, y, 0.1, 0.025, 10, restarts=2)), y)
    assert clean < loss_fgsm <= loss_pgd


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eps": -0.1}, ValueError, "eps"),
        ({"eps": float("nan")}, ValueError, "eps"),
        ({"eps": "0.1"}, TypeError, "eps"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 2.0}, TypeError, "steps"),
        ({"steps": True}, TypeError, "steps"),
        ({"restarts": 0}, ValueError, "restarts"),
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"generator": 0}, TypeError, "generator"),
        ({"bounds": (1.0, 0.0)}, ValueError, "bounds"),
    ],
)
def test_pgd_rejects_bad_arguments(kwargs, error, match):
    model = small_model()
    X, y = images()
    args = {"eps": 0.1, "alpha": 0.02, "steps": 2, **kwargs}
    with pytest.raises(error, match=match):
        pgd(model, X, y, **args)


def test_fgsm_rejects_negative_eps_and_inputs_outside_the_box():
    model = small_model()
    X, y = images()
    with pytest.raises(ValueError, match="eps"):
        fgsm(model, X, y, -0.01)
    for bad in (X + 0.5, X - 0.5):
        with pytest.raises(ValueError, match=r"input must lie in bounds \[0.0, 1.0\]"):
            fgsm(model, bad, y, 0.1)
        with pytest.raises(ValueError, match="bounds"):
            pgd(model, bad, y, 0.1, 0.02, 2)
    fgsm(model, X + 0.5, y, 0.1, bounds=None)  # allowed without a box


def test_attacks_run_in_eval_mode_and_restore_each_module_mode():
    model = small_model(dropout=0.5, batch_norm=True)
    X, y = images(n=32)
    model.train()
    model(X)  # give batch norm some running statistics
    model[2].eval()  # one submodule left in eval mode by the caller
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    reference = small_model(dropout=0.5, batch_norm=True)
    reference.load_state_dict(model.state_dict())
    reference.eval()
    for attack in (
        lambda m: fgsm(m, X, y, 0.1),
        lambda m: pgd(m, X, y, 0.1, 0.02, 3, generator=torch.Generator().manual_seed(0)),
    ):
        got = attack(model)
        torch.testing.assert_close(got, attack(reference), rtol=0, atol=0)  # as in eval mode
        assert [m.training for m in model.modules()] == modes  # each mode restored
        for k, v in model.state_dict().items():  # no running statistic moved
            assert torch.equal(v, buffers[k]), k
    assert all(p.grad is None for p in model.parameters())  # no .grad left behind


def test_attacks_work_inside_no_grad():
    model = small_model(5)
    X, y = images(5)
    with torch.no_grad():
        inside = pgd(model, X, y, 0.1, 0.02, 2, generator=torch.Generator().manual_seed(0))
    outside = pgd(model, X, y, 0.1, 0.02, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(inside, outside, rtol=0, atol=0)


def test_modes_are_restored_when_the_attack_fails():
    model = small_model(dropout=0.5).train()
    X, y = images()
    with pytest.raises(ValueError, match="batch_size"):
        fgsm(model, X, y[:3], 0.1)  # the loss fails: targets of the wrong length
    assert all(m.training for m in model.modules())


# -- the linear view ------------------------------------------------------------------------


def linear_problem(seed=0, n=200, d=20):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    t = (torch.rand(n, generator=g) < 0.5).long()
    w = torch.randn(d, generator=g, dtype=torch.float64)
    b = torch.randn((), generator=g, dtype=torch.float64)
    return X, t, w, b


@pytest.mark.parametrize("eps", [0.0, 0.01, 0.1, 0.5])
def test_fgsm_loss_of_a_linear_model_equals_the_closed_form(eps):
    X, t, w, b = linear_problem()
    model = nn.Sequential(nn.Linear(20, 1, dtype=torch.float64), nn.Flatten(0))
    with torch.no_grad():
        model[0].weight.copy_(w[None])
        model[0].bias.copy_(b)
    bce = F.binary_cross_entropy_with_logits
    X_adv = fgsm(model, X, t.double(), eps, loss_fn=bce, bounds=None)
    with torch.no_grad():
        attacked = bce(model(X_adv), t.double(), reduction="none")
    closed = linear_adversarial_loss(w, b, X, t, eps, reduction="none")
    torch.testing.assert_close(attacked, closed, rtol=1e-12, atol=1e-14)
    # the closed form is the worst case: no corner of the ball does better
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        delta = eps * torch.randint(0, 2, X.shape, generator=g).double().mul(2).sub(1)
        with torch.no_grad():
            assert (bce(model(X + delta), t.double(), reduction="none") <= closed + 1e-12).all()


def test_linear_adversarial_loss_matches_bce_at_zero_eps_and_its_gradient():
    X, t, w, b = linear_problem(1)
    torch.testing.assert_close(
        linear_adversarial_loss(w, b, X, t, 0.0),
        F.binary_cross_entropy_with_logits(X @ w + b, t.double()),
    )
    w1 = w.clone().requires_grad_(True)
    linear_adversarial_loss(w1, b, X, t, 0.1).backward()
    # Danskin: the gradient is that of the loss at the worst-case inputs, held fixed
    s = 2 * t.double() - 1
    X_adv = X - 0.1 * s[:, None] * w.sign()[None]
    w2 = w.clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(X_adv @ w2 + b, t.double()).backward()
    torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="reduction"):
        linear_adversarial_loss(w, b, X, t, 0.1, reduction="max")
    with pytest.raises(ValueError, match="eps"):
        linear_adversarial_loss(w, b, X, t, -0.1)


def test_training_on_fgsm_examples_equals_training_on_the_closed_form():
    from reglab.studies.adversarial import run_linear

    X, t, _, _ = linear_problem(2, n=300, d=30)
    result = run_linear(X, t, 0.05, lr=0.5, num_steps=60)
    weights = result["weights"]
    torch.testing.assert_close(weights["fgsm"], weights["closed form"], rtol=1e-10, atol=1e-12)
    assert result["max_difference"] < 1e-10
    plain = run_linear(X, t, 0.0, lr=0.5, num_steps=60)["weights"]["fgsm"]
    assert weights["fgsm"][:-1].abs().sum() < plain[:-1].abs().sum()  # the L1 pull


# -- training and the study -----------------------------------------------------------------


def test_adversarial_mix_trains_on_attacked_batches():
    torch.manual_seed(0)
    X, y = images(0, n=64)
    model = small_model(0).train()
    seen = []
    mix = adversarial_mix(model, 0.1)
    hook = lambda X_b, y_b: seen.append((X_b, mix(X_b, y_b)[0])) or mix(X_b, y_b)  # noqa: E731
    train(model, (X, y), mix=hook, num_epochs=1, batch_size=32, progress=False)
    assert len(seen) == 2
    for clean, attacked in seen:
        assert 0 < (attacked - clean).abs().max() <= 0.1 * 1.25 + 1e-6
    assert adversarial_mix(model, 0.0)(X, y)[0] is X
    with pytest.raises(ValueError, match="eps"):
        adversarial_mix(model, -1.0)


def test_run_seed_on_synthetic_digits():
    from reglab.studies.adversarial import QUICK_CONFIG, run_seed
    from reglab.train import History, overfitting

    g = torch.Generator().manual_seed(0)
    y = torch.arange(10).repeat(40)
    X = (torch.rand(len(y), 1, 28, 28, generator=g) < 0.1).float()
    X[torch.arange(len(y)), 0, y, y] = 1.0  # a learnable mark per class
    pool, test = (X[:300], y[:300]), (X[300:], y[300:])
    first = run_seed(0, pool, test, QUICK_CONFIG)
    again = run_seed(0, pool, test, QUICK_CONFIG)
    assert [r["setting"] for r in first] == list(QUICK_CONFIG.settings)
    assert first == again  # reproducible
    for r in first:
        assert r["n_train"] == 200 and r["n_val"] == 100 and r["n_test"] == 100
        assert r["best_epoch"] <= r["epochs_trained"] <= QUICK_CONFIG.num_epochs
        history = History(**r["history"])  # the run's history survives as plain data
        assert len(history.train_acc) == len(history.val_loss) == r["epochs_trained"]
        signs = overfitting(history)
        assert r["overfitting"]["overfits"] == signs.overfits
        assert r["overfitting"]["best_train_acc"] == max(history.train_acc)
        for attacks in r["attacks"].values():
            assert 0 <= attacks["pgd_acc"] <= 1 and attacks["pgd_loss"] >= 0


# -- figures --------------------------------------------------------------------------------


def test_plot_linear_check_draws_every_example_and_rejects_a_mismatch(ax):
    from reglab.plotting.adversarial import plot_linear_check

    values = torch.tensor([0.1, 1.0, 3.0], dtype=torch.float64)
    assert plot_linear_check(values, values, ax) is ax
    assert ax.collections[0].get_offsets().shape == (3, 2)
    with pytest.raises(ValueError, match="same non-empty shape"):
        plot_linear_check(values, values[:2], ax)


def test_show_weights_uses_a_symmetric_scale(ax):
    from reglab.plotting.adversarial import show_weights

    w = torch.linspace(-1, 2, 784)
    show_weights(w, ax, vmax=3.0)
    assert ax.images[0].get_clim() == (-3.0, 3.0)
    with pytest.raises(ValueError, match="784"):
        show_weights(torch.zeros(10), ax)


def test_plot_robustness_draws_seeds_and_means(ax):
    from reglab.plotting.adversarial import plot_robustness

    accuracies = {("plain", "PGD"): torch.rand(5, 3), ("plain", "FGSM"): torch.rand(5, 3)}
    plot_robustness([0.0, 0.1, 0.2], accuracies, ax)
    assert len(ax.lines) == 2 * (5 + 1)  # every seed and each mean
    assert [line.get_linestyle() for line in ax.lines[5::6]] == ["-", "--"]
    with pytest.raises(ValueError, match="shape"):
        plot_robustness([0.0, 0.1], accuracies, ax)
    with pytest.raises(ValueError, match="empty"):
        plot_robustness([0.0], {}, ax)
