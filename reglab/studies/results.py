"""The result of one run of the "Putting it together" study, as a dataclass, and its JSON
round trip: :func:`save_results` writes a list of :class:`RunResult` (and a CSV summary),
:func:`load_results` reads it back equal, so figures can be redrawn without retraining.

:func:`reglab.stats.by_seed` pairs results up by seed.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from reglab.studies._arguments import check_instance, check_path
from reglab.studies.regularizers import Setting
from reglab.train.loop import History

__all__ = ["RunResult", "load_results", "mean_curves", "save_results", "summarize"]


@dataclass(frozen=True)
class RunResult:
    """One seed of one setting: what it trained on, its per-epoch history and the
    metrics of the model it returned.

    ``train_acc``/``val_*``/``test_*`` are those of the returned model: the last epoch, or
    the best one when early stopping restored the best weights.

    Args:
        setting (Setting): the regularizers.
        seed (int): the seed of the run: its data (training and validation subsets), its
            initial weights, its batch order and its noise.
        n_train (int): training images.
        n_val (int): validation images (``0`` without a validation set).
        n_test (int): test images.
        num_epochs (int): the cap on the epochs.
        hidden (tuple[int, ...]): widths of the MLP's hidden layers.
        best_epoch (int, optional): the epoch early stopping restored, or ``None``.
        device (str): where it trained (``"cpu"``, ``"cuda"``).
        history (History): the per-epoch metrics.
        train_acc (float): training accuracy (evaluation mode).
        test_loss (float): test loss.
        test_acc (float): test accuracy.
        val_loss (float, optional): validation loss. Default: ``None`` (no validation set).
        val_acc (float, optional): validation accuracy. Default: ``None``.
    """

    setting: Setting
    seed: int
    n_train: int
    n_val: int
    n_test: int
    num_epochs: int
    hidden: tuple[int, ...]
    best_epoch: int | None
    device: str
    history: History
    train_acc: float
    test_loss: float
    test_acc: float
    val_loss: float | None = None
    val_acc: float | None = None

    @property
    def name(self) -> str:
        """The setting's name, as in ``by_seed(results, "test_acc", name="none")``."""
        return self.setting.name

    @property
    def gap(self) -> float:
        """Training minus test accuracy."""
        return self.train_acc - self.test_acc

    @property
    def epochs_trained(self) -> int:
        """How many epochs ran (fewer than ``num_epochs`` when early stopping ended it)."""
        return len(self.history.epoch)

    def to_dict(self) -> dict:
        """Plain data for JSON (nested dictionaries and lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunResult:
        """The result that :meth:`to_dict` gave ``data``: ``from_dict(r.to_dict()) == r``."""
        return cls(
            **{
                **data,
                "setting": Setting(**data["setting"]),
                "history": History(**data["history"]),
                "hidden": tuple(data["hidden"]),
            }
        )


def _check_results(results, *, allow_empty: bool = True) -> None:
    if isinstance(results, RunResult) or not isinstance(results, list | tuple):
        raise TypeError(f"results must be a list of RunResult, got {type(results).__name__}")
    for i, r in enumerate(results):
        check_instance(r, RunResult, f"results[{i}]")
    if not results and not allow_empty:
        raise ValueError("results must hold at least one RunResult")


def summarize(results: list[RunResult]) -> list[dict]:
    """Mean and standard deviation over seeds of each setting's final metrics, in order:
    one row (a dict, ready for CSV) per setting.

    An empty ``results`` gives an empty list.
    """
    _check_results(results)
    rows = []
    for name in dict.fromkeys(r.name for r in results):
        rs = [r for r in results if r.name == name]
        row = {"setting": name, "seeds": len(rs)}
        for key in ("train_acc", "test_acc", "gap"):
            values = [getattr(r, key) for r in rs]
            row[key] = statistics.fmean(values)
            row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def mean_curves(results: list[RunResult]) -> dict[str, History]:
    """Per-epoch metrics of each setting, averaged over its seeds, as
    :class:`~reglab.train.History` objects.

    Raises:
        ValueError: the seeds of a setting trained for different numbers of epochs (runs
            cut short by early stopping cannot be averaged epoch by epoch).
    """
    _check_results(results, allow_empty=False)
    curves = {}
    for name in dict.fromkeys(r.name for r in results):
        runs = [asdict(r.history) for r in results if r.name == name]
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


def save_results(results: list[RunResult], folder: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` (every run, every epoch) and ``summary.csv`` (one row per
    setting, :func:`summarize`) into ``folder``.

    Returns:
        (json_path, csv_path).

    Raises:
        ValueError: ``results`` is empty (there would be no summary row to write).
    """
    _check_results(results)
    if not results:
        raise ValueError("results must hold at least one run, got an empty list")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = folder / "results.json", folder / "summary.csv"
    json_path.write_text(json.dumps([r.to_dict() for r in results], indent=1))
    rows = summarize(results)
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return json_path, csv_path


def load_results(path: str | Path) -> list[RunResult]:
    """Read the results that :func:`save_results` wrote (its ``results.json`` or its
    folder): ``load_results(save_results(results, folder)[0]) == results``."""
    check_path(path)
    path = Path(path)
    data = json.loads((path / "results.json" if path.is_dir() else path).read_text())
    return [RunResult.from_dict(d) for d in data]
