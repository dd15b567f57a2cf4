r"""Batch norm across processes: a launcher for a small ``torch.distributed`` group on one
machine, and synchronized batch norm from scratch.

In data-parallel training every process (replica) holds a copy of the model and a slice
of the global batch. A plain ``nn.BatchNorm2d`` in a replica normalizes with the statistics
of *its own slice*, so the effective batch for the statistics is the per-device batch.
Synchronized batch norm gathers three per-channel quantities from every replica (the count
:math:`n_r`, the mean :math:`\mathrm{E}_r` and the biased variance :math:`\mathrm{V}_r` of
its slice) and combines them (Chan et al.'s parallel formula, as ``nn.SyncBatchNorm`` does),
so every replica normalizes with the statistics of the global batch:

.. math::
    n = \sum_r n_r, \qquad \mathrm{E} = \frac{1}{n}\sum_r n_r \mathrm{E}_r, \qquad
    \mathrm{V} = \frac{1}{n}\sum_r n_r \left(\mathrm{V}_r + (\mathrm{E}_r - \mathrm{E})^2\right).

Summing :math:`x` and :math:`x^2` over the replicas instead (one all-reduce) and taking
:math:`\mathrm{E}[x^2] - \mathrm{E}^2` subtracts two numbers of size :math:`\mathrm{E}^2`
to get one of size :math:`\mathrm{V}`: when a channel's mean is much larger than its
spread, the digits cancel (in float32 the variance can even come out negative).

The backward pass needs two more global sums, :math:`\sum g` and :math:`\sum g\,\hat{x}`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from reglab._checks import check_positive_int
from reglab.nn._arguments import check_tensors
from reglab.nn.batchnorm import batch_norm

__all__ = ["SyncBatchNormFunction", "batch_norm_replica", "launch", "sync_batch_norm"]


def _worker(rank, fn, world_size, backend, folder, args):
    torch.set_num_threads(1)  # the replicas share the machine's cores
    dist.init_process_group(
        backend, init_method=f"file://{folder}/store", rank=rank, world_size=world_size
    )
    try:
        result = fn(rank, world_size, *args)
        torch.save(result, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def launch(fn: Callable, *args, world_size: int = 2, backend: str = "gloo") -> list:
    r"""Run ``fn(rank, world_size, *args)`` in ``world_size`` new processes that form a
    process group, and return what each returned, in rank order.

    The processes are started with ``torch.multiprocessing`` (the ``spawn`` method) on this
    machine and rendezvous through a file in a temporary folder, so no network port is
    needed. ``fn`` must be importable (defined at the top level of a module, not in a
    notebook), and its arguments and results are pickled (tensors, numbers, strings, and
    lists or dicts of them).

    Args:
        fn (callable): ``fn(rank, world_size, *args)``, run once in each process.
        *args: passed to every process.
        world_size (int): number of processes. Default: ``2``.
        backend (str): ``"gloo"`` (CPU, and CUDA tensors too) or ``"nccl"``. Default:
            ``"gloo"``.

    Returns:
        list: ``[result of rank 0, result of rank 1, ...]``.

    Example::

        >>> results = launch(batch_norm_replica, [X], world_size=2)
    """
    if not callable(fn):
        raise TypeError(
            f"fn must be a callable fn(rank, world_size, *args), got {type(fn).__name__}"
        )
    check_positive_int(world_size, "world_size")
    with tempfile.TemporaryDirectory(prefix="reglab-dist-") as folder:
        mp.start_processes(
            _worker,
            args=(fn, world_size, backend, folder, args),
            nprocs=world_size,
            join=True,
            start_method="spawn",
        )
        return [torch.load(Path(folder) / f"rank{r}.pt") for r in range(world_size)]


class SyncBatchNormFunction(torch.autograd.Function):
    r"""Batch norm in training mode with statistics combined over a process group.

    ``apply(input, weight, bias, running_mean, running_var, momentum, eps, process_group)``;
    ``weight``, ``bias`` and the running buffers may be ``None``. Every process of the group
    must call it (the gather and the sums are collective), also one whose slice of the
    batch is empty. The gradients of ``weight`` and ``bias`` are this replica's share, as in
    ``nn.SyncBatchNorm``: data-parallel training sums (averages) them over the replicas.
    """

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, momentum, eps, group):
        """Normalize with the global statistics; update the running buffers in place."""
        C = input.shape[1]
        dims = [0, *range(2, input.dim())]  # every dimension except the channels
        shape = [1, C] + [1] * (input.dim() - 2)  # broadcasts (C,) over (N, C, *)
        x = input.to(torch.promote_types(input.dtype, torch.float32))  # stats in >= float32
        count = torch.full((1,), input.numel() // max(C, 1), dtype=x.dtype, device=x.device)
        if input.numel() > 0:  # this slice's E_r and V_r, in two passes (no cancellation)
            var_r, mean_r = torch.var_mean(x, dims, correction=0)
        else:  # an empty slice still takes part in the collective, with n_r = 0
            var_r = mean_r = torch.zeros(C, dtype=x.dtype, device=x.device)
        local = torch.cat([count, mean_r, var_r])  # (1 + 2C,): n_r, E_r, V_r
        gathered = [torch.empty_like(local) for _ in range(dist.get_world_size(group))]
        dist.all_gather(gathered, local, group=group)  # counts differ: gather, not sum
        stats = torch.stack(gathered)  # (R, 1 + 2C)
        n_r, mean_r, var_r = stats[:, :1], stats[:, 1 : C + 1], stats[:, C + 1 :]
        n = n_r.sum()  # n = sum_r n_r
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got {int(n)} in total"
            )
        mean = (n_r * mean_r).sum(0) / n  # E = (1/n) sum_r n_r E_r
        spread = var_r + (mean_r - mean) ** 2  # V_r + (E_r - E)^2, no cancellation
        var = (n_r * spread).sum(0) / n  # V = (1/n) sum_r n_r (V_r + (E_r - E)^2)
        invstd = torch.rsqrt(var + eps)  # 1 / sqrt(V + eps)
        with torch.no_grad():
            if running_mean is not None:  # mu_bar <- (1 - m) mu_bar + m E
                running_mean.mul_(1 - momentum).add_(mean.to(running_mean), alpha=momentum)
            if running_var is not None:  # sigma2_bar <- (1 - m) sigma2_bar + m n/(n-1) V
                unbiased = var * n / (n - 1)
                running_var.mul_(1 - momentum).add_(unbiased.to(running_var), alpha=momentum)
        x_hat = (x - mean.view(shape)) * invstd.view(shape)
        ctx.save_for_backward(x_hat, weight, invstd)
        ctx.n, ctx.group, ctx.dims, ctx.shape = n, group, dims, shape
        y = x_hat if weight is None else x_hat * weight.view(shape)  # gamma x_hat
        y = y if bias is None else y + bias.view(shape)  # + beta
        return y.to(input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        """Gradients of the input (with two global sums), ``weight`` and ``bias``."""
        x_hat, weight, invstd = ctx.saved_tensors
        dims, shape, n = ctx.dims, ctx.shape, ctx.n
        g = grad_output.to(x_hat.dtype)
        sum_g = g.sum(dims)  # this replica's sum of dL/dy: also dL/dbeta
        sum_g_xhat = (g * x_hat).sum(dims)  # sum of dL/dy * x_hat: also dL/dgamma
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            sums = torch.cat([sum_g, sum_g_xhat])
            dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=ctx.group)  # over all replicas
            total_g, total_g_xhat = sums.chunk(2)
            scale = invstd if weight is None else invstd * weight.to(invstd)
            # dL/dx = gamma / sqrt(V + eps) * (g - (1/n) sum g - x_hat (1/n) sum g x_hat)
            grad_input = scale.view(shape) * (
                g - total_g.view(shape) / n - x_hat * total_g_xhat.view(shape) / n
            )
            grad_input = grad_input.to(grad_output.dtype)
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = sum_g_xhat.to(weight.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = sum_g.to(grad_output.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


def sync_batch_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    process_group: dist.ProcessGroup | None = None,
) -> torch.Tensor:
    r"""Synchronized batch norm: :func:`reglab.nn.functional.batch_norm` whose training-mode
    statistics are those of the batch of every process in ``process_group``.

    .. math::
        y = \frac{x - \mathrm{E}}{\sqrt{\mathrm{V} + \epsilon}}\,\gamma + \beta, \qquad
        \mathrm{E}, \mathrm{V} \text{ over the union of the replicas' batches}

    The running buffers are updated with the global mean and the global *unbiased*
    variance (:math:`n/(n-1)`, :math:`n` the global count), so they stay identical in every
    replica. Outside a process group, with a group of one, or in evaluation mode, this is
    plain batch norm. Each replica computes the mean and the variance of its slice in at
    least float32, and the replicas' counts, means and variances are combined as in
    ``nn.SyncBatchNorm`` (not as :math:`\mathrm{E}[x^2] - \mathrm{E}^2`, which loses
    digits when a channel's mean is much larger than its spread).

    Args:
        input (Tensor): this replica's batch, :math:`(N_r, C, *)`.
        running_mean (Tensor, optional): :math:`(C,)`, updated in place when training.
        running_var (Tensor, optional): :math:`(C,)`, updated in place when training.
        weight (Tensor, optional): :math:`\gamma`. Default: ``None`` (1).
        bias (Tensor, optional): :math:`\beta`. Default: ``None`` (0).
        training (bool): use (global) batch statistics. Default: ``False``.
        momentum (float): weight of the newest batch in the buffers. Default: ``0.1``.
        eps (float): added to the variance. Default: ``1e-5``.
        process_group (torch.distributed.ProcessGroup, optional): the replicas to
            synchronize; used as given even where no default group is initialized.
            Default: ``None`` (the whole world).

    Shape:
        - Input: :math:`(N_r, C, *)`; Output: the same shape.

    Example::

        >>> # in each process of a group, on its slice X_r of the batch
        >>> y = sync_batch_norm(X_r, running_mean, running_var, weight, bias, training=True)

    Reference: the synchronized batch norm of Peng et al., *MegDet: A Large Mini-Batch
    Object Detector*, CVPR 2018; ``torch.nn.SyncBatchNorm``.
    """
    check_tensors("sync_batch_norm", input, running_mean=running_mean, running_var=running_var,
                  weight=weight, bias=bias)  # fmt: skip
    # an explicit group needs no default one (threads of one process may each hold one)
    synced = (
        training and dist.is_available() and (process_group is not None or dist.is_initialized())
    )
    if not synced or dist.get_world_size(process_group) == 1:
        return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if input.dim() < 2:
        raise ValueError(f"expected an input of shape (N, C, *); got {tuple(input.shape)}")
    return SyncBatchNormFunction.apply(
        input, weight, bias, running_mean, running_var, momentum, eps, process_group
    )


def batch_norm_replica(
    rank: int,
    world_size: int,
    batches: list[torch.Tensor],
    grad_outputs: list[torch.Tensor] | None = None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    momentum: float = 0.1,
    eps: float = 1e-5,
    device: str = "cpu",
    process_group: dist.ProcessGroup | None = None,
) -> dict:
    r"""One replica of a data-parallel step, run by :func:`launch` in each process.

    For every global batch in ``batches``, this replica takes its slice
    (``torch.tensor_split`` along the batch dimension, so slices may differ in size) and
    normalizes it in training mode three ways, each with its own running buffers: ``plain``
    per-replica batch norm, ``sync`` (:func:`sync_batch_norm`) and ``module``
    (``nn.SyncBatchNorm``). Each is backpropagated with this replica's slice of
    ``grad_outputs`` (the gradient of the loss with respect to the output).

    Args:
        rank (int): this process's rank, passed by :func:`launch`.
        world_size (int): the number of processes, passed by :func:`launch`.
        batches (list[Tensor]): the global batches :math:`(N, C, *)`, one per step.
        grad_outputs (list[Tensor], optional): :math:`\partial L / \partial y` for each
            global batch. Default: ``None`` (all ones).
        weight (Tensor, optional): :math:`\gamma`, :math:`(C,)`; ``None`` (with ``bias``)
            for a layer without affine parameters. Default: ``None``.
        bias (Tensor, optional): :math:`\beta`, :math:`(C,)`. Default: ``None``.
        momentum (float): as in ``nn.BatchNorm2d``. Default: ``0.1``.
        eps (float): as in ``nn.BatchNorm2d``. Default: ``1e-5``.
        device (str): where the replica computes. Default: ``"cpu"``.
        process_group (torch.distributed.ProcessGroup, optional): the group of the
            replicas, for :func:`sync_batch_norm`. Default: ``None`` (the whole world).

    Returns:
        dict: ``"slice_mean"``, the per-channel mean of the slice, per step; for ``"plain"``,
        ``"sync"`` and (when ``nn.SyncBatchNorm`` accepts the device) ``"module"``: lists
        per step of ``output``, ``input_grad``, ``weight_grad``, ``bias_grad`` (this
        replica's share), ``running_mean`` and ``running_var``; and ``"module_error"``, the
        message ``nn.SyncBatchNorm`` raised (``None`` if it raised nothing).
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be an integer >= 1, got {world_size!r}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank must be an integer in [0, {world_size}), got {rank!r}")
    if not batches:
        raise ValueError("batches must hold at least one batch")
    C = batches[0].shape[1]
    kw = dict(dtype=batches[0].dtype, device=device)
    affine = weight is not None
    if affine:
        weight, bias = weight.to(device), bias.to(device)
    module = nn.SyncBatchNorm(C, eps=eps, momentum=momentum, affine=affine).to(**kw)
    if affine:
        with torch.no_grad():
            module.weight.copy_(weight)
            module.bias.copy_(bias)

    def plain(X, buffers, w, b):
        return F.batch_norm(X, *buffers, w, b, True, momentum, eps)

    def synced(X, buffers, w, b):
        return sync_batch_norm(X, *buffers, w, b, True, momentum, eps, process_group)

    layers = {"plain": plain, "sync": synced}
    buffers = {name: (torch.zeros(C, **kw), torch.ones(C, **kw)) for name in layers}
    result: dict = {"slice_mean": [], "module_error": None, "module": {}}
    result.update({name: {} for name in layers})
    for step, X in enumerate(batches):
        X_r = X.tensor_split(world_size)[rank].to(device)  # this replica's slice
        g_r = None if grad_outputs is None else grad_outputs[step].tensor_split(world_size)[rank]
        result["slice_mean"].append(X_r.mean(dim=[0, *range(2, X.dim())]).cpu())
        runs = dict(layers)
        if result["module_error"] is None:
            runs["module"] = lambda X, buffers, w, b: module(X)  # its own parameters
        for name, layer in runs.items():
            X_leaf = X_r.clone().requires_grad_()
            w, b = (
                (weight.clone().requires_grad_(), bias.clone().requires_grad_())
                if affine
                else (None, None)
            )
            try:
                y = layer(X_leaf, buffers.get(name), w, b)
            except ValueError as err:
                if name != "module":
                    raise
                result["module_error"] = str(err)  # nn.SyncBatchNorm refuses CPU tensors
                continue
            y.backward(torch.ones_like(y) if g_r is None else g_r.to(device))
            if name == "module":
                w, b = module.weight, module.bias
                buffer_values = (module.running_mean, module.running_var)
            else:
                buffer_values = buffers[name]
            record = {
                "output": y.detach(),
                "input_grad": X_leaf.grad,
                "running_mean": buffer_values[0].clone(),
                "running_var": buffer_values[1].clone(),
            }
            if affine:
                record.update(weight_grad=w.grad.clone(), bias_grad=b.grad.clone())
            module.zero_grad()
            for key, value in record.items():
                result[name].setdefault(key, []).append(value.cpu())
    return result
