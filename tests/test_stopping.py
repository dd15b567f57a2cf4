"""Prechelt's stopping criteria and patience on scripted loss sequences, fed through
``update`` and through ``replay`` (which calls the same ``update``).

Every expected value below is computed by hand in a comment, from the definitions in
Prechelt (1998), not by calling the code under test. Live stops inside ``train`` are
tested in test_early_stopping.py.
"""

import math

import pytest

from reglab.train import (
    GeneralizationLoss,
    History,
    Patience,
    ProgressQuotient,
    UpStrips,
    generalization_loss,
    replay,
    training_progress,
)


def stopping_epoch(criterion, train_loss, val_loss):
    """The epoch at which ``criterion`` stops a recorded run (``None``: never)."""
    return replay(criterion, History(train_loss=train_loss, val_loss=val_loss)).stopped_epoch


# --- generalization loss GL(t) = 100 (E_va(t) / E_opt(t) - 1) -------------------------
GL_VAL = [1.0, 0.8, 0.7, 0.72, 0.71, 0.75, 0.69, 0.8]
GL_BY_HAND = [
    0.0,  # 1.0 is the best so far
    0.0,  # 0.8 new best
    0.0,  # 0.7 new best
    100 * (0.72 / 0.7 - 1),  # 2.857 %
    100 * (0.71 / 0.7 - 1),  # 1.429 %
    100 * (0.75 / 0.7 - 1),  # 7.143 %
    0.0,  # 0.69 new best
    100 * (0.8 / 0.69 - 1),  # 15.94 %
]


def test_generalization_loss_matches_the_hand_values():
    best = math.inf
    for value, expected in zip(GL_VAL, GL_BY_HAND, strict=True):
        best = min(best, value)
        assert generalization_loss(value, best) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        (1.0, 4),  # 2.857 > 1 at epoch 4
        (2.0, 4),  # 2.857 > 2
        (3.0, 6),  # 2.857, 1.429 <= 3; 7.143 > 3 at epoch 6
        (7.5, 8),  # 7.143 <= 7.5; 15.94 > 7.5 at epoch 8
        (20.0, None),  # never above 20 %
    ],
)
def test_gl_stops_at_the_first_epoch_above_alpha(alpha, expected):
    assert stopping_epoch(GeneralizationLoss(alpha), [1.0] * len(GL_VAL), GL_VAL) == expected


def test_gl_is_strict():
    # GL(2) = 100 (1.5 / 1.0 - 1) = 50, exact in binary floating point: not > 50
    assert stopping_epoch(GeneralizationLoss(50.0), [1.0, 1.0], [1.0, 1.5]) is None
    assert stopping_epoch(GeneralizationLoss(49.99), [1.0, 1.0], [1.0, 1.5]) == 2


# --- progress P_k(t) = 1000 (sum / (k min) - 1) and PQ = GL / P_k, strips of k = 5 ------
PQ_TRAIN = [
    *(5.0, 4.0, 3.0, 2.0, 1.0),  # strip 1
    *(1.0, 1.0, 1.0, 1.0, 0.5),  # strip 2
    *(0.5, 0.5, 0.5, 0.5, 0.4),  # strip 3
]
PQ_VAL = [*(1.0, 0.9, 0.8, 0.7, 0.77), *(0.7, 0.7, 0.7, 0.7, 0.84), *(0.7, 1.4, 0.7, 0.7, 0.77)]
# strip 1 (t = 5):  P = 1000 (15 / (5 * 1) - 1) = 2000;   GL = 100 (0.77 / 0.7 - 1) = 10
#                   PQ = 10 / 2000 = 0.005
# strip 2 (t = 10): P = 1000 (4.5 / (5 * 0.5) - 1) = 800; GL = 100 (0.84 / 0.7 - 1) = 20
#                   PQ = 20 / 800 = 0.025
# strip 3 (t = 15): P = 1000 (2.4 / (5 * 0.4) - 1) = 200; GL = 10; PQ = 10 / 200 = 0.05
# epoch 12 has GL = 100 but is not the end of a strip, so PQ does not look at it.


