"""reglab.studies.selection: choosing strengths on validation results, pairing by seed."""

from __future__ import annotations

import pytest

from reglab.studies.selection import CANDIDATES, by_seed, choose, combine, family_of
from reglab.studies.together import Setting


def _result(name, seed, val_loss, val_acc=0.5):
    return {"setting": {"name": name}, "seed": seed, "val_loss": val_loss,
            "val_acc": val_acc}  # fmt: skip


CANDS = {
    "none": [Setting("none")],
    "dropout": [Setting("dropout 0.5", p=0.5), Setting("dropout 0.75", p=0.75)],
}


def test_by_seed_orders_by_seed_so_settings_pair_up():
    results = [_result("a", 2, 0.3), _result("a", 0, 0.1), _result("a", 1, 0.2)]
    assert by_seed(results, "a", "val_loss") == [0.1, 0.2, 0.3]


def test_by_seed_rejects_missing_settings_and_repeated_seeds():
    with pytest.raises(ValueError, match="no results for setting 'b'"):
        by_seed([_result("a", 0, 0.1)], "b", "val_loss")
    with pytest.raises(ValueError, match="more than once"):
        by_seed([_result("a", 0, 0.1), _result("a", 0, 0.2)], "a", "val_loss")


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
    with pytest.raises(ValueError, match="no results"):
        choose([_result("none", 0, 1.0)], CANDS)


def test_combine_switches_every_regularizer_on():
    all_ = combine([Setting("a", weight_decay=0.5), Setting("b", p=0.75),
                    Setting("c", batch_norm=True), Setting("none")])  # fmt: skip
    assert all_ == Setting("all", weight_decay=0.5, p=0.75, batch_norm=True)
    with pytest.raises(ValueError, match=r"p is 0\.5 in one setting and 0\.75"):
        combine([Setting("a", p=0.5), Setting("b", p=0.75)])


def test_the_books_candidates_have_unique_names_and_families():
    names = [s.name for settings in CANDIDATES.values() for s in settings]
    assert len(names) == len(set(names))
    assert all(family_of(name) in CANDIDATES for name in names)
    with pytest.raises(KeyError):
        family_of("everything")
