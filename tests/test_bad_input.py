"""Bad input to every public callable: a clear error naming the argument, never a silent result.

``CASES`` maps each public callable (enumerated from the packages' ``__all__``) to bad calls,
each with the exception it must raise and a regex the message must match: the name of the
argument at fault. :func:`test_every_public_callable_has_bad_input_cases` fails when a new
public callable has no entry. ``EXEMPT`` lists the few that take no argument to get wrong.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import reglab
import reglab.plotting
import reglab.studies

PACKAGES = [
    "reglab.nn",
    "reglab.nn.functional",
    "reglab.nn.init",
    "reglab.optim",
    "reglab.data",
    "reglab.train",
    "reglab.stats",
    "reglab.inspection",
    "reglab.environment",
]
for _parent in (reglab.studies, reglab.plotting):
    PACKAGES += [f"{_parent.__name__}.{m.name}" for m in pkgutil.iter_modules(_parent.__path__)]
PACKAGES = [p for p in PACKAGES if not p.rsplit(".", 1)[-1].startswith("_")]


def public_callables() -> dict[str, object]:
    found = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if callable(obj) and not inspect.ismodule(obj):
                found[f"{package}.{name}"] = obj
    return found


@dataclass(frozen=True)
class Case:
    call: object  # a zero-argument callable making the bad call
    exception: type[Exception] | tuple[type[Exception], ...]
    match: str  # must name the argument at fault
    wrong: bool = False  # before the fix: a silently wrong result (not only accepted)


def c(call, exception, match, *, wrong=False):
    return Case(call, exception, match, wrong)


V, T = ValueError, TypeError
NAN, INF = math.nan, math.inf


def X(n=6, d=4, dtype=torch.float32):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(0), dtype=dtype)


def Y(n=6, k=3):
    return torch.arange(n) % k


def img(n=4):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def lin(d=4, k=3):
    with torch.random.fork_rng():  # the global RNG is left as it was (see the RNG tests)
        torch.manual_seed(0)
        return nn.Linear(d, k)


def ax():
    _, a = plt.subplots()
    return a


def ax3d():
    return plt.figure().add_subplot(projection="3d")


def _tmp():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp())


def gen():
    return torch.Generator().manual_seed(0)


def pd(a=(0.9, 0.8, 0.7), b=(0.8, 0.8, 0.6)):
    from reglab.stats import paired_difference

    return paired_difference(list(a), list(b))


from reglab import data as D  # noqa: E402
from reglab import environment as E  # noqa: E402
from reglab import inspection as I  # noqa: E402
from reglab import nn as RN  # noqa: E402
from reglab import optim as O  # noqa: E402
from reglab import stats as S  # noqa: E402
from reglab import train as TR  # noqa: E402
from reglab.nn import functional as F  # noqa: E402
from reglab.nn import init as INIT  # noqa: E402
from reglab.plotting import activations as PA  # noqa: E402
from reglab.plotting import adversarial as PADV  # noqa: E402
from reglab.plotting import averaging as PAV  # noqa: E402
from reglab.plotting import batchnorm as PB  # noqa: E402
from reglab.plotting import curves as PC  # noqa: E402
from reglab.plotting import double_descent as PDD  # noqa: E402
from reglab.plotting import early_stopping as PES  # noqa: E402
from reglab.plotting import images as PI  # noqa: E402
from reglab.plotting import normalization as PN  # noqa: E402
from reglab.plotting import seeds as PS  # noqa: E402
from reglab.plotting import targets as PT  # noqa: E402
from reglab.plotting import viewer as PV  # noqa: E402
from reglab.studies import adversarial as SADV  # noqa: E402
from reglab.studies import averaging as SA  # noqa: E402
from reglab.studies import batchnorm as SB  # noqa: E402
from reglab.studies import early_stopping as SES  # noqa: E402
from reglab.studies import normalization as SN  # noqa: E402
from reglab.studies import records as SR  # noqa: E402
from reglab.studies import regularizers as SRG  # noqa: E402
from reglab.studies import results as SRE  # noqa: E402
from reglab.studies import runner as SRU  # noqa: E402
from reglab.studies import selection as SSE  # noqa: E402
from reglab.studies import together as STG  # noqa: E402
from reglab.studies import why_regularize as SWR  # noqa: E402


def _train(**kw):
    args = dict(train_data=(X(), Y()), num_epochs=1, batch_size=3, seed=0)
    args.update(kw)
    return TR.train(lin(), **args)


def _one_epoch(**kw):
    model = lin()
    args = dict(batch_size=3, generator=gen())
    args.update(kw)
    return TR.train_one_epoch(model, X(), Y(), torch.optim.SGD(model.parameters(), 0.1), **args)


f64 = torch.float64
BOGUS_VARIABLE = "REGLAB" + "_NOT_A_VARIABLE"  # not a literal: test_environment scans for them

CASES: dict[str, list[Case]] = {
    # -- reglab.nn.functional: compared with torch.nn.functional in test_mirrors_torch ------
    "reglab.nn.functional.dropout": [
        c(lambda: F.dropout(X(), 1.5), V, r"\bp\b"),
        c(lambda: F.dropout(X(), "0.5"), T, r"\bp\b"),
        c(lambda: F.dropout([1.0, 2.0], 0.5), T, "input"),
    ],
    "reglab.nn.functional.dropout2d": [
        c(lambda: F.dropout2d(img(), -0.1), V, r"\bp\b"),
        c(lambda: F.dropout2d(img(), True), T, r"\bp\b"),
    ],
    "reglab.nn.functional.batch_norm": [
        c(lambda: F.batch_norm(X(), None, None, training=True, eps=-1.0), V, "eps"),
        c(lambda: F.batch_norm(X(), None, None, training=True, momentum=1.5), V, "momentum"),
        c(
            lambda: F.batch_norm(X(), None, None, torch.ones(4, dtype=f64), training=True),
            T,
            "weight",
        ),
        c(
            lambda: F.batch_norm(X(), None, None, torch.ones(5), training=True),
            (V, RuntimeError),
            "weight",
        ),
    ],
    "reglab.nn.functional.layer_norm": [
        c(lambda: F.layer_norm(X(), (4,), eps=-1.0), V, "eps"),
        c(lambda: F.layer_norm(X(), (4,), eps=NAN), V, "eps"),
        c(lambda: F.layer_norm(X(), (4,), torch.ones(4, dtype=f64)), T, "weight"),
        c(lambda: F.layer_norm(X(), (4,), 1.0), T, "weight"),
        c(lambda: F.layer_norm(X(), 4.7), T, "normalized_shape"),
    ],
    "reglab.nn.functional.group_norm": [
        c(lambda: F.group_norm(img(), 0), (V, RuntimeError), "num_groups"),
        c(lambda: F.group_norm(img(), True), T, "num_groups"),
        c(lambda: F.group_norm(img(), 1, eps=-1.0), V, "eps"),
        c(lambda: F.group_norm(img(), 1, torch.ones(1, dtype=f64)), T, "weight"),
    ],
    "reglab.nn.functional.instance_norm": [
        c(lambda: F.instance_norm(img(), eps=-1.0), V, "eps"),
        c(lambda: F.instance_norm(img(), momentum=-0.5), V, "momentum"),
        c(lambda: F.instance_norm(img(), weight=torch.ones(1, dtype=f64)), T, "weight"),
    ],
    "reglab.nn.functional.rms_norm": [
        c(lambda: F.rms_norm(X(), (4,), eps=-1.0), V, "eps"),
        c(lambda: F.rms_norm(X(), (4,), 1.0), T, "weight"),
    ],
    "reglab.nn.functional.cross_entropy": [
        c(lambda: F.cross_entropy(X(6, 3), Y(), label_smoothing=1.5), V, "label_smoothing"),
        c(lambda: F.cross_entropy(X(6, 3), Y(), reduction="avg"), V, "reduction"),
        c(lambda: F.cross_entropy(X(6, 3), Y(), weight=[1.0, 1.0, 1.0]), T, "weight"),
    ],
    # -- reglab.nn.init: compared with torch.nn.init -----------------------------------------
    "reglab.nn.init.gain": [
        c(lambda: INIT.gain("swish"), V, "nonlinearity"),
        c(lambda: INIT.gain("leaky_relu", "0.1"), V, "param|negative_slope"),
    ],
    "reglab.nn.init.kaiming_std": [
        c(lambda: INIT.kaiming_std(0), V, "fan"),
        c(lambda: INIT.kaiming_std(10, gain=-1.0), V, "gain", wrong=True),
        c(lambda: INIT.kaiming_std(10.5), T, "fan"),
    ],
    "reglab.nn.init.xavier_std": [
        c(lambda: INIT.xavier_std(0, 0), V, "fan_in"),
        c(lambda: INIT.xavier_std(3, 4, gain=-1.0), V, "gain", wrong=True),
    ],
    "reglab.nn.init.expected_std": [
        c(lambda: INIT.expected_std("bogus", (3, 4)), V, "name"),
        c(lambda: INIT.expected_std("xavier_normal", (3, 4), gain=-2.0), V, "gain", wrong=True),
        c(lambda: INIT.expected_std("kaiming_normal", (3, 4), mode="fan_mid"), V, "mode"),
    ],
    "reglab.nn.init.fan_in_and_fan_out": [
        c(lambda: INIT.fan_in_and_fan_out((3,)), V, "shape|dimension"),
        c(lambda: INIT.fan_in_and_fan_out("ab"), T, "shape"),
    ],
    "reglab.nn.init.init_weights_": [
        c(lambda: INIT.init_weights_(lin(), "bogus", "relu"), V, "name"),
        c(lambda: INIT.init_weights_("model", "xavier", "relu"), T, "model"),
    ],
    "reglab.nn.init.sampling_tolerance": [
        c(lambda: INIT.sampling_tolerance(0), V, "numel"),
        c(lambda: INIT.sampling_tolerance(10, kurtosis=-1.0), V, "kurtosis"),
    ],
    # -- reglab.nn ---------------------------------------------------------------------------
    "reglab.nn.RandomReLUFeatures": [
        c(lambda: RN.RandomReLUFeatures(0, 4), V, "in_features"),
        c(lambda: RN.RandomReLUFeatures(3, True), T, "num_features"),
    ],
    "reglab.nn.RunningStats": [],
    "reglab.nn.SyncBatchNormFunction": [
        c(
            lambda: RN.SyncBatchNormFunction.apply(
                X(), torch.ones(4), torch.zeros(4), 1e-5, None, 0
            ),
            T,
            "group|process",
        ),
    ],
    "reglab.nn.batch_norm_replica": [
        c(lambda: RN.batch_norm_replica(0, 0, [X()]), V, "world_size"),
        c(lambda: RN.batch_norm_replica(3, 2, [X(), X()]), V, "rank"),
    ],
    "reglab.nn.sync_batch_norm": [
        c(lambda: RN.sync_batch_norm(X(), None, None, training=True, eps=-1.0), V, "eps"),
        c(lambda: RN.sync_batch_norm(X(), None, None, training=True, momentum=2.0), V, "momentum"),
    ],
    "reglab.nn.launch": [
        c(lambda: RN.launch(print, world_size=0), V, "world_size"),
        c(lambda: RN.launch("print"), T, "fn"),
    ],
    "reglab.nn.logit_gap": [
        c(lambda: RN.logit_gap(X(6, 3), Y(5)), V, "y"),
        c(lambda: RN.logit_gap(X(6, 3), Y(6).float()), T, "y"),
    ],
    "reglab.nn.mask_of": [
        c(lambda: RN.mask_of(nn.Linear(2, 2), X(3, 2)), T, "module"),
    ],
    "reglab.nn.optimal_logit_gap": [
        c(lambda: RN.optimal_logit_gap(1.5, 10), V, "eps"),
        c(lambda: RN.optimal_logit_gap(0.1, 1), V, "num_classes"),
        c(lambda: RN.optimal_logit_gap(0.1, 2.5), T, "num_classes"),
    ],
    "reglab.nn.shared_stats_mask": [
        c(lambda: RN.shared_stats_mask("bogus", (2, 4, 3)), V, "kind"),
        c(lambda: RN.shared_stats_mask("group", (2, 4, 3), 0), (V, RuntimeError), "num_groups"),
    ],
    "reglab.nn.smooth_targets": [
        c(lambda: RN.smooth_targets(Y(), -1, eps=0.1), V, "num_classes", wrong=True),
        c(lambda: RN.smooth_targets(Y(), 3, eps=1.5), V, "eps"),
        c(lambda: RN.smooth_targets(Y(), 3.0), T, "num_classes"),
        c(lambda: RN.smooth_targets(Y().float(), 3), T, "target"),
    ],
    "reglab.nn.trace_running_stats": [
        c(lambda: RN.trace_running_stats(nn.Linear(2, 2), [X(3, 2)]), V, "module"),
    ],
    # -- reglab.optim ------------------------------------------------------------------------
    "reglab.optim.AdamState": [
        c(lambda: O.AdamState(-1, torch.zeros(2), torch.zeros(2)), V, "step"),
    ],
    "reglab.optim.LeastSquares": [
        c(lambda: O.LeastSquares(X(6, 3), X(5, 1)), V, r"\bB\b"),
        c(lambda: O.LeastSquares(X(6, 3), X(6, 1), rtol=-1.0), V, "rtol"),
    ],
    "reglab.optim.ProximalSGD": [
        c(lambda: O.ProximalSGD(lin().parameters(), lr=0.1, l1=-1.0), V, "l1"),
        c(lambda: O.ProximalSGD(lin().parameters(), lr=0.1, l1=INF), V, "l1"),
    ],
    "reglab.optim.WeightAverage": [
        c(lambda: O.WeightAverage(lin(), decay=1.5), V, "decay"),
        c(lambda: O.WeightAverage("model"), T, "model"),
    ],
    "reglab.optim.adam_step": [
        c(
            lambda: O.adam_step(
                torch.zeros(2),
                torch.zeros(2),
                O.AdamState(0, torch.zeros(2), torch.zeros(2)),
                lr=-1.0,
            ),
            V,
            "lr",
        ),
        c(
            lambda: O.adam_step(
                torch.zeros(2),
                torch.zeros(2),
                O.AdamState(0, torch.zeros(2), torch.zeros(2)),
                betas=(1.0, 0.9),
            ),
            V,
            "beta",
        ),
        c(
            lambda: O.adam_step(
                torch.zeros(2), torch.zeros(3), O.AdamState(0, torch.zeros(2), torch.zeros(2))
            ),
            V,
            "grad",
        ),
    ],
    "reglab.optim.adamw_step": [
        c(
            lambda: O.adamw_step(
                torch.zeros(2),
                torch.zeros(2),
                O.AdamState(0, torch.zeros(2), torch.zeros(2)),
                eps=-1.0,
            ),
            V,
            "eps",
        ),
        c(
            lambda: O.adamw_step(
                torch.zeros(2),
                torch.zeros(2),
                O.AdamState(0, torch.zeros(2), torch.zeros(2)),
                weight_decay=-1.0,
            ),
            V,
            "weight_decay",
        ),
    ],
    "reglab.optim.l1_penalty": [c(lambda: O.l1_penalty(3.0), T, "params")],
    "reglab.optim.l2_penalty": [c(lambda: O.l2_penalty("w"), T, "params")],
    "reglab.optim.min_norm_solution": [
        c(lambda: O.min_norm_solution(X(6, 3), X(5, 1)), V, r"\bB\b"),
    ],
    "reglab.optim.param_groups": [
        c(lambda: O.param_groups(lin(), -0.1), V, "weight_decay"),
        c(lambda: O.param_groups(lin(), NAN), V, "weight_decay"),
    ],
    "reglab.optim.recompute_bn_stats": [
        c(lambda: O.recompute_bn_stats([X()], "model"), T, "model"),
    ],
    "reglab.optim.ridge_solutions": [
        c(lambda: O.ridge_solutions(X(6, 3), X(6, 1), [-1.0]), V, "penalt"),
        c(lambda: O.ridge_solutions(X(6, 3), X(5, 1), [1.0]), V, r"\bB\b"),
    ],
    "reglab.optim.sgd_step": [
        c(lambda: O.sgd_step(torch.zeros(2), torch.zeros(2), lr=-0.1), V, "lr"),
        c(lambda: O.sgd_step(torch.zeros(2), torch.zeros(2), lr=0.1, momentum=-1.0), V, "momentum"),
        c(lambda: O.sgd_step(torch.zeros(2), torch.zeros(3), lr=0.1), V, "grad"),
    ],
    "reglab.optim.soft_threshold": [
        c(lambda: O.soft_threshold(torch.zeros(2), -1.0), V, "threshold"),
        c(lambda: O.soft_threshold(torch.zeros(2), NAN), V, "threshold"),
    ],
    # -- reglab.data -------------------------------------------------------------------------
    "reglab.data.DatasetCorruptError": [],
    "reglab.data.DatasetNotFoundError": [],
    "reglab.data.add_input_noise": [
        c(lambda: D.add_input_noise(X(), -1.0), V, "std"),
        c(lambda: D.add_input_noise(X(), INF), V, "std"),
    ],
    "reglab.data.affine": [
        c(lambda: D.affine(img(), torch.zeros(3), torch.zeros(4, 2), torch.ones(4)), V, "angle"),
        c(lambda: D.affine(img(), torch.zeros(4), torch.zeros(4, 2), -torch.ones(4)), V, "scale"),
    ],
    "reglab.data.axis_noise": [
        c(lambda: D.axis_noise(0, 1.0), V, "num_features"),
        c(lambda: D.axis_noise(3, -1.0), V, "std"),
    ],
    "reglab.data.balanced_subset": [
        c(lambda: D.balanced_subset(Y(), 0), V, "n_per_class"),
        c(lambda: D.balanced_subset(Y(), 10), V, "n_per_class"),
        c(lambda: D.balanced_subset(Y(), 1.5), T, "n_per_class"),
    ],
    "reglab.data.corrupt_labels": [
        c(lambda: D.corrupt_labels(Y(), 1.5), V, "fraction"),
        c(lambda: D.corrupt_labels(Y(), 0.5, num_classes=0), V, "num_classes"),
    ],
    "reglab.data.cutmix": [
        c(lambda: D.cutmix(img(), Y(4), alpha=-1.0), V, "alpha"),
        c(lambda: D.cutmix(img(), Y(5), num_classes=3), V, "target"),
    ],
    "reglab.data.cutmix_box": [
        c(lambda: D.cutmix_box(8, 8, 1.5), V, "lam"),
        c(lambda: D.cutmix_box(0, 8, 0.5), V, "height"),
    ],
    "reglab.data.data_root": [],
    "reglab.data.load_mnist": [
        c(lambda: D.load_mnist(train="yes"), T, "train"),
    ],
    "reglab.data.mixup": [
        c(lambda: D.mixup(img(), Y(4), alpha=0.0), V, "alpha"),
        c(lambda: D.mixup(img(), Y(5), num_classes=3), V, "target"),
    ],
    "reglab.data.mixup_or_cutmix": [
        c(lambda: D.mixup_or_cutmix(img(), Y(4), num_classes=3, p=1.5), V, r"\bp\b"),
    ],
    "reglab.data.mnist_augmentation": [
        c(lambda: D.mnist_augmentation(degrees=-5.0), V, "degrees"),
        c(lambda: D.mnist_augmentation(scale=(1.1, 0.9)), V, "scale"),
    ],
    "reglab.data.mnist_tensors": [
        c(lambda: D.mnist_tensors(dtype=torch.int64), T, "dtype", wrong=True),
    ],
    "reglab.data.noise_penalty_monte_carlo": [
        c(
            lambda: D.noise_penalty_monte_carlo(lin(4, 1), X(), X(6, 1)[:, 0], 0.1, num_draws=0),
            V,
            "num_draws",
            wrong=True,
        ),
        c(
            lambda: D.noise_penalty_monte_carlo(lin(4, 1), X(), X(6, 1)[:, 0], 0.1, num_draws=-3),
            V,
            "num_draws",
            wrong=True,
        ),
        c(
            lambda: D.noise_penalty_monte_carlo(lin(4, 1), X(), X(6, 1), 0.1, num_draws=2),
            V,
            r"\by\b",
            wrong=True,
        ),
    ],
    "reglab.data.noise_penalty_taylor": [
        c(lambda: D.noise_penalty_taylor(lin(4, 1), X(), X(6, 1), 0.1), V, r"\by\b", wrong=True),
        c(lambda: D.noise_penalty_taylor(lin(4, 1), X(), X(6, 1)[:, 0], -0.1), V, "std"),
    ],
    "reglab.data.noisy_least_squares_sgd": [
        c(lambda: D.noisy_least_squares_sgd(X(), X(6, 1)[:, 0], 0.1, num_steps=0), V, "num_steps"),
        c(lambda: D.noisy_least_squares_sgd(X(), X(7, 1)[:, 0], 0.1, num_steps=2), V, r"\by\b"),
        c(
            lambda: D.noisy_least_squares_sgd(X(), X(6, 1)[:, 0], 0.1, num_steps=2, batch_size=0),
            V,
            "batch_size",
        ),
    ],
    "reglab.data.random_affine": [
        c(lambda: D.random_affine(img(), degrees=-5.0), V, "degrees"),
    ],
    "reglab.data.ridge_solution": [
        c(lambda: D.ridge_solution(X(), X(6, 1)[:, 0], -1.0), V, "penalty"),
        c(lambda: D.ridge_solution(X(), X(7, 1)[:, 0], 1.0), V, r"\by\b"),
    ],
    "reglab.data.sample_affine_params": [
        c(lambda: D.sample_affine_params(-1, (8, 8)), V, r"\bN\b"),
        c(lambda: D.sample_affine_params(2, (8, 8), degrees=-5.0), V, "degrees"),
    ],
    "reglab.data.sample_lambda": [
        c(lambda: D.sample_lambda(-1.0), V, "alpha"),
        c(lambda: D.sample_lambda(INF), V, "alpha"),
    ],
    "reglab.data.draw_train_val": [
        c(lambda: D.draw_train_val(Y(), 1, 1, generator=0), T, "generator"),
        c(lambda: D.draw_train_val(Y(), 0, 1, generator=gen()), V, "per_class"),
        c(lambda: D.draw_train_val(Y(), 1, -1, generator=gen()), V, "val_per_class"),
    ],
    "reglab.data.train_val_indices": [
        c(lambda: D.train_val_indices(Y(), val_fraction=1.5), V, "val_fraction"),
        c(lambda: D.train_val_indices(Y(), val_per_class=0), V, "val_per_class"),
    ],
    "reglab.data.train_val_split": [
        c(lambda: D.train_val_split(X(), Y(7), val_fraction=0.5), V, r"\by\b"),
        c(lambda: D.train_val_split(X(), Y(), val_fraction=-0.5), V, "val_fraction"),
    ],
    # -- reglab.environment ------------------------------------------------------------------
    "reglab.environment.Variables": [
        c(lambda: E.Variables({"HOME": "not ours"}), V, "REGLAB_"),
    ],
    "reglab.environment.flag": [c(lambda: E.flag(BOGUS_VARIABLE), KeyError, "name|REGLAB")],
    "reglab.environment.get": [c(lambda: E.get(BOGUS_VARIABLE), KeyError, "name|REGLAB")],
    "reglab.environment.path": [
        c(lambda: E.path(BOGUS_VARIABLE, "."), KeyError, "name|REGLAB"),
    ],
    # -- reglab.inspection -------------------------------------------------------------------
    "reglab.inspection.ActivationStats": [],
    "reglab.inspection.Description": [],
    "reglab.inspection.activation_stats": [
        c(lambda: I.activation_stats("model", X()), T, "model"),
        c(lambda: I.activation_stats(nn.Sequential(lin(), nn.ReLU()), X(), Y(5)), V, r"\by\b"),
    ],
    "reglab.inspection.cluster_spread": [
        c(lambda: I.cluster_spread(X(), Y(5)), V, r"\by\b"),
    ],
    "reglab.inspection.describe": [c(lambda: I.describe(3, X()), T, "name")],
    "reglab.inspection.features_and_logits": [
        c(
            lambda: I.features_and_logits(
                nn.Sequential(lin(), nn.ReLU(), lin(3, 2)), X(), batch_size=0
            ),
            V,
            "batch_size",
        ),
    ],
    "reglab.inspection.filter_normalized_direction": [
        c(lambda: I.filter_normalized_direction("model"), T, "model"),
        c(lambda: I.filter_normalized_direction(lin(), generator=0), T, "generator"),
    ],
    "reglab.inspection.flat_width": [
        c(lambda: I.flat_width(torch.linspace(-1, 1, 5), torch.ones(4), 0.1), V, "losses"),
        c(lambda: I.flat_width(torch.linspace(-1, 1, 5), torch.ones(5), -0.1), V, "rise"),
    ],
    "reglab.inspection.format_device": [c(lambda: I.format_device(3.5), T, "device")],
    "reglab.inspection.loss_along": [
        c(lambda: I.loss_along(lin(), [torch.zeros(1)], torch.zeros(3), X(), Y()), V, "direction"),
        c(
            lambda: I.loss_along(
                lin(), [torch.zeros(3, 4), torch.zeros(3)], torch.zeros(3), X(), Y(5)
            ),
            V,
            r"\by\b",
        ),
    ],
    "reglab.inspection.loss_on_line": [
        c(lambda: I.loss_on_line(lin(), lin(4, 2), torch.zeros(3), X(), Y()), V, "end"),
        c(lambda: I.loss_on_line(lin(), lin(), torch.zeros(3), X(), Y(5)), V, r"\by\b"),
    ],
    "reglab.inspection.template_projection": [
        c(lambda: I.template_projection(X(6, 4), torch.zeros(3, 4), (0, 1, 7)), V, "classes"),
        c(lambda: I.template_projection(X(6, 4), torch.zeros(3, 4), (0, 1, 1)), V, "classes"),
    ],
    # -- reglab.stats ------------------------------------------------------------------------
    "reglab.stats.PairedDifference": [],
    "reglab.stats.Table": [
        c(lambda: S.Table("ab", [[1, 2]]), T, "headers", wrong=True),
        c(lambda: S.Table(["a", "b"], [[1, 2, 3]]), V, "rows"),
    ],
    "reglab.stats.by_seed": [c(lambda: S.by_seed([{"seed": 0}], 3), (V, T), "field")],
    "reglab.stats.expected_calibration_error": [
        c(
            lambda: S.expected_calibration_error(torch.full((6, 3), 1 / 3), Y(), n_bins=0),
            V,
            "n_bins",
        ),
        c(lambda: S.expected_calibration_error(torch.full((6, 3), 1 / 3), Y(5)), V, r"\by\b"),
        c(lambda: S.expected_calibration_error(torch.full((6, 3), 2.0), Y()), V, "probs"),
    ],
    "reglab.stats.holm": [
        c(lambda: S.holm([]), V, "differences"),
        c(lambda: S.holm([0.3]), T, "differences"),
    ],
    "reglab.stats.tally": [
        c(lambda: S.tally([0.3]), T, "differences"),
        c(lambda: S.tally(None), T, "differences"),
    ],
    "reglab.stats.paired_difference": [
        c(
            lambda: S.paired_difference({"a": 1.0, "b": 2.0}, {"a": 0.0, "b": 1.0}),
            T,
            r"\ba\b",
            wrong=True,
        ),
        c(lambda: S.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0]), V, r"\bb\b|length"),
        c(lambda: S.paired_difference([1.0, 2.0], [1.0, 3.0], confidence=1.5), V, "confidence"),
        c(lambda: S.paired_difference([1.0, NAN], [1.0, 3.0]), V, r"\ba\b"),
    ],
    "reglab.stats.paired_table": [
        c(lambda: S.paired_table({"x": 0.3}), T, "comparisons"),
        c(lambda: S.paired_table([pd()]), T, "comparisons"),
    ],
    "reglab.stats.probabilistic_scores": [
        c(lambda: S.probabilistic_scores(X(6, 3), Y(5)), V, r"\by\b"),
        c(lambda: S.probabilistic_scores(X(6, 3), Y(), n_bins=0), V, "n_bins"),
    ],
    "reglab.stats.reliability_curve": [
        c(
            lambda: S.reliability_curve(torch.full((6, 3), 1 / 3), Y(), n_bins=True),
            (V, T),
            "n_bins",
        ),
        c(lambda: S.reliability_curve(torch.full((6, 3), 1 / 3), Y(7)), V, r"\by\b"),
    ],
    # -- reglab.train ------------------------------------------------------------------------
    "reglab.train.GeneralizationLoss": [
        c(lambda: TR.GeneralizationLoss(0.0), V, "alpha"),
        c(lambda: TR.GeneralizationLoss("5"), (V, T), "alpha"),
    ],
    "reglab.train.History": [],
    "reglab.train.Patience": [
        c(lambda: TR.Patience(0), V, "patience"),
        c(lambda: TR.Patience(True), (V, T), "patience"),
    ],
    "reglab.train.ProgressQuotient": [
        c(lambda: TR.ProgressQuotient(0.5, strip_length=0), V, "strip_length"),
    ],
    "reglab.train.Replay": [],
    "reglab.train.StoppingCriterion": [],
    "reglab.train.UpStrips": [
        c(lambda: TR.UpStrips(s=True), (V, T), r"\bs\b"),
        c(lambda: TR.UpStrips(0), V, r"\bs\b"),
    ],
    "reglab.train.average_log_probs": [
        c(lambda: TR.average_log_probs(X(6, 3)), V, "logits"),
    ],
    "reglab.train.deep_mlp": [
        c(lambda: TR.deep_mlp(0, 8), V, "depth"),
        c(lambda: TR.deep_mlp(2, 8, "swish"), V, "nonlinearity"),
    ],
    "reglab.train.default_device": [],
    "reglab.train.evaluate": [
        c(lambda: TR.evaluate(lin(), X(), Y(5)), V, r"\by\b"),
        c(lambda: TR.evaluate(lin(), X(), Y(), batch_size=0), V, "batch_size"),
    ],
    "reglab.train.forked_rng": [
        c(lambda: TR.forked_rng("0").__enter__(), T, "seed"),
    ],
    "reglab.train.generalization_loss": [
        c(lambda: TR.generalization_loss(1.0, 0.0), V, "best_val_loss"),
        c(lambda: TR.generalization_loss(NAN, 1.0), V, "val_loss"),
    ],
    "reglab.train.mc_dropout_logits": [
        c(lambda: TR.mc_dropout_logits(lin(), X(), 0, generator=gen()), V, "num_samples"),
        c(lambda: TR.mc_dropout_logits(lin(), X(), True, generator=gen()), (V, T), "num_samples"),
    ],
    "reglab.train.member_logits": [
        c(lambda: TR.member_logits(nn.Sequential(lin(), nn.ReLU()), X()), T, "models", wrong=True),
        c(lambda: TR.member_logits([], X()), V, "models|K"),
    ],
    "reglab.train.mlp": [
        c(lambda: TR.mlp((0,)), V, "hidden"),
        c(lambda: TR.mlp(p=1.5), V, r"\bp\b"),
    ],
    "reglab.train.replay": [
        c(
            lambda: TR.replay(TR.Patience(1), TR.History(val_loss=[NAN, 0.5, 0.3])),
            V,
            "val_loss",
            wrong=True,
        ),
        c(lambda: TR.replay("GL_5", TR.History(val_loss=[1.0])), T, "criterion"),
    ],
    "reglab.train.resolve_device": [c(lambda: TR.resolve_device(3.5), (V, T), "device")],
    "reglab.train.scores_by_size": [
        c(lambda: TR.scores_by_size(X(6, 3), Y()), V, "logits"),
    ],
    "reglab.train.small_cnn": [
        c(lambda: TR.small_cnn((0, 8)), V, "channels"),
        c(lambda: TR.small_cnn(norm="bogus"), V, "norm"),
        c(lambda: TR.small_cnn(p=2.0), V, r"\bp\b"),
    ],
    "reglab.train.layer_seeds": [
        c(lambda: TR.layer_seeds(1.5, 2), T, "seed"),
        c(lambda: TR.layer_seeds(0, 0), V, r"\bn\b"),
    ],
    "reglab.train.overfitting": [
        c(lambda: TR.overfitting([0.5]), T, "history"),
        c(lambda: TR.overfitting(TR.History(val_loss=[1.0], val_acc=[0.5])), V, "train"),
        c(
            lambda: TR.overfitting(
                TR.History(train_acc=[1.0], val_loss=[1.0], val_acc=[1.0]), memorise_at=2.0
            ),
            V,
            "memorise_at",
        ),
    ],
    "reglab.train.stopped_before_cap": [
        c(lambda: TR.stopped_before_cap([TR.History()], 0), V, "num_epochs"),
        c(lambda: TR.stopped_before_cap([], 5), V, "histories"),
        c(lambda: TR.stopped_before_cap([1], 5), T, "histories"),
    ],
    "reglab.train.spawn_seeds": [
        c(lambda: TR.spawn_seeds(gen(), 0), V, r"\bn\b"),
        c(lambda: TR.spawn_seeds(0, 2), T, "generator"),
    ],
    "reglab.train.train": [
        c(lambda: _train(num_epochs=0), V, "num_epochs"),
        c(lambda: _train(batch_size=-1), V, "batch_size"),
        c(lambda: _train(batch_size=True), (V, T), "batch_size"),
        c(lambda: _train(train_data=(X(), Y(7))), V, r"train_data|\by\b"),
        c(lambda: _train(penalty=0.1), T, "penalty"),
        c(lambda: _train(augment="flip"), T, "augment"),
        c(lambda: _train(lr=-0.1), V, r"\blr\b"),
    ],
    "reglab.train.train_one_epoch": [
        c(lambda: _one_epoch(batch_size=-1), V, "batch_size", wrong=True),
        c(lambda: _one_epoch(penalty=0.1), T, "penalty"),
        c(lambda: _one_epoch(augment=1), T, "augment"),
        c(lambda: _one_epoch(generator=0), T, "generator"),
    ],
    "reglab.train.training_progress": [
        c(lambda: TR.training_progress([]), V, "strip"),
        c(lambda: TR.training_progress([1.0, 0.0]), V, "train_loss"),
    ],
    # -- reglab.studies ----------------------------------------------------------------------
    "reglab.studies.averaging.sgd_least_squares": [
        c(lambda: SA.sgd_least_squares(X(), X(6, 1)[:, 0], lr=0.1, num_steps=0), V, "num_steps"),
        c(lambda: SA.sgd_least_squares(X(), X(7, 1)[:, 0], lr=0.1, num_steps=2), V, r"\by\b"),
        c(lambda: SA.sgd_least_squares(X(), X(6, 1)[:, 0], lr=-0.1, num_steps=2), V, r"\blr\b"),
    ],
    "reglab.studies.early_stopping.equivalent_alpha": [
        c(lambda: SES.equivalent_alpha(0.0, 10), V, r"\blr\b"),
        c(lambda: SES.equivalent_alpha(0.1, 0), V, "num_steps"),
    ],
    "reglab.studies.early_stopping.gd_filter_factors": [
        c(lambda: SES.gd_filter_factors(torch.ones(3), -0.1, 10), V, r"\blr\b"),
        c(lambda: SES.gd_filter_factors(torch.ones(3), 0.1, -1), V, "num_steps"),
    ],
    "reglab.studies.early_stopping.gd_trajectory": [
        c(lambda: SES.gd_trajectory(X(), X(6, 1)[:, 0], 0.1, -1), V, "num_steps"),
        c(lambda: SES.gd_trajectory(X(), X(7, 1)[:, 0], 0.1, 2), V, r"\by\b"),
    ],
    "reglab.studies.early_stopping.gd_weights": [
        c(lambda: SES.gd_weights(X(), X(6, 1)[:, 0], -0.1, 2), V, r"\blr\b"),
        c(lambda: SES.gd_weights(X(), X(7, 1)[:, 0], 0.1, 2), V, r"\by\b"),
    ],
    "reglab.studies.early_stopping.quadratic_spectrum": [
        c(lambda: SES.quadratic_spectrum(torch.zeros(3)), V, r"\bX\b"),
    ],
    "reglab.studies.early_stopping.ridge_filter_factors": [
        c(lambda: SES.ridge_filter_factors(torch.ones(3), -1.0), V, "alpha"),
    ],
    "reglab.studies.early_stopping.ridge_weights": [
        c(lambda: SES.ridge_weights(X(), X(6, 1)[:, 0], -1.0), V, "alpha"),
        c(lambda: SES.ridge_weights(X(), X(7, 1)[:, 0], 1.0), V, r"\by\b"),
    ],
    "reglab.nn.GhostBatchNorm2d": [
        c(lambda: RN.GhostBatchNorm2d(3, ghost_size=1), V, "ghost_size"),
        c(lambda: RN.GhostBatchNorm2d(3, ghost_size=2.0), T, "ghost_size"),
    ],
    "reglab.studies.batchnorm.GhostConfig": [
        c(lambda: SB.GhostConfig(ghost_sizes=(3,)), V, "ghost_sizes"),
        c(lambda: SB.GhostConfig(lr=0.0), V, "lr"),
    ],
    "reglab.nn.ghost_batch_norm": [
        c(lambda: RN.ghost_batch_norm("model", 2), T, "model"),
        c(lambda: RN.ghost_batch_norm(lin(), 2), V, "model"),
    ],
    "reglab.studies.batchnorm.run_ghost_study": [
        c(lambda: SB.run_ghost_study("config", (X(), Y()), (X(), Y())), T, "config"),
    ],
    "reglab.studies.normalization.BatchSizeConfig": [
        c(lambda: SN.BatchSizeConfig(batch_sizes=(0,)), V, "batch_sizes"),
        c(lambda: SN.BatchSizeConfig(norms=("bogus",)), V, "norms"),
    ],
    "reglab.studies.normalization.BatchSizeRun": [],
    "reglab.studies.normalization.accuracy_with_batch_statistics": [
        c(
            lambda: SN.accuracy_with_batch_statistics(lin(), X(), Y(), batch_size=0),
            V,
            "batch_size",
        ),
        c(lambda: SN.accuracy_with_batch_statistics(lin(), X(), Y(5), batch_size=2), V, r"\by\b"),
    ],
    "reglab.studies.normalization.draw_data": [
        c(lambda: SN.draw_data("config", (X(), Y()), (X(), Y())), T, "config"),
    ],
    "reglab.studies.normalization.run_batch_size_study": [
        c(lambda: SN.run_batch_size_study("config", (X(), Y()), (X(), Y())), T, "config"),
    ],
    "reglab.studies.records.append_record": [
        c(lambda: SR.append_record(None, {"a": 1}), T, "file"),
    ],
    "reglab.studies.records.encode": [c(lambda: SR.encode([1, 2]), T, "record")],
    "reglab.studies.records.load_results": [
        c(lambda: SR.load_results(3), T, "path"),
    ],
    "reglab.studies.records.read_records": [c(lambda: SR.read_records(3), T, "path")],
    "reglab.studies.records.run_key": [c(lambda: SR.run_key("p", "0"), T, "seed")],
    "reglab.studies.records.write_records": [
        c(lambda: SR.write_records(3, []), T, "path"),
    ],
    "reglab.studies.regularizers.Setting": [
        c(lambda: SRG.Setting("x", p=1.5), V, r"\bp\b"),
        c(lambda: SRG.Setting("x", weight_decay=-1.0), V, "weight_decay"),
    ],
    "reglab.studies.regularizers.build": [
        c(lambda: SRG.build("setting"), T, "setting"),
        c(lambda: SRG.build(SRG.Setting("x"), lr=-1.0), V, r"\blr\b"),
    ],
    "reglab.studies.results.RunResult": [],
    "reglab.studies.results.load_results": [c(lambda: SRE.load_results(3), T, "path")],
    "reglab.studies.results.mean_curves": [
        c(lambda: SRE.mean_curves([]), V, "results"),
    ],
    "reglab.studies.results.save_results": [
        c(lambda: SRE.save_results([0.3], "/tmp"), T, "results"),
    ],
    "reglab.studies.results.summarize": [c(lambda: SRE.summarize([0.3]), T, "results")],
    "reglab.studies.runner.rank_device": [
        c(lambda: SRU.rank_device("cpu", -1), V, "local_rank"),
    ],
    "reglab.studies.runner.run_grid": [
        c(lambda: SRU.run_grid([1], [0], "fn", output=_tmp() / "x.jsonl"), T, "run_one"),
    ],
    "reglab.studies.runner.shard": [
        c(lambda: SRU.shard([1, 2], 0, 0), V, "world_size"),
        c(lambda: SRU.shard([1, 2], 2, 2), V, "rank"),
    ],
    "reglab.studies.runner.study_parser": [
        c(lambda: SRU.study_parser("d", data_size=0, seeds=5, output="x"), V, "data_size"),
        c(lambda: SRU.study_parser("d", data_size=[], seeds=5, output="x"), V, "data_size"),
        c(lambda: SRU.study_parser("d", data_size=[10, 0], seeds=5, output="x"), V, "data_size"),
        c(lambda: SRU.study_parser("d", data_size=10, seeds=0, output="x"), V, "seeds"),
    ],
    "reglab.studies.selection.choose": [
        c(lambda: SSE.choose([], {"a": []}, metric="bogus"), V, "metric"),
    ],
    "reglab.studies.selection.combine": [c(lambda: SSE.combine([]), V, "settings")],
    "reglab.studies.selection.joint_grid": [
        c(lambda: SSE.joint_grid({}), V, "candidates"),
        c(lambda: SSE.joint_grid({"a": ()}), V, "candidates"),
    ],
    "reglab.studies.selection.family_of": [
        c(lambda: SSE.family_of("nope", {"a": [SRG.Setting("x")]}), KeyError, "name"),
    ],
    "reglab.studies.together.StudyConfig": [
        c(lambda: STG.StudyConfig(sizes=(0,)), V, "sizes"),
        c(lambda: STG.StudyConfig(sizes=()), V, "sizes"),
        c(lambda: STG.StudyConfig(val_per_class=0), V, "val_per_class"),
        c(lambda: STG.StudyConfig(num_epochs=True), T, "num_epochs"),
        c(lambda: STG.StudyConfig(lr=-1.0), V, r"\blr\b"),
    ],
    "reglab.studies.together.choices": [
        c(lambda: STG.choices([], "config", 5), T, "config"),
        c(lambda: STG.choices([], STG.StudyConfig(), 7), V, "per_class"),
    ],
    "reglab.studies.together.run": [
        c(lambda: STG.run("config", None, None), T, "config"),
    ],
    "reglab.studies.together.run_setting": [
        c(
            lambda: STG.run_setting(
                SRG.Setting("x"),
                (img(6), Y()),
                (img(6), Y()),
                per_class=1,
                val_per_class=1,
                num_epochs=0,
            ),
            V,
            "num_epochs",
        ),
        c(
            lambda: STG.run_setting(
                SRG.Setting("x"), (img(6), Y()), (img(6), Y()), per_class=5, val_per_class=1
            ),
            V,
            "per_class",
        ),
        c(
            lambda: STG.run_setting(
                "x", (img(6), Y()), (img(6), Y()), per_class=1, val_per_class=1
            ),
            T,
            "setting",
        ),
    ],
    "reglab.studies.together.run_study": [
        c(lambda: STG.run_study([SRG.Setting("x")], [], (img(6), Y()), (img(6), Y())), V, "seeds"),
    ],
    "reglab.studies.why_regularize.Config": [
        c(lambda: SWR.Config(mem_per_class=0), V, "mem_per_class"),
        c(lambda: SWR.Config(corruptions=(1.5,)), V, "corruptions"),
    ],
    "reglab.studies.why_regularize.run_double_descent": [
        c(lambda: SWR.run_double_descent((X(), Y()), (X(), Y()), "config"), T, "config"),
    ],
    "reglab.studies.why_regularize.run_memorization": [
        c(lambda: SWR.run_memorization((X(), Y()), (X(), Y()), "config"), T, "config"),
    ],
    "reglab.studies.why_regularize.run_sample_wise": [
        c(lambda: SWR.run_sample_wise((X(), Y()), (X(), Y()), "config"), T, "config"),
    ],
    # -- reglab.plotting ---------------------------------------------------------------------
    "reglab.plotting.activations.plot_activation_histograms": [
        c(lambda: PA.plot_activation_histograms({}, [ax()], [0], bins=0), V, "stats|bins"),
    ],
    "reglab.plotting.activations.plot_std_by_depth": [
        c(lambda: PA.plot_std_by_depth({}, ax()), V, "stats"),
    ],
    "reglab.plotting.averaging.plot_curves_1d": [
        c(
            lambda: PAV.plot_curves_1d(torch.zeros(3), {"a": torch.zeros(4)}, ax(), xlabel="t"),
            V,
            "curves",
        ),
    ],
    "reglab.plotting.averaging.plot_lr_schedule": [
        c(lambda: PAV.plot_lr_schedule([], ax()), V, "lrs"),
        c(lambda: PAV.plot_lr_schedule([0.1], "ax"), T, r"\bax\b"),
    ],
    "reglab.plotting.averaging.plot_scores_by_size": [
        c(lambda: PAV.plot_scores_by_size({}, ax()), V, "runs"),
    ],
    "reglab.plotting.batchnorm.plot_running_stats": [
        c(lambda: PB.plot_running_stats({}, ax(), field="bogus"), V, "traces|field"),
    ],
    "reglab.plotting.curves.plot_run_curves": [
        c(lambda: PC.plot_run_curves([], ax()), V, "runs"),
    ],
    "reglab.plotting.curves.plot_seed_curves": [
        c(lambda: PC.plot_seed_curves({}, ax()), V, "runs"),
    ],
    "reglab.plotting.double_descent.plot_seed_lines": [
        c(lambda: PDD.plot_seed_lines([1, 2], {"a": [[0.1, 0.2, 0.3]]}, ax()), V, "curves"),
    ],
    "reglab.plotting.double_descent.plot_training_accuracy": [
        c(lambda: PDD.plot_training_accuracy({}, ax()), V, "curves"),
    ],
    "reglab.plotting.early_stopping.plot_filter_factors": [
        c(lambda: PES.plot_filter_factors(torch.ones(3), {1: torch.ones(4)}, {}, ax()), V, "gd"),
    ],
    "reglab.plotting.early_stopping.plot_stopping": [
        c(lambda: PES.plot_stopping(TR.History(), ax()), V, "history"),
    ],
    "reglab.plotting.early_stopping.plot_weight_paths": [
        c(
            lambda: PES.plot_weight_paths(torch.zeros(3, 3), torch.zeros(3, 2), ax()),
            V,
            "trajectory",
        ),
    ],
    "reglab.plotting.images.set_color_limits": [
        c(lambda: PI.set_color_limits([ax()], 1.0, 0.0), V, "vmin|vmax"),
    ],
    "reglab.plotting.images.show_image": [
        c(lambda: PI.show_image(torch.zeros(2, 3, 8, 8), ax()), V, "image"),
    ],
    "reglab.plotting.images.show_images": [
        c(lambda: PI.show_images(torch.zeros(3, 8, 8), [ax(), ax()]), V, "images|axes"),
    ],
    "reglab.plotting.normalization.plot_batch_size_study": [
        c(lambda: PN.plot_batch_size_study([], ax()), V, "rows"),
    ],
    "reglab.plotting.normalization.plot_stats_cube": [
        c(lambda: PN.plot_stats_cube(torch.zeros(3, 3), ax3d()), V, "mask"),
    ],
    "reglab.plotting.seeds.plot_paired_differences": [
        c(lambda: PS.plot_paired_differences({"a": 0.3}, ax(), xlabel="x"), T, "differences"),
    ],
    "reglab.plotting.seeds.plot_paired_seeds": [
        c(
            lambda: PS.plot_paired_seeds({"a": [1.0, 2.0], "b": [1.0]}, ax(), ylabel="y"),
            V,
            "values",
        ),
    ],
    "reglab.plotting.seeds.plot_seed_dots": [
        c(lambda: PS.plot_seed_dots({}, ax()), V, "groups"),
    ],
    "reglab.plotting.seeds.plot_seed_sweep": [
        c(lambda: PS.plot_seed_sweep({}, ax()), V, "values"),
    ],
    "reglab.plotting.seeds.plot_sweep": [
        c(lambda: PS.plot_sweep([1.0, 2.0], {"a": [[0.1, 0.2, 0.3]]}, ax()), V, "values"),
    ],
    "reglab.plotting.targets.plot_reliability": [
        c(
            lambda: PT.plot_reliability(torch.zeros(3), torch.zeros(4), torch.zeros(3), ax()),
            V,
            "bin_accuracy",
        ),
    ],
    "reglab.plotting.targets.plot_template_projection": [
        c(lambda: PT.plot_template_projection(torch.zeros(5, 2), Y(4), ax()), V, r"\by\b"),
    ],
    "reglab.plotting.targets.show_mixed_batch": [
        c(lambda: PT.show_mixed_batch(img(3), torch.zeros(2, 10), [ax()] * 3), V, "targets"),
    ],
    "reglab.plotting.viewer.SampleViewer": [
        c(lambda: PV.SampleViewer(img(3), img(2), Y(3)), V, "augmented"),
        c(lambda: PV.SampleViewer(img(3), img(3), Y(3), zoom=0), V, "zoom"),
    ],
    # -- added on main after the first table: adversarial training, stats helpers ------------
    "reglab.data.read_idx_header": [
        c(lambda: D.read_idx_header(_tmp() / "missing", 3), (V, FileNotFoundError), "missing"),
    ],
    "reglab.plotting.adversarial.plot_linear_check": [
        c(
            lambda: PADV.plot_linear_check(torch.zeros(3), torch.zeros(4), ax()),
            V,
            "attacked|closed_form",
        ),
    ],
    "reglab.plotting.adversarial.plot_robustness": [
        c(
            lambda: PADV.plot_robustness([0.1, 0.2], {("a", "PGD"): [[0.5, 0.5, 0.5]]}, ax()),
            V,
            "accuracies|eps",
        ),
    ],
    "reglab.plotting.adversarial.show_weights": [
        c(lambda: PADV.show_weights(torch.zeros(3, 5), ax()), V, "weight"),
    ],
    "reglab.stats.seeds_text": [c(lambda: S.seeds_text([0.5], 3), T, "fmt")],
    "reglab.stats.verdict": [c(lambda: S.verdict(0.3), T, r"\bd\b")],
    "reglab.studies.adversarial.AdversarialConfig": [
        c(lambda: SADV.AdversarialConfig(seeds=()), V, "seeds"),
    ],
    "reglab.studies.adversarial.logistic_model": [
        c(lambda: SADV.logistic_model(0, generator=gen()), V, "in_features"),
    ],
    "reglab.studies.adversarial.run_linear": [
        c(lambda: SADV.run_linear(X(), Y(6).double(), -0.1), V, "eps"),
    ],
    "reglab.studies.adversarial.run_seed": [
        c(lambda: SADV.run_seed(0, (X(), Y()), (X(), Y()), "config"), T, "config"),
    ],
    "reglab.studies.together.main": [c(lambda: STG.main(["--seeds", "0"]), SystemExit, "")],
    "reglab.studies.together.run_grid_study": [
        c(lambda: STG.run_grid_study("config", None, None, output=_tmp() / "x.jsonl"), T, "config"),
    ],
    "reglab.train.adversarial_mix": [
        c(lambda: TR.adversarial_mix(lin(), -0.1), V, "eps"),
    ],
    "reglab.train.fgsm": [
        c(lambda: TR.fgsm(lin(), X(), Y(), -0.1), V, "eps"),
        c(lambda: TR.fgsm(lin(), X().sigmoid(), Y(5), 0.1), V, r"target|\by\b"),
    ],
    "reglab.train.linear_adversarial_loss": [
        c(
            lambda: TR.linear_adversarial_loss(torch.zeros(4), 0.0, X(), Y(6).float(), -0.1),
            V,
            "eps",
        ),
    ],
    "reglab.train.pgd": [
        c(lambda: TR.pgd(lin(), X(), Y(), 0.1, 0.01, 0), V, "steps"),
        c(lambda: TR.pgd(lin(), X(), Y(), -0.1, 0.01, 2), V, "eps"),
    ],
}

#: Public callables with nothing to pass wrongly: no arguments, exceptions, or plain records
#: (dataclasses whose fields are checked where they are made).
EXEMPT = {
    "reglab.data.DatasetCorruptError": "an exception class",
    "reglab.data.DatasetNotFoundError": "an exception class",
    "reglab.data.data_root": "no arguments",
    "reglab.environment.data_root": "no arguments",
    "reglab.train.default_device": "no arguments",
    "reglab.train.StoppingCriterion": "an abstract base class with no arguments",
    "reglab.train.History": "a record of lists; train() fills it",
    "reglab.train.Overfitting": "a record returned by overfitting()",
    "reglab.train.Replay": "a record returned by replay()",
    "reglab.nn.RunningStats": "a record returned by trace_running_stats()",
    "reglab.inspection.ActivationStats": "a record returned by activation_stats()",
    "reglab.inspection.Description": "a record returned by describe()",
    "reglab.stats.PairedDifference": "a record returned by paired_difference()",
    "reglab.studies.batchnorm.GhostRun": "a record returned by the study",
    "reglab.studies.normalization.BatchSizeRun": "a record returned by the study",
    "reglab.studies.results.RunResult": "a record returned by the study",
}

ALL_CASES = [
    pytest.param(name, i, case, id=f"{name.removeprefix('reglab.')}[{i}]")
    for name, cases in CASES.items()
    for i, case in enumerate(cases)
]


def test_every_public_callable_has_bad_input_cases():
    public = set(public_callables())
    missing = sorted(n for n in public if not CASES.get(n) and n not in EXEMPT)
    assert not missing, f"public callables without bad-input cases: {missing}"
    stale = sorted(set(CASES) - public)
    assert not stale, f"CASES names no longer public: {stale}"


def outcome(case: Case) -> str:
    """``clear``, ``unclear`` (wrong type or a message not naming the argument),
    ``accepted`` (no error) or ``wrong`` (no error, and the result is known wrong)."""
    try:
        case.call()
    except case.exception as error:
        import re

        return "clear" if re.search(case.match, str(error)) else "unclear"
    except Exception:
        return "unclear"
    finally:
        plt.close("all")
    return "wrong" if case.wrong else "accepted"


@pytest.mark.parametrize(("name", "i", "case"), ALL_CASES)
def test_bad_input_gets_a_clear_error_naming_the_argument(name, i, case):
    try:
        with pytest.raises(case.exception, match=case.match):
            case.call()
    finally:
        plt.close("all")


# -- where reglab mirrors torch, its error is torch's or a clearer one -------------------------

MIRRORS = [
    (lambda: F.dropout(X(), 1.5), lambda: torch.nn.functional.dropout(X(), 1.5)),
    (lambda: F.dropout(X(), -0.1), lambda: torch.nn.functional.dropout(X(), -0.1)),
    (lambda: F.dropout2d(img(), 1.5), lambda: torch.nn.functional.dropout2d(img(), 1.5)),
    (lambda: F.layer_norm(X(), (4,), 1.0), lambda: torch.nn.functional.layer_norm(X(), (4,), 1.0)),
    (
        lambda: F.layer_norm(X(), (4,), torch.ones(4, dtype=f64)),
        lambda: torch.nn.functional.layer_norm(X(), (4,), torch.ones(4, dtype=f64)),
    ),
    (
        lambda: F.group_norm(img(), 1, torch.ones(1, dtype=f64)),
        lambda: torch.nn.functional.group_norm(img(), 1, torch.ones(1, dtype=f64)),
    ),
    (
        lambda: F.batch_norm(X(), None, None, torch.ones(4, dtype=f64), training=True),
        lambda: torch.nn.functional.batch_norm(
            X(), None, None, torch.ones(4, dtype=f64), training=True
        ),
    ),
    (
        lambda: F.cross_entropy(X(6, 3), Y(), label_smoothing=1.5),
        lambda: torch.nn.functional.cross_entropy(X(6, 3), Y(), label_smoothing=1.5),
    ),
    (
        lambda: F.cross_entropy(X(6, 3), Y(), weight=[1.0, 1.0, 1.0]),
        lambda: torch.nn.functional.cross_entropy(X(6, 3), Y(), weight=[1.0, 1.0, 1.0]),
    ),
    (
        lambda: F.cross_entropy(X(6, 3), Y(), reduction="avg"),
        lambda: torch.nn.functional.cross_entropy(X(6, 3), Y(), reduction="avg"),
    ),
    (lambda: INIT.gain("swish"), lambda: torch.nn.init.calculate_gain("swish")),
    (
        lambda: INIT.fan_in_and_fan_out((3,)),
        lambda: torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(3)),
    ),
    (
        lambda: INIT.xavier_std(3, 4, gain=-1.0),
        lambda: torch.nn.init.xavier_normal_(torch.empty(4, 3), gain=-1.0),
    ),
    (
        lambda: RN.smooth_targets(Y(), -1, eps=0.1),
        lambda: torch.nn.functional.cross_entropy(X(6, 3), Y(), label_smoothing=-0.1),
    ),
]


def _raised(call):
    try:
        call()
    except Exception as error:
        return error
    return None


@pytest.mark.parametrize(("ours", "theirs"), MIRRORS)
def test_mirrors_torch_on_bad_input(ours, theirs):
    ours_error, theirs_error = _raised(ours), _raised(theirs)
    if theirs_error is None:  # torch accepts it: so may we, but never silently wrong
        return
    assert ours_error is not None, f"torch refuses ({theirs_error!r}); reglab accepts"
    if isinstance(theirs_error, ValueError | TypeError):
        assert isinstance(ours_error, type(theirs_error)), (ours_error, theirs_error)
    else:  # torch's RuntimeError: ours may be a clearer ValueError/TypeError
        assert isinstance(ours_error, ValueError | TypeError | RuntimeError), ours_error


def test_cross_entropy_with_a_minus_inf_logit_is_torchs():
    logits = torch.tensor([[0.0, -math.inf, 1.0], [2.0, 0.0, -math.inf]])
    target = torch.tensor([0, 1])
    expected = torch.nn.functional.cross_entropy(logits, target)
    assert torch.equal(F.cross_entropy(logits, target), expected)


# -- random shapes and out-of-range numbers ------------------------------------------------------

out_of_unit = st.one_of(
    st.floats(max_value=-1e-9, allow_nan=False),
    st.floats(min_value=1 + 1e-9, allow_nan=False),
    st.just(math.nan),
)


@settings(max_examples=30, deadline=None)
@given(p=out_of_unit)
def test_probabilities_out_of_range_are_refused_everywhere(p):
    for call, name in [
        (lambda: F.dropout(X(), p), "p"),
        (lambda: RN.smooth_targets(Y(), 3, eps=p), "eps"),
        (lambda: D.corrupt_labels(Y(), p), "fraction"),
        (lambda: F.cross_entropy(X(6, 3), Y(), label_smoothing=p), "label_smoothing"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=2, max_value=8), extra=st.integers(min_value=1, max_value=4))
def test_paired_lengths_are_compared(n, extra):
    # a y longer or shorter than X is refused, never truncated
    for m in (n + extra, max(1, n - extra)):
        if m == n:
            continue
        with pytest.raises(ValueError, match=r"\by\b"):
            TR.evaluate(lin(), X(n), Y(m))
        with pytest.raises(ValueError, match=r"\by\b"):
            D.ridge_solution(X(n), X(m, 1)[:, 0], 1.0)


@settings(max_examples=20, deadline=None)
@given(dtype=st.sampled_from([torch.float64, torch.float16, torch.bfloat16]))
def test_normalizations_refuse_a_weight_of_another_dtype_like_torch(dtype):
    weight = torch.ones(4, dtype=dtype)
    with pytest.raises(Exception) as theirs:
        torch.nn.functional.layer_norm(X(), (4,), weight)
    with pytest.raises((TypeError, type(theirs.value)), match="weight"):
        F.layer_norm(X(), (4,), weight)


# -- global state ------------------------------------------------------------------------------


def test_mask_of_leaves_the_callers_input_alone():
    x = X()
    before = x.clone()
    RN.mask_of(nn.Dropout(0.5, inplace=True), x)
    assert torch.equal(x, before)


def test_activation_stats_never_touches_the_global_rng():
    model = nn.Sequential(lin(), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 2))
    model.train()
    state = torch.get_rng_state()
    I.activation_stats(model, X())
    assert torch.equal(torch.get_rng_state(), state)
    assert model.training  # its mode is given back


#: Calls with valid input of the public functions that draw random numbers, or could.
RNG_CALLS = {
    "reglab.train.spawn_seeds": lambda: TR.spawn_seeds(gen(), 3),
    "reglab.train.train_one_epoch": lambda: _one_epoch(),
    "reglab.train.train": lambda: _train(),
    "reglab.inspection.filter_normalized_direction": lambda: I.filter_normalized_direction(
        lin(), generator=gen()
    ),
    "reglab.inspection.activation_stats": lambda: I.activation_stats(
        nn.Sequential(lin(), nn.ReLU(), nn.Dropout(0.5)).train(), X()
    ),
    "reglab.data.mixup": lambda: D.mixup(img(), Y(4), num_classes=3, generator=gen()),
    "reglab.data.cutmix": lambda: D.cutmix(img(), Y(4), num_classes=3, generator=gen()),
    "reglab.data.add_input_noise": lambda: D.add_input_noise(X(), 0.1, generator=gen()),
    "reglab.data.corrupt_labels": lambda: D.corrupt_labels(Y(), 0.5, generator=gen()),
    "reglab.data.balanced_subset": lambda: D.balanced_subset(Y(), 1, generator=gen()),
    "reglab.data.draw_train_val": lambda: D.draw_train_val(
        torch.arange(2).repeat(3), 1, 1, generator=gen()
    ),
    "reglab.train.mlp": lambda: TR.mlp((3,)),
    "reglab.data.random_affine": lambda: D.random_affine(img(), generator=gen()),
    "reglab.train.mc_dropout_logits": lambda: TR.mc_dropout_logits(
        nn.Sequential(lin(), nn.Dropout(0.5)), X(), 2, generator=gen()
    ),
    "reglab.nn.functional.dropout": lambda: F.dropout(X(), 0.5, generator=gen()),
    "reglab.nn.mask_of": lambda: RN.mask_of(nn.Dropout(0.5), X()),
}


def _says_global_rng(fn) -> bool:
    doc = (inspect.getdoc(fn) or "").lower().replace("\n", " ")
    return "global rng" in doc or "global random" in doc


@pytest.mark.parametrize("name", sorted(RNG_CALLS))
def test_no_public_function_changes_the_global_rng_unless_it_says_so(name):
    fn = public_callables()[name]
    call = RNG_CALLS[name]
    call()  # warm up: lazy imports and the like
    state = torch.get_rng_state()
    call()
    changed = not torch.equal(torch.get_rng_state(), state)
    if changed:
        assert _says_global_rng(fn), f"{name} draws from the global RNG without saying so"
