"""reglab.studies.selection: choosing strengths on validation results."""

from __future__ import annotations

import pytest

from reglab.studies.regularizers import Setting
from reglab.studies.results import RunResult
from reglab.studies.selection import choose, combine, family_of, joint_grid
from reglab.studies.together import StudyConfig
from reglab.train import History


def _result(name, seed, val_loss, val_acc=0.5):
    return RunResult(
        setting=Setting(name), seed=seed, n_train=1, n_val=1, n_test=1, num_epochs=1,
        hidden=(1, 1), best_epoch=None, device="cpu", history=History(), train_acc=1.0,
        test_loss=0.0, test_acc=1.0, val_loss=val_loss, val_acc=val_acc,
    )  # fmt: skip


CANDS = {
    "none": [Setting("none")],
    "dropout": [Setting("dropout 0.5", p=0.5), Setting("dropout 0.75", p=0.75)],
}


def test_choose_takes_the_best_mean_not_the_best_single_seed():
    # dropout 0.75 has the single best seed, dropout 0.5 the better mean
    results = [_result("none", s, 1.0) for s in range(3)]
    results += [_result("dropout 0.5", s, v) for s, v in enumerate([0.40, 0.41, 0.42])]
    results += [_result("dropout 0.75", s, v) for s, v in enumerate([0.30, 0.60, 0.60])]
    chosen = choose(results, CANDS)
    assert chosen["dropout"].name == "dropout 0.5" and chosen["none"].name == "none"


def test_choose_maximizes_accuracies():
    results = [_result("none", s, 1.0) for s in range(2)]
    results += [_result("dropout 0.5", s, 0.1, val_acc=0.8) for s in range(2)]
    results += [_result("dropout 0.75", s, 0.2, val_acc=0.9) for s in range(2)]
    assert choose(results, CANDS, metric="val_acc")["dropout"].name == "dropout 0.75"
    assert choose(results, CANDS, metric="val_loss")["dropout"].name == "dropout 0.5"


def test_choose_rejects_unknown_metrics_and_missing_candidates():
    with pytest.raises(ValueError, match="metric must be one of"):
        choose([], CANDS, metric="test_acc")
    with pytest.raises(ValueError, match=r"no results match name='dropout 0\.5'"):
        choose([_result("none", 0, 1.0)], CANDS)


def test_combine_switches_every_regularizer_on():
    all_ = combine([Setting("a", weight_decay=0.5), Setting("b", p=0.75),
                    Setting("c", batch_norm=True), Setting("none")])  # fmt: skip
    assert all_ == Setting("all", weight_decay=0.5, p=0.75, batch_norm=True)
    with pytest.raises(ValueError, match=r"p is 0\.5 in one setting and 0\.75"):
        combine([Setting("a", p=0.5), Setting("b", p=0.75)])


def test_family_of_finds_each_of_the_books_candidates():
    candidates = StudyConfig().candidates
    for family, settings in candidates.items():
        assert all(family_of(s.name, candidates) == family for s in settings)
    with pytest.raises(KeyError, match="'everything' is not a candidate"):
        family_of("everything", candidates)


def test_joint_grid_combines_one_candidate_of_every_family():
    candidates = {
        "none": [Setting("none")],
        "weight decay": [Setting("wd 1", weight_decay=1.0), Setting("wd 2", weight_decay=2.0)],
        "dropout": [Setting("p .1", p=0.1), Setting("p .3", p=0.3), Setting("p .5", p=0.5)],
        "batch norm": [Setting("bn", batch_norm=True)],
    }
    grid = joint_grid(candidates)
    assert [(s.weight_decay, s.p) for s in grid] == [
        (w, p) for w in (1.0, 2.0) for p in (0.1, 0.3, 0.5)
    ]  # the last family varies fastest
    assert all(s.batch_norm for s in grid)  # a family of one candidate is on everywhere
    assert grid[0].name == "all (wd 1, p .1)"
    assert joint_grid({"bn": [Setting("bn", batch_norm=True)]}) == (
        Setting("all", batch_norm=True),
    )
    with pytest.raises(ValueError, match="candidates must give at least one family"):
        joint_grid({"dropout": []})
