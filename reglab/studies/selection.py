r"""Choosing regularizer strengths on a validation split, as the "Putting it together"
study does.

Each regularizer (a *family*: weight decay, dropout, ...) has a few candidate strengths.
Every candidate trains with the same seeds; :func:`choose` keeps, per family, the candidate
with the best mean validation metric over the seeds. :func:`combine` merges settings into
one ("all"), and :func:`joint_grid` lists every combination of the families' candidates,
so that the strengths of "all" are chosen *jointly*, among settings that have every
regularizer on, rather than one at a time. The test set plays no part in any of it: the
results pair up by seed (:func:`reglab.stats.by_seed`) for
``reglab.stats.paired_difference``.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace

from reglab.stats.seeds import by_seed
from reglab.studies.regularizers import Setting

__all__ = ["choose", "combine", "family_of", "joint_grid"]

_LOWER_IS_BETTER = {"val_loss": True, "val_acc": False}


def family_of(name: str, candidates: Mapping[str, Sequence[Setting]]) -> str:
    """The family (a key of ``candidates``) that the candidate setting ``name`` belongs to.

    Raises:
        KeyError: no family has a candidate of that name.
    """
    for family, settings in candidates.items():
        if any(s.name == name for s in settings):
            return family
    raise KeyError(f"name {name!r} is not a candidate of any family in {list(candidates)}")


def choose(
    results: Iterable,
    candidates: Mapping[str, Sequence[Setting]],
    *,
    metric: str = "val_loss",
) -> dict[str, Setting]:
    r"""For each family, the candidate with the best mean ``metric`` over its seeds.

    .. math::
        s^\star_f = \operatorname*{arg\,min}_{s \in \mathcal{C}_f}
        \frac{1}{|S|} \sum_{k \in S} \mathrm{metric}(s, k)

    (arg max for an accuracy). Ties go to the first candidate listed.

    Args:
        results (iterable of RunResult): :func:`reglab.studies.together.run_setting`
            results that hold ``metric`` (trained with ``val_data``).
        candidates (dict): family -> candidate settings, e.g.
            ``StudyConfig().candidates`` (:class:`reglab.studies.together.StudyConfig`).
        metric (str): ``"val_loss"`` (default, lower is better) or ``"val_acc"``.

    Returns:
        dict: family -> the chosen :class:`~reglab.studies.regularizers.Setting`.

    Raises:
        ValueError: an unknown ``metric``, or a candidate without results.
    """
    if metric not in _LOWER_IS_BETTER:
        raise ValueError(f"metric must be one of {sorted(_LOWER_IS_BETTER)}, got {metric!r}")
    results = list(results)
    sign = 1 if _LOWER_IS_BETTER[metric] else -1
    chosen = {}
    for family, settings in candidates.items():
        means = [statistics.fmean(by_seed(results, metric, name=s.name)) for s in settings]
        best = min(range(len(settings)), key=lambda i: sign * means[i])
        chosen[family] = settings[best]
    return chosen


def combine(settings: Iterable[Setting], name: str = "all") -> Setting:
    """One setting with every regularizer of ``settings`` switched on, at their strengths.

    Raises:
        ValueError: ``settings`` is empty, or two settings give the same regularizer
            different strengths.
        TypeError: an element of ``settings`` is not a
            :class:`~reglab.studies.regularizers.Setting`.
    """
    settings = list(settings)
    if not settings:
        raise ValueError("settings must hold at least one Setting to combine")
    for i, setting in enumerate(settings):
        if not isinstance(setting, Setting):
            raise TypeError(f"settings[{i}] must be a Setting, got {type(setting).__name__}")
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


def joint_grid(
    candidates: Mapping[str, Sequence[Setting]], name: str = "all"
) -> tuple[Setting, ...]:
    r"""Every combination of one candidate per family, each merged into one setting by
    :func:`combine`: the grid on which the strengths of "all" are chosen jointly.

    .. math::
        \mathcal{G} = \mathcal{C}_{f_1} \times \dots \times \mathcal{C}_{f_k}

    A family with one candidate (on or off, e.g. batch norm) is on in every point. Each
    point is named ``name`` followed by the candidates of the families that have several,
    e.g. ``"all (weight decay 0.5, dropout 0.1)"``.

    Args:
        candidates (dict): family -> candidate settings.
        name (str): the name of the combination. Default: ``"all"``.

    Returns:
        tuple[Setting, ...]: the grid, the last family varying fastest.

    Raises:
        ValueError: ``candidates`` is empty or a family has no candidate.
    """
    families = [list(settings) for settings in candidates.values()]
    if not families or any(not settings for settings in families):
        raise ValueError("candidates must give at least one family, each at least one Setting")
    grid = []
    for point in itertools.product(*families):
        varied = [s.name for s, settings in zip(point, families, strict=True) if len(settings) > 1]
        label = f"{name} ({', '.join(varied)})" if varied else name
        grid.append(combine(point, name=label))
    return tuple(grid)
