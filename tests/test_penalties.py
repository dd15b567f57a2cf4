import pytest
import torch
from torch import nn

from reglab.optim import l1_penalty, l2_penalty, param_groups, soft_threshold
from reglab.train import small_cnn


def test_penalties_and_their_gradients_equal_the_formulas():
    w = torch.tensor([[-2.0, 0.0], [0.5, 3.0]], requires_grad=True)
    b = torch.tensor([1.0, -1.0], requires_grad=True)
    assert l1_penalty([w, b]).item() == pytest.approx(2 + 0.5 + 3 + 1 + 1)
    assert l2_penalty([w, b]).item() == pytest.approx(0.5 * (4 + 0.25 + 9 + 1 + 1))
    lam = 0.3
    (lam * l1_penalty([w, b])).backward()
    torch.testing.assert_close(w.grad, lam * torch.sign(w.detach()))  # sign(0) = 0
    torch.testing.assert_close(b.grad, lam * torch.sign(b.detach()))
    w.grad = None
    (lam * l2_penalty(w)).backward()
    torch.testing.assert_close(w.grad, lam * w.detach())


def test_penalties_accept_model_parameters():
    model = nn.Linear(3, 2)
    expected = sum(p.abs().sum() for p in model.parameters())
    torch.testing.assert_close(l1_penalty(model.parameters()), expected)


@pytest.mark.parametrize("fn", [l1_penalty, l2_penalty])
def test_penalties_reject_non_tensors(fn):
    with pytest.raises(TypeError, match="item 1 is a float"):
        fn([torch.ones(2), 0.5])


def test_proximal_step_zeroes_exactly_the_weights_within_lr_lambda():
    w = torch.tensor([-0.5, -0.02, -0.01, 0.0, 0.005, 0.011, 0.3])
    lr, lam = 0.1, 0.1  # threshold 0.01
    out = soft_threshold(w, lr * lam)
    small = w.abs() <= lr * lam
    assert (out[small] == 0).all()
    assert (out[~small] != 0).all()
    torch.testing.assert_close(out[~small], w[~small] - torch.sign(w[~small]) * lr * lam)


def test_param_groups_exclude_biases_and_norm_layers():
    model = small_cnn(batch_norm=True)
    decay, no_decay = param_groups(model, weight_decay=0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            assert id(module.weight) in decay_ids
            if module.bias is not None:
                assert id(module.bias) not in decay_ids
        if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
            assert id(module.weight) not in decay_ids and id(module.bias) not in decay_ids
    all_params = {id(p) for p in model.parameters()}
    assert decay_ids | {id(p) for p in no_decay["params"]} == all_params
    torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)  # accepted by a real optimizer


@pytest.mark.parametrize(
    "call",
    [
        lambda: soft_threshold(torch.ones(2), -0.5),
        lambda: param_groups(nn.Linear(2, 2), weight_decay=float("nan")),
    ],
)
def test_negative_strengths_are_clear_errors(call):
    with pytest.raises(ValueError, match=r"must be a finite number >= 0, got"):
        call()


def test_penalties_of_a_single_tensor_including_a_scalar():
    torch.testing.assert_close(l1_penalty(torch.tensor(-3.0)), torch.tensor(3.0))
    torch.testing.assert_close(l2_penalty(torch.tensor(-3.0)), torch.tensor(4.5))
    w = torch.tensor([[1.0, -2.0], [3.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(l1_penalty(w), torch.tensor(6.0, dtype=torch.float64))


@pytest.mark.parametrize("fn", [l1_penalty, l2_penalty])
def test_penalty_of_no_parameters_is_a_zero_tensor(fn):
    penalty = fn([])
    assert isinstance(penalty, torch.Tensor)
    torch.testing.assert_close(penalty, torch.tensor(0.0))


def test_param_groups_follow_the_role_not_the_number_of_dimensions():
    """A 2-D LayerNorm scale is not decayed; a parameter named bias never is; a frozen
    parameter is left out without dropping the module's other parameters."""

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.frozen = nn.Parameter(torch.ones(3, 3), requires_grad=False)
            self.weight = nn.Parameter(torch.ones(3, 3))
            self.bias = nn.Parameter(torch.ones(1, 3))  # 2-D, but a bias

    odd, norm = Odd(), nn.LayerNorm((4, 5))
    decay, no_decay = param_groups(nn.ModuleList([odd, norm]), weight_decay=0.1)
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    assert ids(decay["params"]) == {id(odd.weight)}
    assert ids(no_decay["params"]) == {id(odd.bias), id(norm.weight), id(norm.bias)}
    assert len(decay["params"]) == 1 and len(no_decay["params"]) == 3  # each listed once


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: soft_threshold(torch.ones(2), -1.0), "threshold"),
        (lambda: param_groups(nn.Linear(2, 2), weight_decay=-1.0), "weight_decay"),
    ],
)
def test_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number >= 0, got -1.0$"):
        call()
