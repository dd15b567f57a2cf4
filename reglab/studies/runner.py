r"""Run a study's grid of (point, seed) runs: in one process, or shared out under torchrun.

A study is a list of grid points (JSON settings), a list of seeds and a function
``run_one(point, seed, data, device) -> dict`` of metrics that the seed makes
deterministic. :func:`run_grid` runs every pair and writes each finished run to a JSON Lines
file (:mod:`reglab.studies.records`) as it ends. Started by ``torchrun``, every process
(rank) takes a fixed share of the runs (:func:`shard`), so the same command runs on one
CPU, on the K GPUs of a node, or on several nodes:

.. code-block:: bash

    python -m reglab.studies.NAME --seeds 20 --output runs/study.jsonl
    torchrun --nproc-per-node=4 -m reglab.studies.NAME --seeds 20 --output runs/study.jsonl

Files, for ``--output runs/study.jsonl``: each rank appends to its own part file
``runs/study.jsonl.part-<launch>-rank<r>`` (flush and fsync after every run); at the end rank
0 merges the runs, sorted by :func:`~reglab.studies.records.run_key`, into
``runs/study.jsonl`` at once (temporary file, then ``os.replace``) and the part files
are removed. Rerunning the same command skips every run found in the results file or in a
part file left by a killed launch, and redoes the others. A line that is not a complete
record stops the study, before any run, with an error naming the file and the line;
only the cut last line of a part file (a process killed while writing) is dropped with a
warning and its run redone. One launch at a time may write to an output; resuming after
a multi-node crash finds the part files of other nodes only on a shared file system (the
others' runs are then redone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

import reglab
from reglab._checks import check_positive_int
from reglab.studies.records import append_record, encode, read_records, run_key, write_records
from reglab.train.device import resolve_device

__all__ = ["rank_device", "run_grid", "shard", "study_parser"]


def shard(keys: Iterable[Hashable], rank: int, world_size: int) -> list:
    r"""The share of ``keys`` that process ``rank`` of ``world_size`` runs: round robin
    over the sorted keys, :math:`\{k_i : i \equiv \text{rank} \pmod{\text{world\_size}}\}`.

    Every key goes to exactly one rank, whatever the order ``keys`` come in.

    Example::

        >>> shard(["c", "a", "b", "d"], rank=1, world_size=2)
        ['b', 'd']
    """
    check_positive_int(world_size, "world_size")
    if not (type(rank) is int and 0 <= rank < world_size):
        raise ValueError(f"rank must be an integer in [0, {world_size - 1}], got {rank!r}")
    return sorted(keys)[rank::world_size]


def rank_device(device: torch.device | str | None, local_rank: int = 0) -> torch.device:
    """The device a process runs on: ``device`` (default: the GPU when there is one, see
    :func:`reglab.train.default_device`); a ``cuda`` device without an index becomes the
    ``local_rank``-th GPU of the node (modulo the number of GPUs)."""
    if isinstance(local_rank, bool) or not isinstance(local_rank, int) or local_rank < 0:
        raise ValueError(f"local_rank must be an integer >= 0, got {local_rank!r}")
    device = resolve_device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def _environment() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's variables; (0, 1, 0) without them."""
    values = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        text = os.environ.get(name, str(default))
        try:
            values[name] = int(text)
        except ValueError:
            raise ValueError(
                f"the environment variable {name} must be an integer, got {text!r}"
            ) from None
    return values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"]


