r"""Weight averaging from scratch: SWA, EMA and batch-norm statistics for an averaged model.

Stochastic weight averaging (SWA, Izmailov et al., 2018) keeps the equal-weight mean of the
weights visited by SGD; an exponential moving average (EMA) weights recent iterates more.
:class:`WeightAverage` implements both with the update rules of
``torch.optim.swa_utils.AveragedModel`` (default averaging for SWA,
``get_ema_multi_avg_fn(decay)`` for EMA), so the two agree bit for bit on the CPU.

An averaged network has weights no single training step produced, so the running
statistics of its batch-norm layers belong to none of them: :func:`recompute_bn_stats`
recomputes them with one pass over the data, as ``torch.optim.swa_utils.update_bn`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from reglab._checks import check_probability

__all__ = ["WeightAverage", "recompute_bn_stats"]


class WeightAverage(nn.Module):
    r"""Running average of a model's weights: equal weights (SWA) or exponential (EMA).

    The first :meth:`update_parameters` copies the model; update :math:`n \ge 1` then does

    .. math::
        \bar\theta_{n+1} = \bar\theta_n + \frac{\theta - \bar\theta_n}{n + 1}
        \quad\text{(SWA)}, \qquad
        \bar\theta_{n+1} = \beta\,\bar\theta_n + (1 - \beta)\,\theta \quad\text{(EMA)}.

    Args:
        model (nn.Module): the network whose weights are averaged; it is deep-copied.
        decay (float, optional): :math:`\beta \in [0, 1]` for an EMA; ``None`` (default)
            averages with equal weights (SWA).
        use_buffers (bool): average the buffers too (batch-norm running statistics);
            otherwise copy them from ``model`` at every update. Default: ``False``.

    Example::

        >>> swa = WeightAverage(model)
        >>> for epoch in range(num_epochs):
        ...     train_one_epoch(model, ...)
        ...     swa.update_parameters(model)
        >>> y_hat = swa(X)

    Reference: Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
    Generalization", UAI 2018.
    """

    def __init__(
        self, model: nn.Module, *, decay: float | None = None, use_buffers: bool = False
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if decay is not None:
            check_probability(decay, "decay")
        self.module = copy.deepcopy(model)
        self.decay = decay
        self.use_buffers = use_buffers
        self.n_averaged = 0

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _pairs(self, model: nn.Module, what: str):
        """``(average's tensor, model's tensor)`` pairs of ``what`` ("parameters" or
        "buffers"); a model whose tensors do not match one to one is refused."""
        mine, theirs = list(getattr(self.module, what)()), list(getattr(model, what)())
        shapes = [a.shape for a in mine], [b.shape for b in theirs]
        if shapes[0] != shapes[1]:
            raise ValueError(
                f"model must have the averaged model's {what}: {len(mine)} tensors of "
                f"shapes {shapes[0]}, got {len(theirs)} of shapes {shapes[1]}"
            )
        return list(zip(mine, theirs, strict=True))

    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        # a with-block, not a decorator: mutmut leaves decorated functions unmutated
        with torch.no_grad():
            params, buffers = self._pairs(model, "parameters"), self._pairs(model, "buffers")
            for avg, cur in params + buffers if self.use_buffers else params:
                cur = cur.detach().to(avg.device)
                if self.n_averaged == 0:
                    avg.copy_(cur)  # the average of one model is that model
                elif self.decay is None:
                    fused = avg.device.type != "cpu"  # torch's path on accelerators
                    avg.copy_(_swa_step(avg, cur, self.n_averaged, fused=fused))
                elif avg.is_floating_point() or avg.is_complex():
                    avg.lerp_(cur, 1 - self.decay)  # b + (1 - beta)(theta - b)
                else:  # integer buffers (num_batches_tracked), as torch
                    avg.copy_(avg * self.decay + cur * (1 - self.decay))
            if not self.use_buffers:  # buffers follow the model
                for mine, theirs in buffers:
                    mine.copy_(theirs.detach().to(mine.device))
        self.n_averaged += 1


def _swa_step(avg: torch.Tensor, cur: torch.Tensor, n: int, fused: bool) -> torch.Tensor:
    if fused and (avg.is_floating_point() or avg.is_complex()):
        # AveragedModel's fused path (accelerators): lerp with weight 1 / (n + 1)
        return torch.lerp(avg, cur, 1 / (n + 1))
    n_plus_1 = torch.tensor(n + 1, device=avg.device)  # a long tensor, as AveragedModel's
    return avg + (cur - avg) / n_plus_1  # b_{n+1} = b_n + (theta - b_n) / (n + 1)


def recompute_bn_stats(batches: Iterable, model: nn.Module) -> None:
    r"""Set every batch-norm layer's running statistics to their mean over ``batches``.

    One forward pass in training mode; for each layer, with :math:`\mu_k, \sigma_k^2` the
    mean and *unbiased* variance of its input on batch :math:`k` of :math:`K`,

    .. math::
        \text{running\_mean} = \frac1K \sum_k \mu_k, \qquad
        \text{running\_var} = \frac1K \sum_k \sigma_k^2,

    the cumulative average that ``momentum=None`` gives, and what
    ``torch.optim.swa_utils.update_bn`` computes. Modes and momenta are left as found.

    Args:
        batches (iterable): tensors, or tuples whose first element is the input.
        model (nn.Module): changed in place.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    # a with-block, not a decorator: mutmut leaves decorated functions unmutated
    with torch.no_grad():
        layers = [m for m in model.modules() if isinstance(m, _BatchNorm)]
        if not layers:
            return
        sums: dict[nn.Module, list] = {m: [0.0, 0.0, 0] for m in layers}

        def record(module, inputs):
            x = inputs[0]
            dims = [d for d in range(x.dim()) if d != 1]  # all but the channel axis
            sums[module][0] = sums[module][0] + x.mean(dims)  # mu_k
            sums[module][1] = sums[module][1] + x.var(dims, correction=1)  # sigma_k^2, unbiased
            sums[module][2] += 1

        hooks = [m.register_forward_pre_hook(record) for m in layers]
        was_training = model.training
        model.train()
        try:
            for X in batches:
                model(X[0] if isinstance(X, (list, tuple)) else X)
        finally:
            for h in hooks:
                h.remove()
            model.train(was_training)
        for m in layers:
            mean_sum, var_sum, k = sums[m]
            if k == 0:
                raise ValueError("batches is empty: need at least one batch")
            m.running_mean.copy_(mean_sum / k)  # (1/K) sum_k mu_k
            m.running_var.copy_(var_sum / k)  # (1/K) sum_k sigma_k^2
            m.num_batches_tracked.fill_(k)
