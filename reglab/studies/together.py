"""A small, declarative experiment runner: one CNN, one budget, several regularizers.

A :class:`Setting` names which regularizers are on; :func:`build` turns it into a model, an
optimizer, a penalty and an augmentation; :func:`run` trains one seed; results are plain
dictionaries that :func:`save_results` writes as JSON (and a CSV summary), so figures can
be redrawn without retraining.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from reglab._checks import check_nonnegative, check_probability
from reglab.data.augment import random_affine
from reglab.optim.penalties import l1_penalty, param_groups
from reglab.train.device import resolve_device
from reglab.train.early_stopping import EarlyStopping
from reglab.train.loop import History, evaluate, train
from reglab.train.models import small_cnn

__all__ = [
    "SETTINGS",
    "Setting",
    "build",
    "load_results",
    "mean_curves",
    "run",
    "run_study",
    "save_results",
    "summarize",
]


@dataclass(frozen=True)
class Setting:
    """Which regularizers a run uses. The defaults are "none".

    Args:
        name (str): label of the setting.
        weight_decay (float): decoupled weight decay (AdamW) on weights, not biases/norms.
        l1 (float): strength of an L1 penalty on the weights, added to the loss.
        p (float): dropout probability in the classifier.
        p2d (float): channel dropout probability after each conv block.
        batch_norm (bool): batch normalization after each conv and hidden linear layer.
        augment (bool): the seed's random affine augmentation, per image, on each batch.
    """

    name: str
    weight_decay: float = 0.0
    l1: float = 0.0
    p: float = 0.0
    p2d: float = 0.0
    batch_norm: bool = False
    augment: bool = False

    def __post_init__(self):
        for field in ("weight_decay", "l1"):
            check_nonnegative(getattr(self, field), field)
        for field in ("p", "p2d"):
            check_probability(getattr(self, field), field)


#: The settings the chapter "Putting it together" compares.
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("none"),
        Setting("L2", weight_decay=0.5),
        Setting("L1", l1=2e-4),
        Setting("dropout", p=0.5),
        Setting("dropout2d", p2d=0.2),
        Setting("batchnorm", batch_norm=True),
        Setting("augmentation", augment=True),
        Setting("all", weight_decay=0.5, l1=2e-4, p=0.5, p2d=0.1, batch_norm=True, augment=True),
    ]
}


def build(
    setting: Setting,
    *,
    lr: float = 2e-3,
    channels: tuple[int, int] = (8, 16),
    generator: torch.Generator | None = None,
) -> tuple[nn.Module, torch.optim.Optimizer, Callable | None, Callable | None]:
    """Model, optimizer, penalty and batch augmentation for a setting.

    Every setting trains with AdamW at learning rate ``lr``; only the decay-group's
    ``weight_decay`` differs. The initial weights are seeded by ``generator``
    (:func:`reglab.train.small_cnn`), or drawn from the global RNG without one.

    Returns:
        (model, optimizer, penalty, augment): ``penalty`` and ``augment`` may be ``None``.
    """
    model = small_cnn(
        channels, batch_norm=setting.batch_norm, p=setting.p, p2d=setting.p2d, generator=generator
    )
    optimizer = torch.optim.AdamW(param_groups(model, setting.weight_decay), lr=lr)
    penalty = None
    if setting.l1 > 0:
        weights = optimizer.param_groups[0]["params"]  # the decay group: weights only
        penalty = lambda m: setting.l1 * l1_penalty(weights)  # noqa: E731
    augment = random_affine if setting.augment else None
    return model, optimizer, penalty, augment


def run(
    setting: Setting,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    *,
    val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    num_epochs: int = 20,
    batch_size: int = 50,
    lr: float = 2e-3,
    device: torch.device | str | None = None,
    early_stopping: EarlyStopping | None = None,
    test_every_epoch: bool = True,
    channels: tuple[int, int] = (8, 16),
) -> dict:
    """Train one seed of one setting; return its result as plain data (JSON-ready).

    ``seed`` is the source of three streams (:func:`reglab.train.spawn_seeds`): the
    initialization (``small_cnn(..., generator=...)``), then the batch order
    and the dropout masks/augmentations inside :func:`reglab.train.train`. The caller's
    global RNG is left untouched.

    ``train_acc``/``val_acc``/``test_acc``/``gap`` are those of the returned model: the last
    epoch, or the best one when ``early_stopping`` restores the best weights. With
    ``test_every_epoch=False`` the test set is evaluated once, after training, and the
    history holds no test metrics. ``channels`` are those of the two conv blocks of
    :func:`reglab.train.small_cnn`.
    """
    device = resolve_device(device)
    source = torch.Generator().manual_seed(seed)  # the init, then the batch order and masks
    model, optimizer, penalty, augment = build(setting, lr=lr, channels=channels, generator=source)
    history = train(
        model, train_data, val_data=val_data, optimizer=optimizer,
        test_data=test_data if test_every_epoch else None,
        penalty=penalty, augment=augment, num_epochs=num_epochs, batch_size=batch_size,
        generator=source, device=device, progress=False, early_stopping=early_stopping,
    )  # fmt: skip
    restored = early_stopping is not None and early_stopping.restore_best
    at = history.epoch.index(history.best_epoch) if restored else -1
    result = {
        "setting": asdict(setting),
        "seed": seed,
        "n_train": len(train_data[0]),
        "n_val": len(val_data[0]) if val_data is not None else 0,
        "n_test": len(test_data[0]),
        "num_epochs": num_epochs,
        "channels": list(channels),
        "epochs_trained": len(history.epoch),
        "best_epoch": history.best_epoch,
        "device": device.type,
        "history": history.to_dict(),
        "train_acc": history.train_acc[at],
    }
    if test_every_epoch:
        result["test_loss"], result["test_acc"] = history.test_loss[at], history.test_acc[at]
    else:  # the test set, once, for the returned model
        result["test_loss"], result["test_acc"] = evaluate(model, *test_data, device=device)
    if val_data is not None:
        result["val_acc"] = history.val_acc[at]
        result["val_loss"] = history.val_loss[at]
    result["gap"] = result["train_acc"] - result["test_acc"]
    return result


def run_study(
    settings: Iterable[Setting],
    seeds: Iterable[int],
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    *,
    val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    **kwargs,
) -> list[dict]:
    """:func:`run` for every (setting, seed) pair; ``progress`` may wrap the loop (tqdm).

    Every setting sees the same seeds, data and budget, so results pair up by seed.
    """
    jobs = [(s, seed) for s in settings for seed in seeds]
    if progress is not None:
        jobs = progress(jobs)
    return [
        run(s, train_data, test_data, val_data=val_data, seed=seed, **kwargs) for s, seed in jobs
    ]


def summarize(results: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds of each setting's final metrics, in order.

    An empty ``results`` gives an empty list.
    """
    names = list(dict.fromkeys(r["setting"]["name"] for r in results))
    rows = []
    for name in names:
        rs = [r for r in results if r["setting"]["name"] == name]
        row = {"setting": name, "seeds": len(rs)}
        for key in ("train_acc", "test_acc", "gap"):
            values = [r[key] for r in rs]
            row[key] = statistics.fmean(values)
            row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def mean_curves(results: list[dict]) -> dict[str, History]:
    """Per-epoch metrics of each setting, averaged over its seeds, as
    :class:`~reglab.train.History` objects.

    Every seed of a setting must have trained for the same number of epochs (runs cut short
    by early stopping cannot be averaged epoch by epoch).
    """
    curves = {}
    for name in dict.fromkeys(r["setting"]["name"] for r in results):
        runs = [r["history"] for r in results if r["setting"]["name"] == name]
        lengths = {len(h["epoch"]) for h in runs}
        if len(lengths) > 1:
            raise ValueError(
                f"setting {name!r}: seeds trained for different numbers of epochs "
                f"{sorted(lengths)}; mean_curves needs equal lengths"
            )
        curves[name] = History(
            **{
                key: [statistics.fmean(v) for v in zip(*(h[key] for h in runs), strict=True)]
                for key, value in runs[0].items()
                if isinstance(value, list)
            }
        )
    return curves


def save_results(results: list[dict], folder: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` (everything) and ``summary.csv`` (one row per setting).

    Raises:
        ValueError: ``results`` is empty (there would be no summary row to write).
    """
    if not results:
        raise ValueError("results must hold at least one run, got an empty list")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = folder / "results.json", folder / "summary.csv"
    json_path.write_text(json.dumps(results, indent=1))
    rows = summarize(results)
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return json_path, csv_path


def load_results(path: str | Path) -> list[dict]:
    """Read results written by :func:`save_results` (the ``results.json`` file or its folder)."""
    path = Path(path)
    return json.loads((path / "results.json" if path.is_dir() else path).read_text())