def test_training_progress_matches_the_hand_values():
    assert training_progress(PQ_TRAIN[0:5]) == pytest.approx(2000)
    assert training_progress(PQ_TRAIN[5:10]) == pytest.approx(800)
    assert training_progress(PQ_TRAIN[10:15]) == pytest.approx(200)
    assert training_progress([0.3] * 5) == 0


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        (0.001, 5),  # 0.005 > 0.001
        (0.01, 10),  # 0.005 <= 0.01 < 0.025
        (0.03, 15),  # 0.025 <= 0.03 < 0.05
        (0.06, None),  # never above 0.06 (epoch 12, GL = 100, is inside a strip)
    ],
)
def test_pq_stops_at_the_first_strip_end_above_alpha(alpha, expected):
    criterion = ProgressQuotient(alpha, strip_length=5)
    assert stopping_epoch(criterion, PQ_TRAIN, PQ_VAL) == expected


def test_pq_without_progress_stops_on_any_generalization_loss():
    # flat training loss (P = 0): GL(5) = 100 (0.6 / 0.5 - 1) = 20 > 0 stops at epoch 5
    assert stopping_epoch(ProgressQuotient(100.0), [0.1] * 5, [0.5] * 4 + [0.6]) == 5
    # ... but GL = 0 does not (0 / 0 is not "large")
    assert stopping_epoch(ProgressQuotient(100.0), [0.1] * 5, [0.5] * 5) is None


# --- UP_s: s successive strips with rising validation loss, strips of k = 2 -------------
# strip ends t = 2, 4, 6, 8, 10 have E_va = 0.5, 0.6, 0.55, 0.6, 0.7; the values inside
# strips (odd epochs) are huge and must be ignored.
UP_VAL = [9.0, 0.5, 9.0, 0.6, 9.0, 0.55, 9.0, 0.6, 9.0, 0.7]
# t = 4: 0.6 > 0.5 up (1); t = 6: 0.55 < 0.6 (0); t = 8: 0.6 > 0.55 (1); t = 10: up (2)


@pytest.mark.parametrize(("s", "expected"), [(1, 4), (2, 10), (3, None)])
def test_up_counts_successive_rising_strips(s, expected):
    criterion = UpStrips(s, strip_length=2)
    assert stopping_epoch(criterion, [1.0] * len(UP_VAL), UP_VAL) == expected


# --- patience -----------------------------------------------------------------------
PATIENCE_VAL = [1.0, 0.9, 0.95, 0.92, 0.91, 0.89, 0.9, 0.9, 0.9, 0.9]
# improvements (strictly below the best) at epochs 1, 2, 6; the others are "bad" epochs


@pytest.mark.parametrize(
    ("patience", "min_delta", "expected"),
    [
        (1, 0.0, 3),  # epoch 3 is the first bad one
        (3, 0.0, 5),  # bad at 3, 4, 5
        (4, 0.0, 10),  # 6 improves (0.89 < 0.9) and resets; bad at 7, 8, 9, 10
        (5, 0.0, None),  # only 4 bad epochs after epoch 6
        (4, 0.005, 10),  # 0.89 < 0.9 - 0.005 = 0.895: still an improvement
        (4, 0.02, 6),  # 0.89 >= 0.9 - 0.02 = 0.88: bad at 3, 4, 5, 6
    ],
)
def test_patience_stops_exactly_where_it_should(patience, min_delta, expected):
    criterion = Patience(patience, min_delta=min_delta)
    assert stopping_epoch(criterion, [1.0] * len(PATIENCE_VAL), PATIENCE_VAL) == expected


def test_an_equal_value_is_not_an_improvement():
    assert stopping_epoch(Patience(2), [1.0] * 3, [0.5, 0.5, 0.5]) == 3


def test_patience_keeps_the_best_epoch_even_when_min_delta_did_not_count_it():
    # (4, 0.02) above: epoch 6 (0.89) is a miss for the counter but the lowest value, so
    # its weights are the ones to keep
    r = replay(Patience(4, min_delta=0.02), History(val_loss=PATIENCE_VAL))
    assert (r.stopped_epoch, r.best_epoch) == (6, 6)


def test_patience_mode_max_for_accuracies():
    accs = [0.5, 0.7, 0.69, 0.71, 0.71, 0.70]
    criterion = Patience(2, monitor="val_acc", mode="max")
    assert criterion.requires == ("val_acc",)
    # 0.71 ties at epoch 5: not an improvement; 0.70 at 6 is the second miss
    assert [criterion.update(val_acc=a) for a in accs] == [False] * 5 + [True]
    assert (criterion.best_epoch, criterion.best_value) == (4, 0.71)


