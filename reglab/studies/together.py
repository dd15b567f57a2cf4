"""The study of the chapter "Putting it together": one MLP, one budget, several
regularizers, each strength chosen on validation, all of them combined with their
strengths chosen jointly, at two training-set sizes.

:class:`StudyConfig` holds the study's settings, in one place: the chapter, the
command-line examples and the tests read it. :func:`run` is the whole grid: for each
training-set size, every candidate of every regularizer and every point of the joint grid
of "all" (:func:`reglab.studies.selection.joint_grid`), for every seed
(:func:`run_setting`). A seed draws the run's training and validation digits from the pool
(:func:`reglab.data.draw_train_val`), its initial weights and its batch order, so every
setting trained with one seed sees the same data and starts from the same weights wherever
the architectures coincide. :func:`choices` then reads, per size, each regularizer's
strength and the joint choice for "all" off the validation loss. Every run is a
:class:`~reglab.studies.results.RunResult`; :func:`reglab.studies.results.save_results`
writes them as JSON.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import torch

from reglab._checks import check_positive, check_positive_int
from reglab.data.mnist import mnist_tensors
from reglab.data.splits import draw_train_val
from reglab.studies._arguments import check_instance
from reglab.studies.regularizers import Setting, build
from reglab.studies.results import RunResult, summarize
from reglab.studies.runner import run_grid, study_parser
from reglab.studies.selection import choose, joint_grid
from reglab.train.device import resolve_device
from reglab.train.loop import evaluate, train
from reglab.train.stopping import Patience

__all__ = ["StudyConfig", "choices", "main", "run", "run_grid_study", "run_setting", "run_study"]

Data = tuple[torch.Tensor, torch.Tensor]


def _candidates() -> dict[str, tuple[Setting, ...]]:
    """Each regularizer (family) of the book's study and its candidate settings. A family
    with one candidate has nothing to choose (batch norm and augmentation are on or off)."""
    return {
        "none": (Setting("none"),),
        "weight decay": tuple(Setting(f"weight decay {v:g}", weight_decay=v) for v in (0.1, 1.0)),
        "dropout": tuple(Setting(f"dropout {v:g}", p=v) for v in (0.1, 0.3)),
        "batch norm": (Setting("batch norm", batch_norm=True),),
        "augmentation": (Setting("augmentation", augment=True),),
    }


@dataclass(frozen=True)
class StudyConfig:
    """The settings of the "Putting it together" study; the defaults are the book's.

    Args:
        seeds (tuple[int, ...]): the paired seeds; seed ``s`` draws a run's data, initial
            weights and batch order. Default: ``(0, 1, 2, 3, 4)``.
        sizes (tuple[int, ...]): training images per class, one study per size.
            Default: ``(50, 200)``.
        val_per_class (int): validation images per class. Default: ``100``.
        n_test (int, optional): test images, ``None`` for the whole test split.
            Default: ``None``.
        hidden (tuple[int, ...]): hidden widths of the MLP (:func:`reglab.train.mlp`).
            Default: ``(256, 256)``.
        num_epochs (int): the cap on the epochs of a run. Default: ``100``.
        patience (int): early stopping's patience on the validation loss. Default: ``5``.
        batch_size (int): Default: ``50``.
        lr (float): AdamW's learning rate. Default: ``2e-3``.
        candidates (dict): regularizer (family) -> its candidate settings. Default: none;
            weight decay 0.1 and 1; dropout 0.1 and 0.3; batch norm; augmentation.
    """

    seeds: tuple[int, ...] = tuple(range(5))
    sizes: tuple[int, ...] = (50, 200)
    val_per_class: int = 100
    n_test: int | None = None
    hidden: tuple[int, ...] = (256, 256)
    num_epochs: int = 100
    patience: int = 5
    batch_size: int = 50
    lr: float = 2e-3
    candidates: dict[str, tuple[Setting, ...]] = field(default_factory=_candidates)

    def __post_init__(self):
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        if not self.sizes or len(set(self.sizes)) != len(self.sizes):
            raise ValueError(f"sizes must be distinct and at least one, got {self.sizes}")
        for size in self.sizes:
            check_positive_int(size, "sizes")
        positive = ["val_per_class", "num_epochs", "patience", "batch_size"]
        for name in positive + ["n_test"] * (self.n_test is not None):
            check_positive_int(getattr(self, name), name)
        for width in self.hidden:
            check_positive_int(width, "hidden")
        check_positive(self.lr, "lr")
        if not self.candidates or any(not c for c in self.candidates.values()):
            raise ValueError("candidates must give every family at least one setting")

    @property
    def joint(self) -> tuple[Setting, ...]:
        """The joint grid of "all", every combination of the families' candidates
        (:func:`reglab.studies.selection.joint_grid`); empty with one family."""
        return joint_grid(self.candidates) if len(self.candidates) > 1 else ()

    @property
    def settings(self) -> list[Setting]:
        """Every setting each size trains, that is, the candidates of every family, then
        the joint grid of "all"."""
        return [s for settings in self.candidates.values() for s in settings] + list(self.joint)


def run_setting(
    setting: Setting,
    pool: Data,
    test_data: Data,
    *,
    per_class: int,
    val_per_class: int,
    seed: int = 0,
    num_epochs: int = 100,
    patience: int = 5,
    batch_size: int = 50,
    lr: float = 2e-3,
    hidden: tuple[int, ...] = (256, 256),
    device: torch.device | str | None = None,
) -> RunResult:
    r"""Train one seed of one setting, early-stopped on validation.

    ``seed`` starts one stream, ``g = torch.Generator().manual_seed(seed)``, which draws in
    turn the training and validation digits (:func:`reglab.data.draw_train_val`: ``per_class``
    and ``val_per_class`` of each class of ``pool``, disjoint), the initial weights
    (:func:`reglab.studies.regularizers.build`) and, inside :func:`reglab.train.train`, the
    batch order and the noise. Every setting trained with one seed therefore sees the same
    data, and starts from the same weights in every layer it shares with another. The
    caller's global RNG is left untouched.

    The run stops once the validation loss has not improved for ``patience`` epochs
    (:class:`reglab.train.Patience`), at the latest after ``num_epochs``, and keeps its best
    epoch's weights. The test set is evaluated once, after training, for those weights.

    .. math::
        (\mathcal D^{tr}_s, \mathcal D^{va}_s, \theta^0_s, \pi_s) \sim \mathrm{seed}\ s

    Returns:
        RunResult: its history (training and validation metrics per epoch) and the metrics
        of its best epoch.
    """
    check_instance(setting, Setting, "setting")
    device = resolve_device(device)
    X, y = pool
    g = torch.Generator().manual_seed(seed)  # seed s: data, weights, batch order
    train_idx, val_idx = draw_train_val(y, per_class, val_per_class, generator=g)
    train_data, val_data = (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])
    model, optimizer, penalty, augment = build(setting, lr=lr, hidden=hidden, generator=g)
    history = train(
        model, train_data, val_data=val_data, optimizer=optimizer, penalty=penalty,
        augment=augment, num_epochs=num_epochs, batch_size=batch_size, seed=g,
        device=device, progress=False, stopping=Patience(patience), restore_best=True,
    )  # fmt: skip
    at = history.epoch.index(history.best_epoch)  # the restored epoch
    test_loss, test_acc = evaluate(model, *test_data, device=device)  # once, after training
    return RunResult(
        setting=setting, seed=seed, n_train=len(train_idx), n_val=len(val_idx),
        n_test=len(test_data[0]), num_epochs=num_epochs, hidden=tuple(hidden),
        best_epoch=history.best_epoch, device=device.type, history=history,
        train_acc=history.train_acc[at], test_loss=test_loss, test_acc=test_acc,
        val_loss=history.val_loss[at], val_acc=history.val_acc[at],
    )  # fmt: skip


def run_study(
    settings: Iterable[Setting],
    seeds: Iterable[int],
    pool: Data,
    test_data: Data,
    *,
    progress: Callable[[Iterable], Iterable] | None = None,
    **kwargs,
) -> list[RunResult]:
    """:func:`run_setting` for every (setting, seed) pair; ``progress`` may wrap the loop
    (tqdm); ``kwargs`` go to :func:`run_setting`.

    Every setting sees the same seeds, hence the same data, and the same budget, so
    results pair up by seed.
    """
    settings, seeds = list(settings), list(seeds)
    if not settings or not seeds:
        raise ValueError(
            f"settings and seeds must each hold at least one, got {len(settings)} settings "
            f"and {len(seeds)} seeds"
        )
    jobs = [(s, seed) for s in settings for seed in seeds]
    if progress is not None:
        jobs = progress(jobs)
    return [run_setting(s, pool, test_data, seed=seed, **kwargs) for s, seed in jobs]


def _budget(config: StudyConfig) -> dict:
    return dict(
        val_per_class=config.val_per_class, num_epochs=config.num_epochs,
        patience=config.patience, batch_size=config.batch_size, lr=config.lr,
        hidden=config.hidden,
    )  # fmt: skip


def _test_split(config: StudyConfig, test: Data) -> Data:
    X_test, y_test = test
    n_test = len(X_test) if config.n_test is None else min(config.n_test, len(X_test))
    return X_test[:n_test], y_test[:n_test]


def run(
    config: StudyConfig,
    pool: Data,
    test: Data,
    *,
    device: torch.device | str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[RunResult]:
    r"""The whole study: at every size, every candidate and every point of the joint grid.

    For each size in ``config.sizes`` (training images per class), every setting of
    ``config.settings`` trains for every seed (:func:`run_setting`). Nothing is chosen
    here: :func:`choices` reads the choice off the validation loss afterwards, so the test
    set (the first ``n_test`` images of ``test``, evaluated once per run) plays no part.

    Args:
        config (StudyConfig): the settings.
        pool (tuple): ``(X, y)``, the pool each seed draws its training and validation
            images from, e.g. ``mnist_tensors(train=True)``.
        test (tuple): ``(X, y)``, e.g. ``mnist_tensors(train=False)``.
        device (torch.device or str, optional): where to train. Default: ``None`` (CUDA
            when available).
        progress (callable, optional): wraps each size's loop of runs (e.g. ``tqdm``).

    Returns:
        list[RunResult]: size by size, setting by setting, seed by seed.
    """
    check_instance(config, StudyConfig, "config")
    test_data = _test_split(config, test)
    return [
        r
        for per_class in config.sizes
        for r in run_study(
            config.settings,
            config.seeds,
            pool,
            test_data,
            per_class=per_class,
            device=device,
            progress=progress,
            **_budget(config),
        )
    ]


def choices(
    results: Iterable[RunResult], config: StudyConfig, per_class: int
) -> dict[str, Setting]:
    """What validation chose at one size: each family's candidate with the lowest mean
    validation loss, and, under ``"all"``, the point of the joint grid with the lowest.

    Args:
        results (iterable of RunResult): :func:`run`'s runs (any sizes).
        config (StudyConfig): the study's settings.
        per_class (int): the size, one of ``config.sizes``.

    Returns:
        dict: family -> chosen :class:`~reglab.studies.regularizers.Setting`, then
        ``"all"`` (with more than one family).
    """
    check_instance(config, StudyConfig, "config")
    if per_class not in config.sizes:
        raise ValueError(f"per_class must be one of config.sizes {config.sizes}, got {per_class}")
    at_size = [r for r in results if r.n_train == 10 * per_class]
    families = dict(config.candidates)
    if config.joint:
        families["all"] = config.joint
    return choose(at_size, families)  # on the validation loss


# -- at any scale: the same runs through reglab.studies.runner (torchrun) -----------------


def _run_one(point: dict, seed: int, data, device, *, config: StudyConfig) -> dict:
    """One (size, setting, seed) run of :func:`run`, as JSON (for :func:`run_grid_study`)."""
    pool, test_data = data
    point = dict(point)
    per_class = point.pop("per_class")
    (result,) = run_study(
        [Setting(**point)], [seed], pool, test_data, per_class=per_class, device=device,
        **_budget(config),
    )  # fmt: skip
    return result.to_dict()


def run_grid_study(
    config: StudyConfig,
    pool: Data,
    test: Data,
    *,
    output: str | Path,
    device: torch.device | str | None = None,
) -> list[RunResult]:
    r""":func:`run` at any scale: the same runs, each written to ``output`` (JSON Lines) as
    it ends, and shared out among the processes of ``torchrun``.

    The sizes, settings and seeds make one grid of :func:`reglab.studies.runner.run_grid`.
    Each run is :func:`run`'s, to the bit, on the same device; a rerun skips the runs
    ``output`` already holds.

    Args:
        config (StudyConfig): the settings.
        pool (tuple): ``(X, y)``, the pool of training and validation images.
        test (tuple): ``(X, y)``, the test split.
        output (str or path): the JSON Lines results file.
        device (torch.device or str, optional): see :func:`reglab.studies.runner.rank_device`.

    Returns:
        list[RunResult]: in :func:`run`'s order, on every process.
    """
    check_instance(config, StudyConfig, "config")
    fixed = {k: v for k, v in asdict(config).items() if k not in ("seeds", "candidates")}
    points = [
        {**asdict(s), "per_class": per_class} for per_class in config.sizes for s in config.settings
    ]
    records = run_grid(
        points, config.seeds, partial(_run_one, config=config), (pool, _test_split(config, test)),
        output=output, device=device, config=fixed, verbose=False,
    )  # fmt: skip
    by_key = {
        (r["point"]["per_class"], r["point"]["name"], r["seed"]): r["metrics"] for r in records
    }
    return [
        RunResult.from_dict(by_key[n, s.name, k])
        for n in config.sizes
        for s in config.settings
        for k in config.seeds
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m reglab.studies.together``: the study at any scale (``--help``).

    One process runs every (size, setting, seed) triple; under
    ``torchrun --nproc-per-node=K`` each process runs its share, on its own GPU when there
    is one. The data sizes are numbers of training images (``--data-size``, multiples of
    10: the same number of each digit), drawn by each seed from the training split of
    ``REGLAB_DATA`` with the validation images beside them.
    """
    default = StudyConfig()
    parser = study_parser(
        "Putting it together, at any scale: every regularizer, its strength chosen on "
        "validation, then all of them at once, their strengths chosen jointly",
        data_size=[10 * n for n in default.sizes], seeds=len(default.seeds),
        output="runs/together.jsonl",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if any(n % 10 for n in args.data_size):
        parser.error(f"--data-size must be multiples of 10, got {args.data_size}")
    config = replace(
        default, sizes=tuple(n // 10 for n in args.data_size), seeds=tuple(range(args.seeds))
    )
    results = run_grid_study(
        config, mnist_tensors(train=True), mnist_tensors(train=False), output=args.output,
        device=args.device,
    )  # fmt: skip
    if os.environ.get("RANK", "0") == "0":  # one summary, from rank 0 under torchrun
        print(f"{len(results)} runs in {args.output}")
        for per_class in config.sizes:
            chosen = choices(results, config, per_class)
            names = {s.name for s in chosen.values()}
            at_size = [r for r in results if r.n_train == 10 * per_class and r.name in names]
            for row in summarize(at_size):
                print(f"{10 * per_class:>6} images  {row['setting']:<40} "
                      f"test accuracy {row['test_acc']:.2%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