def _broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (a no-op in a single process)."""
    if not dist.is_initialized():
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def _plan(output: Path, keys: Iterable, config: Mapping) -> dict:
    """Rank 0, before any run: the runs already in ``output`` or its part files, and the
    keys still to run (or ``{"error": message}`` for a file that cannot be read)."""
    done: dict[tuple, dict] = {}
    origin: dict[tuple, str] = {}
    parts = sorted(output.parent.glob(output.name + ".part-*"))
    try:
        for path in [output] if output.exists() else []:
            _collect(path, read_records(path, config=config), done, origin)
        for path in parts:
            _collect(path, read_records(path, partial_tail=True, config=config), done, origin)
    except ValueError as error:
        return {"error": str(error)}
    launch = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
    return {"remaining": sorted(set(keys) - done.keys()), "launch": launch, "done": done,
            "parts": parts}  # fmt: skip


def _collect(path: Path, numbered: list, done: dict, origin: dict) -> None:
    for number, record in numbered:
        key = run_key(record["point"], record["seed"])
        where = f"{path}, line {number}"
        if key in done and encode(done[key]["metrics"]) != encode(record["metrics"]):
            raise ValueError(
                f"{origin[key]} and {where} hold different metrics for the same run "
                f"(point {key[0]}, seed {key[1]}): is run_one deterministic given the seed?"
            )
        done.setdefault(key, record)
        origin.setdefault(key, where)


def _check_metrics(metrics: Any, key: tuple) -> None:
    where = f"run_one(point={key[0]}, seed={key[1]})"
    if not isinstance(metrics, Mapping):
        raise TypeError(f"{where} must return a dict of metrics, got {type(metrics).__name__}")
    try:
        encode(metrics)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{where} returned metrics that are not JSON ({error})") from None


def run_grid(
    points: Sequence,
    seeds: Iterable[int],
    run_one: Callable[[Any, int, Any, torch.device], Mapping],
    data: Any = None,
    *,
    output: str | Path,
    device: torch.device | str | None = None,
    config: Mapping | None = None,
    timeout: float = 24 * 3600.0,
    verbose: bool = True,
) -> list[dict]:
    r"""Run ``run_one(point, seed, data, device)`` for every point and seed; write each run
    to ``output`` (JSON Lines) as it ends; skip the runs ``output`` already holds.

    Under ``torchrun`` (the variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) the function
    joins the process group (``gloo`` on the CPU, ``nccl`` on GPUs) unless one is already
    initialized, and each rank runs its :func:`shard` of the runs still to do, on its
    :func:`rank_device`. A run's metrics depend on its point and seed, never on the rank
    that ran it, so the results file is the same for any number of processes (but for the
    :data:`~reglab.studies.records.PROVENANCE_FIELDS`).

    Args:
        points (sequence): the grid points, JSON-serialisable (dicts, strings, numbers...).
        seeds (iterable of int): every point runs with every seed (paired by seed).
        run_one (callable): ``run_one(point, seed, data, device) -> dict`` of JSON metrics;
            the seed must draw everything random in it.
        data: passed to every call (loaded once per process by the caller). Default: ``None``.
        output (str or path): the results file, e.g. ``runs/study.jsonl``.
        device (torch.device or str, optional): see :func:`rank_device`. Default: ``None``.
        config (dict, optional): the study's fixed settings (JSON); stored with every run,
            and a rerun must have the same ones. Default: ``None`` (``{}``).
        timeout (float): seconds a rank waits for the others at the end (they may still be
            running). Default: ``86400`` (24 hours).
        verbose (bool): print one line per finished run to stderr. Default: ``True``.

    Returns:
        list[dict]: on every rank, the records of this grid (point and seed), sorted by key.

    Raises:
        ValueError: a repeated or non-JSON point, a seed that is not an ``int``, or an
            unreadable results file (named, with the line); nothing is run or overwritten.
    """
    if not callable(run_one):
        raise TypeError(
            f"run_one must be a callable run_one(point, seed, data, device), "
            f"got {type(run_one).__name__}"
        )
    output, config = Path(output), dict(config or {})
    seeds = list(seeds)
    if not seeds or any(type(s) is not int for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    keys = {}
    for point in points:
        try:
            key = run_key(point, 0)[0]
        except (TypeError, ValueError) as error:
            raise ValueError(f"points must be JSON-serialisable, got {point!r} ({error})") from None
        keys.update({(key, seed): (point, seed) for seed in seeds})
    if len(keys) != len(points) * len(seeds):
        raise ValueError("points holds the same point twice (as JSON)")
    encode({"config": config})  # raises a TypeError for a config that is not JSON
    config = json.loads(json.dumps(config))  # as a rerun reads it back: tuples are lists

    rank, world_size, local_rank = _environment()
    device = rank_device(device, local_rank)
    owned = world_size > 1 and not dist.is_initialized()
    if owned:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        plan = _plan(output, keys, config) if rank == 0 else {}
        shared = _broadcast({k: plan[k] for k in ("remaining", "launch", "error") if k in plan})
        if "error" in shared:
            raise ValueError(shared["error"])
        mine = shard(shared["remaining"], rank, world_size)
        part = output.with_name(f"{output.name}.part-{shared['launch']}-rank{rank}")
        new = []
        if mine:
            with part.open("x") as file:  # "x": never append to another launch's file
                for i, key in enumerate(mine, start=1):
                    point, seed = keys[key]
                    start = time.perf_counter()
                    metrics = run_one(point, seed, data, device)
                    seconds = time.perf_counter() - start
                    _check_metrics(metrics, key)
                    record = {
                        "point": point, "seed": seed, "config": config, "metrics": dict(metrics),
                        "versions": {"torch": torch.__version__, "reglab": reglab.__version__,
                                     "python": platform.python_version()},
                        "command": shlex.join(sys.argv), "world_size": world_size,
                        "rank": rank, "launch": shared["launch"], "device": str(device),
                        "seconds": round(seconds, 3),
                    }  # fmt: skip
                    append_record(file, record)
                    new.append(record)
                    if verbose:
                        print(
                            f"[rank {rank}/{world_size}] {i}/{len(mine)} point {key[0]} "
                            f"seed {seed}: {seconds:.1f} s", file=sys.stderr, flush=True,
                        )  # fmt: skip
        gathered = [new]
        if dist.is_initialized():
            gathered = [None] * world_size if rank == 0 else None
            dist.gather_object(new, gathered, dst=0)
        records = None
        if rank == 0:
            done = plan["done"]
            for record in (r for share in gathered for r in share):
                done[run_key(record["point"], record["seed"])] = record
            if any(gathered) or plan["parts"]:
                write_records(output, (done[k] for k in sorted(done)))
                for path in plan["parts"]:
                    path.unlink()
            records = [done[k] for k in sorted(keys)]
        records = _broadcast(records)
        part.unlink(missing_ok=True)  # its runs are in the results file now
        return records
    finally:
        if owned:
            dist.destroy_process_group()


def study_parser(
    description: str,
    *,
    data_size: int | Sequence[int],
    seeds: int,
    output: str | Path,
    device: str | None = None,
) -> argparse.ArgumentParser:
    r"""A command-line parser with the options every study has; the defaults are the
    study's own. A study adds its other options, parses, and calls :func:`run_grid` with
    ``seeds=range(args.seeds)``.

    Args:
        description (str): the study's one-line description (``--help``).
        data_size (int or sequence of int): default of ``--data-size``, the number of
            training examples; a sequence makes it take several sizes (``nargs="+"``).
        seeds (int): default of ``--seeds``, the number of seeds (``0`` to ``seeds - 1``).
        output (str or path): default of ``--output``, the JSON Lines results file.
        device (str, optional): default of ``--device``. Default: ``None`` (the GPU when
            there is one, else the CPU; under torchrun each rank's own GPU).

    Example::

        >>> parser = study_parser("Tiny study", data_size=5000, seeds=5, output="tiny.jsonl")
        >>> parser.parse_args(["--seeds", "20"]).seeds
        20
    """

    several = isinstance(data_size, Sequence) and not isinstance(data_size, str)
    sizes = list(data_size) if several else [data_size]
    for name, value in [*(("data_size", v) for v in sizes), ("seeds", seeds)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not sizes:
        raise ValueError("data_size must hold at least one size, got none")

    def positive(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
        return value

    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--data-size", type=positive, default=sizes if several else data_size,
        nargs="+" if several else None, help="training examples",
    )  # fmt: skip
    parser.add_argument("--seeds", type=positive, default=seeds, help="seeds 0, 1, ... per point")
    parser.add_argument("--device", default=device, help="e.g. cpu, cuda (default: auto)")
    parser.add_argument("--output", type=Path, default=Path(output), help="JSON Lines results")
    return parser
