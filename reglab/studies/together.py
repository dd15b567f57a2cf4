"""The study of the chapter "Putting it together": one CNN, one budget, several
regularizers, each strength chosen on validation, then all of them combined.

:class:`StudyConfig` holds the study's settings, in one place: the chapter, the
command-line example and the tests read it. :func:`run` is the whole pipeline: draw and
split the data (:func:`draw_data`), train every candidate of every regularizer for every
seed (:func:`run_study`), choose each regularizer's strength on the validation loss
(:func:`reglab.studies.selection.choose`), combine the chosen ones ("all",
:func:`reglab.studies.selection.combine`) and train that too. Every run is a
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
from reglab.data.mnist import balanced_subset, mnist_tensors
from reglab.data.splits import train_val_split
from reglab.studies._arguments import check_instance
from reglab.studies.regularizers import Setting, build
from reglab.studies.results import RunResult, summarize
from reglab.studies.runner import run_grid, study_parser
from reglab.studies.selection import choose, combine
from reglab.train.device import resolve_device
from reglab.train.loop import evaluate, forked_rng, spawn_seeds, train
from reglab.train.stopping import Patience, StoppingCriterion

__all__ = ["StudyConfig", "draw_data", "main", "run", "run_grid_study", "run_setting", "run_study"]

Data = tuple[torch.Tensor, torch.Tensor]


def _candidates() -> dict[str, tuple[Setting, ...]]:
    """Each regularizer (family) of the book's study and its candidate settings. A family
    with one candidate has nothing to choose (batch norm and augmentation are on or off)."""
    return {
        "none": (Setting("none"),),
        "weight decay": tuple(Setting(f"weight decay {v:g}", weight_decay=v) for v in (0.5, 2.0)),
        "dropout": tuple(Setting(f"dropout {v:g}", p=v) for v in (0.5, 0.75)),
        "batch norm": (Setting("batch norm", batch_norm=True),),
        "augmentation": (Setting("augmentation", augment=True),),
    }


@dataclass(frozen=True)
class StudyConfig:
    """The settings of the "Putting it together" study; the defaults are the book's.

    Args:
        seeds (tuple[int, ...]): the paired seeds. Default: ``(0, 1, 2)``.
        per_class (int): training images per class. Default: ``50``.
        val_per_class (int): validation images per class. Default: ``50``.
        n_test (int, optional): test images, ``None`` for the whole test split.
            Default: ``None``.
        data_seed (int): seed of the draw of the training and validation images.
            Default: ``0``.
        num_epochs (int): the cap on the epochs of a run. Default: ``80``.
        patience (int): early stopping's patience on the validation loss. Default: ``5``.
        batch_size (int): Default: ``50``.
        lr (float): AdamW's learning rate. Default: ``2e-3``.
        channels (tuple[int, int]): conv widths of :func:`reglab.train.small_cnn`.
            Default: ``(4, 8)``.
        candidates (dict): regularizer (family) -> its candidate settings. Default: none;
            weight decay 0.5 and 2; dropout 0.5 and 0.75; batch norm; augmentation.
        size_per_class (tuple[int, ...]): training images per class of the training-set
            size study ("none" against "all", no validation set). Default: ``(10, 30, 90)``.
        size_steps (int): optimizer steps of every run of the size study. Default: ``270``.
        size_data_seed (int): seed of the size study's draws. Default: ``1``.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    per_class: int = 50
    val_per_class: int = 50
    n_test: int | None = None
    data_seed: int = 0
    num_epochs: int = 80
    patience: int = 5
    batch_size: int = 50
    lr: float = 2e-3
    channels: tuple[int, int] = (4, 8)
    candidates: dict[str, tuple[Setting, ...]] = field(default_factory=_candidates)
    size_per_class: tuple[int, ...] = (10, 30, 90)
    size_steps: int = 270
    size_data_seed: int = 1

    def __post_init__(self):
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        positive = ["per_class", "val_per_class", "num_epochs", "patience", "batch_size",
                    "size_steps"]  # fmt: skip
        for name in positive + ["n_test"] * (self.n_test is not None):
            check_positive_int(getattr(self, name), name)
        check_positive(self.lr, "lr")
        if not self.candidates or any(not c for c in self.candidates.values()):
            raise ValueError("candidates must give every family at least one setting")


