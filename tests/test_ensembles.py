"""reglab.train.ensembles: ensemble and MC-dropout predictions, checked against direct formulas."""

import math

import pytest
import torch
from torch import nn

from reglab.train import average_log_probs, mc_dropout_logits, member_logits, scores_by_size


def _models(k):
    out = []
    for seed in range(k):
        torch.manual_seed(seed)
        out.append(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)))
    return out


def test_average_log_probs_is_log_mean_softmax():
    logits = torch.randn(5, 7, 3, dtype=torch.float64) * 3
    expected = logits.softmax(-1).mean(0).log()
    torch.testing.assert_close(average_log_probs(logits), expected)


def test_average_log_probs_finite_when_one_member_is_certain():
    logits = torch.tensor([[[200.0, 0.0]], [[0.0, 0.0]]])  # member 1 gives p_1 = e^-200
    log_p = average_log_probs(logits)
    torch.testing.assert_close(log_p[0, 1], torch.tensor(math.log(0.25)), rtol=1e-5, atol=1e-5)


def test_member_logits_eval_mode_and_restored():
    models = _models(3)
    models[0].train()
    models[1].eval()
    X = torch.randn(6, 4)
    out = member_logits(models, X)
    assert out.shape == (3, 6, 3)
    for k, m in enumerate(models):
        was = m.training
        m.eval()
        assert torch.equal(out[k], m(X))
        m.train(was)
    assert models[0].training and not models[1].training


def test_k_below_one():
    with pytest.raises(ValueError, match="K"):
        member_logits([], torch.randn(2, 4))
    with pytest.raises(ValueError, match="num_samples"):
        mc_dropout_logits(_models(1)[0], torch.randn(2, 4), 0)
    with pytest.raises(ValueError, match="K"):
        average_log_probs(torch.zeros(0, 2, 3))


def _bn_dropout_net(p):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(p), nn.Linear(8, 3))
    net[1].running_mean.fill_(0.5)
    net[1].running_var.fill_(2.0)
    return net


def test_mc_dropout_keeps_batch_norm_in_eval():
    net = _bn_dropout_net(0.0)
    X = torch.randn(5, 4)
    out = mc_dropout_logits(net, X, 3, generator=torch.Generator().manual_seed(0))
    net.eval()
    for k in range(3):  # p = 0: every pass is the eval-mode output, BN on running stats
        assert torch.equal(out[k], net(X))
    assert torch.equal(net[1].running_mean, torch.full((8,), 0.5))


def test_mc_dropout_samples_differ_and_are_reproducible():
    net = _bn_dropout_net(0.5).train()
    X = torch.randn(5, 4)
    state = torch.get_rng_state()
    a = mc_dropout_logits(net, X, 4, generator=torch.Generator().manual_seed(0))
    b = mc_dropout_logits(net, X, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)  # global RNG untouched
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])
    assert net.training and net[1].training  # modes restored


def test_mc_dropout_without_dropout():
    with pytest.raises(ValueError, match="no dropout"):
        mc_dropout_logits(nn.Linear(4, 3), torch.randn(2, 4), 2)


def test_scores_by_size():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 50, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (50,), generator=g)
    scores = scores_by_size(logits, y)
    assert [s["k"] for s in scores] == [1, 2, 3, 4]
    single = logits[0]
    assert scores[0]["accuracy"] == pytest.approx((single.argmax(1) == y).double().mean().item())
    p = logits.softmax(-1).mean(0)
    assert scores[-1]["nll"] == pytest.approx(-p[torch.arange(50), y].log().mean().item())
    assert scores[-1]["accuracy"] == pytest.approx((p.argmax(1) == y).double().mean().item())


class _ModeProbe(nn.Module):
    """Records the mode it ran in, and passes its input on."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


# every dropout module kind of torch.nn, and an input shape it accepts
DROPOUT_KINDS = [
    (nn.Dropout, (6, 4, 5)),
    (nn.Dropout1d, (6, 4, 5)),  # (N, C, L)
    (nn.Dropout2d, (6, 4, 5, 5)),  # (N, C, H, W)
    (nn.Dropout3d, (6, 4, 3, 5, 5)),  # (N, C, D, H, W)
    (nn.AlphaDropout, (6, 4, 5)),
    (nn.FeatureAlphaDropout, (6, 4, 5, 5)),
]


@pytest.mark.parametrize("kind, shape", DROPOUT_KINDS, ids=[k.__name__ for k, _ in DROPOUT_KINDS])
@pytest.mark.parametrize("dropout_was_training", [False, True])
def test_mc_dropout_samples_with_every_dropout_kind_and_gives_back_each_mode(
    kind, shape, dropout_was_training
):
    probe = _ModeProbe()
    net = nn.Sequential(probe, kind(0.5), nn.Flatten(), nn.Linear(math.prod(shape[1:]), 3))
    net.train()  # the probe (and the model) in training mode ...
    net[1].train(dropout_was_training)  # ... the dropout layer in either mode
    X = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    out = mc_dropout_logits(net, X, 3, generator=torch.Generator().manual_seed(1))
    assert out.shape == (3, shape[0], 3)
    assert not torch.equal(out[0], out[1])  # the dropout layer sampled
    assert probe.seen == [False] * 3  # everything else ran in eval mode
    assert net.training and probe.training and net[1].training == dropout_was_training