def test_patience_nan_never_improves():
    criterion = Patience(2)
    decisions = [criterion.update(val_loss=v) for v in (math.nan, 1.0, math.nan, math.nan)]
    assert decisions == [False, False, False, True]
    assert (criterion.best_epoch, criterion.best_value) == (2, 1.0)


def test_replay_resets_the_criterion():
    criterion = Patience(3)
    first = stopping_epoch(criterion, [1.0] * len(PATIENCE_VAL), PATIENCE_VAL)
    assert stopping_epoch(criterion, [1.0] * len(PATIENCE_VAL), PATIENCE_VAL) == first == 5


def test_update_returns_true_exactly_when_the_rule_fires():
    criterion = GeneralizationLoss(3.0)
    decisions = [criterion.update(val_loss=v) for v in GL_VAL]
    assert decisions == [False] * 5 + [True, False, True]
    assert (criterion.best_value, criterion.best_epoch, criterion.epoch) == (0.69, 7, 8)


@pytest.mark.parametrize(("until", "expected"), [(8, 7), (6, 3), (2, 2), (1, 1)])
def test_best_epoch_is_the_lowest_validation_loss_so_far(until, expected):
    criterion = GeneralizationLoss(1000.0)  # never fires
    for v in GL_VAL[:until]:
        criterion.update(val_loss=v)
    assert criterion.best_epoch == expected


def test_best_epoch_takes_the_first_of_ties():
    assert replay(UpStrips(), History(val_loss=[0.5, 0.4, 0.4, 0.6])).best_epoch == 2


def test_replay_reads_the_test_metrics_of_the_kept_epoch():
    n = len(GL_VAL)
    history = History(
        epoch=list(range(1, n + 1)), train_loss=[1.0] * n, val_loss=GL_VAL,
        test_loss=[10.0 + t for t in range(n)], test_acc=[0.5 + t / 100 for t in range(n)],
    )  # fmt: skip
    r = replay(GeneralizationLoss(3.0), history)  # stops at 6; best up to 6 is epoch 3
    assert (r.criterion, r.stopped_epoch, r.best_epoch, r.epochs_trained) == ("GL_3", 6, 3, 6)
    assert (r.test_loss, r.test_acc) == (12.0, 0.52)
    r = replay(GeneralizationLoss(20.0), history)  # never stops: whole run, best is epoch 7
    assert (r.stopped_epoch, r.best_epoch, r.epochs_trained) == (None, 7, 8)
    assert (r.test_loss, r.test_acc) == (16.0, 0.56)
    r = replay(Patience(3), History(train_loss=[1.0] * n, val_loss=GL_VAL))
    assert (r.best_epoch, r.test_loss, r.test_acc) == (3, None, None)


def test_defaults_are_prechelts_and_names_say_the_parameter():
    assert (GeneralizationLoss().alpha, GeneralizationLoss().name) == (5.0, "GL_5")
    pq = ProgressQuotient()
    assert (pq.alpha, pq.strip_length, pq.name) == (0.5, 5, "PQ_0.5")
    up = UpStrips()
    assert (up.s, up.strip_length, up.name) == (3, 5, "UP_3")
    assert (Patience().patience, Patience().min_delta, repr(Patience(7))) == (5, 0.0, "patience 7")


def test_pq_is_strict_and_strips_may_be_one_epoch():
    # strip of k = 4: P = 1000 (5 / (4 * 1) - 1) = 250; GL = 100 (1.25 / 1 - 1) = 25;
    # PQ = 25 / 250 = 0.1, the same float as the literal 0.1: not > 0.1
    train, val = [2.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.25]
    assert stopping_epoch(ProgressQuotient(0.1, strip_length=4), train, val) is None
    assert stopping_epoch(ProgressQuotient(0.0999, strip_length=4), train, val) == 4
    # k = 1: P = 0 every epoch, so any GL > 0 stops, even a small one (GL = 0.5)
    assert stopping_epoch(ProgressQuotient(1.0, strip_length=1), [1.0] * 3, [1.0, 1.0, 1.005]) == 3
    # UP with k = 1: compares consecutive epochs from t = 2 on
    assert stopping_epoch(UpStrips(2, strip_length=1), [1.0] * 4, [1.0, 1.1, 1.2, 1.3]) == 3


def test_up_needs_a_strict_rise():
    # strip ends at t = 2, 4, 6 hold equal values: no rise, never stops
    assert stopping_epoch(UpStrips(1, strip_length=2), [1.0] * 6, [0.9, 0.5] * 3) is None