def draw_data(config: StudyConfig, train_pool: Data, test: Data) -> tuple[Data, Data, Data]:
    """The study's training, validation and test sets.

    ``per_class + val_per_class`` images of each class are drawn from ``train_pool`` with
    ``data_seed``, then split class by class; the test set is the first ``n_test`` images
    of ``test`` (all of them for ``n_test=None``).

    Returns:
        (train_data, val_data, test_data), each ``(X, y)``.
    """
    check_instance(config, StudyConfig, "config")
    (X, y), (X_test, y_test) = train_pool, test
    g = torch.Generator().manual_seed(config.data_seed)
    pool = balanced_subset(y, config.per_class + config.val_per_class, generator=g)
    train_data, val_data = train_val_split(
        X[pool], y[pool], val_per_class=config.val_per_class, generator=g
    )
    n_test = len(X_test) if config.n_test is None else min(config.n_test, len(X_test))
    return train_data, val_data, (X_test[:n_test], y_test[:n_test])


def run_setting(
    setting: Setting,
    train_data: Data,
    test_data: Data,
    *,
    val_data: Data | None = None,
    seed: int = 0,
    num_epochs: int = 20,
    batch_size: int = 50,
    lr: float = 2e-3,
    device: torch.device | str | None = None,
    stopping: StoppingCriterion | None = None,
    test_every_epoch: bool = True,
    channels: tuple[int, int] = (8, 16),
) -> RunResult:
    """Train one seed of one setting.

    ``seed`` is the source of three streams (:func:`reglab.train.spawn_seeds`): the
    initialization, drawn under :func:`reglab.train.forked_rng`, then the batch order
    and the dropout masks/augmentations inside :func:`reglab.train.train`. The caller's
    global RNG is left untouched.

    The result's metrics are those of the returned model: the last epoch, or the best one
    with ``stopping`` (train() restores its best weights). With ``test_every_epoch=False`` the
    test set is evaluated once, after training, and the history holds no test metrics.
    ``channels`` are those of the two conv blocks of :func:`reglab.train.small_cnn`.
    """
    check_instance(setting, Setting, "setting")
    device = resolve_device(device)
    source = torch.Generator().manual_seed(seed)
    (init_seed,) = spawn_seeds(source, 1)
    with forked_rng(init_seed):  # the initial weights: their own stream
        model, optimizer, penalty, augment = build(setting, lr=lr, channels=channels)
    history = train(
        model, train_data, val_data=val_data, optimizer=optimizer,
        test_data=test_data if test_every_epoch else None,
        penalty=penalty, augment=augment, num_epochs=num_epochs, batch_size=batch_size,
        seed=source, device=device, progress=False, stopping=stopping,
    )  # fmt: skip
    restored = stopping is not None  # train() restores its best epoch by default
    at = history.epoch.index(history.best_epoch) if restored else -1
    if test_every_epoch:
        test_loss, test_acc = history.test_loss[at], history.test_acc[at]
    else:  # the test set, once, for the returned model
        test_loss, test_acc = evaluate(model, *test_data, device=device)
    with_val = val_data is not None
    return RunResult(
        setting=setting, seed=seed, n_train=len(train_data[0]),
        n_val=len(val_data[0]) if with_val else 0, n_test=len(test_data[0]),
        num_epochs=num_epochs, channels=tuple(channels), best_epoch=history.best_epoch,
        device=device.type, history=history, train_acc=history.train_acc[at],
        test_loss=test_loss, test_acc=test_acc,
        val_loss=history.val_loss[at] if with_val else None,
        val_acc=history.val_acc[at] if with_val else None,
    )  # fmt: skip


