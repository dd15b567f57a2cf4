r"""Choosing regularizer strengths on a validation split, as the "Putting it together"
study does.

Each regularizer (a *family*: weight decay, dropout, ...) has a few candidate strengths.
Every candidate trains with the same seeds; :func:`choose` keeps, per family, the candidate
with the best mean validation metric over the seeds, and :func:`combine` merges the chosen
candidates into one setting ("all"). The test set plays no part in any of it: the results
pair up by seed (:func:`by_seed`) for ``reglab.stats.paired_difference``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import fields, replace

from reglab.studies.together import Setting

__all__ = ["CANDIDATES", "by_seed", "choose", "combine", "family_of"]

#: Each family of the book's study mapped to its candidate settings. A family with one
#: candidate has nothing to choose (batch norm and augmentation are on or off).
CANDIDATES: dict[str, list[Setting]] = {
    "none": [Setting("none")],
    "weight decay": [Setting(f"weight decay {v:g}", weight_decay=v) for v in (0.5, 2.0)],
    "dropout": [Setting(f"dropout {v:g}", p=v) for v in (0.5, 0.75)],
    "batch norm": [Setting("batch norm", batch_norm=True)],
    "augmentation": [Setting("augmentation", augment=True)],
}

_LOWER_IS_BETTER = {"val_loss": True, "val_acc": False}


def family_of(name: str, candidates: dict[str, list[Setting]] = CANDIDATES) -> str:
    """The family a candidate setting's name belongs to."""
    for family, settings in candidates.items():
        if any(s.name == name for s in settings):
            return family
    raise KeyError(f"{name!r} is not a candidate of any family in {list(candidates)}")


def by_seed(results: Iterable[dict], name: str, key: str) -> list[float]:
    """One value per seed, ordered by seed, of a result field for the setting ``name``.

    Two settings' lists pair up element by element when both ran the same seeds.

    Raises:
        ValueError: no result for ``name``, or a seed occurs twice.
    """
    rows = sorted((r["seed"], r[key]) for r in results if r["setting"]["name"] == name)
    if not rows:
        raise ValueError(f"no results for setting {name!r}")
    seeds = [seed for seed, _ in rows]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"setting {name!r} has a seed more than once: {seeds}")
    return [value for _, value in rows]


def choose(
    results: Iterable[dict],
    candidates: dict[str, list[Setting]] = CANDIDATES,
    *,
    metric: str = "val_loss",
) -> dict[str, Setting]:
    r"""For each family, the candidate with the best mean ``metric`` over its seeds.

    .. math::
        s^\star_f = \operatorname*{arg\,min}_{s \in \mathcal{C}_f}
        \frac{1}{|S|} \sum_{k \in S} \mathrm{metric}(s, k)

    (arg max for an accuracy). Ties go to the first candidate listed.

    Args:
        results (iterable of dict): :func:`reglab.studies.together.run` results that hold
            ``metric`` (train with ``val_data``).
        candidates (dict): family -> candidate settings. Default: ``CANDIDATES``.
        metric (str): ``"val_loss"`` (default, lower is better) or ``"val_acc"``.

    Returns:
        dict: family -> the chosen :class:`~reglab.studies.together.Setting`.

    Raises:
        ValueError: an unknown ``metric``, or a candidate without results.
    """
    if metric not in _LOWER_IS_BETTER:
        raise ValueError(f"metric must be one of {sorted(_LOWER_IS_BETTER)}, got {metric!r}")
    results = list(results)
    sign = 1 if _LOWER_IS_BETTER[metric] else -1
    chosen = {}
    for family, settings in candidates.items():
        means = [statistics.fmean(by_seed(results, s.name, metric)) for s in settings]
        best = min(range(len(settings)), key=lambda i: sign * means[i])
        chosen[family] = settings[best]
    return chosen


def combine(settings: Iterable[Setting], name: str = "all") -> Setting:
    """One setting with every regularizer of ``settings`` switched on, at their strengths.

    Raises:
        ValueError: two settings give the same regularizer different strengths.
    """
    combined = Setting(name)
    for setting in settings:
        for field in fields(Setting):
            if field.name == "name":
                continue
            value, current = getattr(setting, field.name), getattr(combined, field.name)
            if value and current and value != current:
                raise ValueError(f"{field.name} is {current} in one setting and {value} in another")
            if value:
                combined = replace(combined, **{field.name: value})
    return combined