def test_training_progress_checks_its_strip():
    with pytest.raises(ValueError, match=r"^train_loss must be a finite number > 0"):
        training_progress([0.5, -1.0])
    with pytest.raises(ValueError, match=r"^strip must hold at least one training loss"):
        training_progress([])


# --- bad arguments ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Patience(0), "patience must be an integer >= 1"),
        (lambda: Patience(2.5), "patience must be an integer >= 1"),
        (lambda: Patience(3, min_delta=-0.1), "min_delta must be a finite number >= 0"),
        (lambda: Patience(3, min_delta=math.nan), "min_delta must be a finite number >= 0"),
        (lambda: Patience(3, min_delta=math.inf), "min_delta must be a finite number >= 0"),
        (lambda: Patience(True), "patience must be an integer >= 1"),
        (lambda: Patience(monitor="test_loss"), r"monitor must be one of \('val_loss'"),
        (lambda: Patience(mode="minimum"), "mode must be 'min' or 'max', got 'minimum'"),
        (lambda: GeneralizationLoss(math.inf), "alpha must be a finite number > 0"),
        (lambda: GeneralizationLoss(0.0), "alpha must be"),
        (lambda: GeneralizationLoss(-1.0), "alpha must be"),
        (lambda: ProgressQuotient(0.0), "alpha must be"),
        (lambda: ProgressQuotient(0.5, strip_length=0), "strip_length must be"),
        (lambda: UpStrips(0), "s must be an integer >= 1"),
        (lambda: UpStrips(2, strip_length=1.5), "strip_length must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(factory, match):
    # a value out of range is a ValueError; a count that is no integer (2.5, True) a TypeError
    with pytest.raises((ValueError, TypeError), match=match):
        factory()


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_prechelts_losses_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="val_loss must be a finite number > 0"):
        GeneralizationLoss().update(val_loss=bad)
    with pytest.raises(ValueError, match="train_loss must be a finite number > 0"):
        ProgressQuotient().update(val_loss=1.0, train_loss=bad)


def test_update_names_a_missing_metric():
    with pytest.raises(ValueError, match=r"PQ_0.5 needs \['train_loss'\]"):
        ProgressQuotient().update(val_loss=1.0)
    with pytest.raises(ValueError, match=r"patience 5 needs \['val_acc'\]"):
        Patience(monitor="val_acc", mode="max").update(val_loss=1.0)


def test_replay_arguments_are_checked():
    with pytest.raises(ValueError, match="one value per epoch"):
        stopping_epoch(ProgressQuotient(), [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="one value per epoch"):
        replay(Patience(), History())
    with pytest.raises(TypeError, match=r"criterion must be a reglab\.train\.StoppingCriterion"):
        replay("GL_5", History(val_loss=[1.0]))


def test_generalization_loss_names_the_bad_loss():
    with pytest.raises(ValueError, match=r"^val_loss must be a finite number > 0, got 0\.0$"):
        generalization_loss(0.0, 1.0)
    with pytest.raises(ValueError, match=r"^best_val_loss must be a finite number > 0, got -1\.0$"):
        generalization_loss(1.0, -1.0)


def test_patience_mode_max_needs_a_rise_of_more_than_min_delta():
    # v* = 0.5 at epoch 1; 0.52 and 0.54 are not above 0.5 + 0.05 = 0.55: misses 1 and 2
    criterion = Patience(2, min_delta=0.05, monitor="val_acc", mode="max")
    assert [criterion.update(val_acc=a) for a in (0.5, 0.52, 0.54)] == [False, False, True]


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: GeneralizationLoss(True), r"^alpha must be a finite number > 0, got True$"),
        (lambda: GeneralizationLoss("5"), r"^alpha must be a finite number > 0, got '5'$"),
        (
            lambda: Patience(3, min_delta=False),
            r"^min_delta must be a finite number >= 0, got False$",
        ),
    ],
    ids=["alpha-bool", "alpha-str", "min_delta-bool"],
)
def test_a_bool_or_a_string_is_no_threshold(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_a_fresh_criterion_has_no_best_epoch():
    for criterion in (GeneralizationLoss(), Patience(), ProgressQuotient(), UpStrips()):
        assert (criterion.epoch, criterion.best_epoch, criterion.best_value) == (0, None, None)