def run_study(
    settings: Iterable[Setting],
    seeds: Iterable[int],
    train_data: Data,
    test_data: Data,
    *,
    val_data: Data | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    **kwargs,
) -> list[RunResult]:
    """:func:`run_setting` for every (setting, seed) pair; ``progress`` may wrap the loop
    (tqdm); ``kwargs`` go to :func:`run_setting`.

    Every setting sees the same seeds, data and budget, so results pair up by seed.
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
    return [
        run_setting(s, train_data, test_data, val_data=val_data, seed=seed, **kwargs)
        for s, seed in jobs
    ]


def run(
    config: StudyConfig,
    data: tuple[Data, Data, Data],
    *,
    device: torch.device | str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[RunResult]:
    r"""The whole study: every candidate, the choice on validation, then "all".

    Every candidate of every family trains for every seed, with early stopping on the
    validation loss and the best weights restored. Each family's strength is the
    candidate with the lowest mean validation loss over the seeds; the chosen ones are
    combined into "all" (when more than one family is compared), which trains with the
    same seeds. The test set is evaluated once per run, after training, and plays no part
    in the choice.

    Args:
        config (StudyConfig): the settings.
        data (tuple): ``(train_data, val_data, test_data)``, e.g. from :func:`draw_data`.
        device (torch.device or str, optional): where to train. Default: ``None`` (CUDA
            when available).
        progress (callable, optional): wraps each loop of runs (e.g. ``tqdm``).

    Returns:
        list[RunResult]: the candidates' runs, then those of "all".
    """
    check_instance(config, StudyConfig, "config")
    train_data, val_data, test_data = data

    def study(settings):
        return run_study(
            settings, config.seeds, train_data, test_data, val_data=val_data,
            stopping=Patience(config.patience),
            num_epochs=config.num_epochs, batch_size=config.batch_size, lr=config.lr,
            channels=config.channels, device=device, test_every_epoch=False,
            progress=progress,
        )  # fmt: skip

    results = study([s for settings in config.candidates.values() for s in settings])
    chosen = choose(results, config.candidates)  # on the validation loss
    if len(chosen) > 1:
        results += study([combine(chosen.values())])
    return results


# -- at any scale: the same runs through reglab.studies.runner (torchrun) -----------------


def _run_one(point: dict, seed: int, data, device, *, config: StudyConfig) -> dict:
    """One (setting, seed) run of :func:`run`, as JSON (for :func:`run_grid_study`)."""
    train_data, val_data, test_data = data
    (result,) = run_study(
        [Setting(**point)], [seed], train_data, test_data, val_data=val_data,
        stopping=Patience(config.patience), num_epochs=config.num_epochs,
        batch_size=config.batch_size, lr=config.lr, channels=config.channels,
        device=device, test_every_epoch=False,
    )  # fmt: skip
    return result.to_dict()


def run_grid_study(
    config: StudyConfig,
    data: tuple[Data, Data, Data],
    *,
    output: str | Path,
    device: torch.device | str | None = None,
) -> list[RunResult]:
    r""":func:`run` at any scale: the same runs, each written to ``output`` (JSON Lines) as
    it ends, and shared out among the processes of ``torchrun``.

    The candidates run as one grid of :func:`reglab.studies.runner.run_grid` (every
    setting with every seed), the choice on validation follows on every process, and "all"
    runs as a second grid into the same file. Each run is :func:`run`'s, to the bit, on the
    same device; a rerun skips the runs ``output`` already holds.

    Args:
        config (StudyConfig): the settings.
        data (tuple): ``(train_data, val_data, test_data)``, e.g. from :func:`draw_data`.
        output (str or path): the JSON Lines results file.
        device (torch.device or str, optional): see :func:`reglab.studies.runner.rank_device`.

    Returns:
        list[RunResult]: the candidates' runs, then those of "all", on every process.
    """
    check_instance(config, StudyConfig, "config")
    fixed = {k: v for k, v in asdict(config).items() if k not in ("seeds", "candidates")}
    fixed["n_train"], fixed["n_val"] = len(data[0][0]), len(data[1][0])
    grid = partial(
        run_grid, seeds=config.seeds, run_one=partial(_run_one, config=config), data=data,
        output=output, device=device, config=fixed, verbose=False,
    )  # fmt: skip

    def runs(settings: list[Setting]) -> list[RunResult]:  # in run()'s order, not the file's
        by_key = {
            (r["point"]["name"], r["seed"]): r["metrics"]
            for r in grid([asdict(s) for s in settings])
        }  # fmt: skip
        return [RunResult.from_dict(by_key[s.name, k]) for s in settings for k in config.seeds]

    results = runs([s for settings in config.candidates.values() for s in settings])
    chosen = choose(results, config.candidates)  # on the validation loss
    if len(chosen) > 1:
        results += runs([combine(chosen.values())])
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m reglab.studies.together``: the study at any scale (``--help``).

    One process runs every (setting, seed) pair; under ``torchrun --nproc-per-node=K``
    each process runs its share, on its own GPU when there is one. The data size is the
    number of training images (``--data-size``, a multiple of 10: the same number of
    each digit), drawn from the training split of ``REGLAB_DATA`` with the validation
    images beside them.
    """
    default = StudyConfig()
    parser = study_parser(
        "Putting it together, at any scale: every regularizer, its strength chosen on "
        "validation, then all of them at once",
        data_size=10 * default.per_class, seeds=len(default.seeds),
        output="runs/together.jsonl",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.data_size % 10:
        parser.error(f"--data-size must be a multiple of 10, got {args.data_size}")
    config = replace(default, per_class=args.data_size // 10, seeds=tuple(range(args.seeds)))
    data = draw_data(config, mnist_tensors(train=True), mnist_tensors(train=False))
    results = run_grid_study(config, data, output=args.output, device=args.device)
    if os.environ.get("RANK", "0") == "0":  # one summary, from rank 0 under torchrun
        print(f"{len(results)} runs in {args.output}")
        for row in summarize(results):
            print(f"{row['setting']:<24} test accuracy {row['test_acc']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
