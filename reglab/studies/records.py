r"""A study's results as JSON Lines: one finished run per line, written as the run ends.

Every line is one JSON object (keys sorted) with the fields

================ ==========================================================================
``point``        the grid point: the study's settings for this run (any JSON value)
``seed``         the seed (an ``int``): it draws everything random in the run
``config``       the study's fixed settings (data size, epochs...), the same on every line
``metrics``      what the study's ``run_one`` returned (a JSON object)
``versions``     ``torch``, ``reglab`` and ``python`` versions of the process that ran it
``command``      the command line of that process
``world_size``   the number of processes of the launch, ``rank`` the one that ran it
``launch``       an id of the launch (a rerun that resumes a study has another one)
``device``       the device it ran on, and ``seconds`` how long it took
================ ==========================================================================

The first four (:data:`RESULT_FIELDS`) are the result: the same for the same point and seed
whatever the number of processes; the others (:data:`PROVENANCE_FIELDS`) say how it was
obtained. A run is identified by :func:`run_key`.

Reading is strict (:func:`read_records`): a line that is not a complete record is an error
that names the file and the line, with one exception a crash makes expected. A *part* file
(written line by line while a study runs) whose **last** line lacks its newline was cut by
a killed process in the middle of a write: with ``partial_tail=True`` that line is dropped
with a :class:`RuntimeWarning` and its run is redone. A final results file is written at
once and atomically (:func:`write_records`), so there a cut last line is an error too.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from reglab.studies._arguments import check_instance, check_path

__all__ = [
    "PROVENANCE_FIELDS",
    "RESULT_FIELDS",
    "append_record",
    "encode",
    "load_results",
    "read_records",
    "run_key",
    "write_records",
]

#: The fields that are the result of a run, equal for equal (point, seed).
RESULT_FIELDS = ("point", "seed", "config", "metrics")
#: The fields that say how a run was obtained; they may differ between launches.
PROVENANCE_FIELDS = ("versions", "command", "world_size", "rank", "launch", "device", "seconds")


def run_key(point: Any, seed: int) -> tuple[str, int]:
    r"""The identity of a run: the point as canonical JSON (keys sorted), and the seed.

    Sorting keys orders the runs of a study the same way in every process, and a point read
    back from a file (where a tuple became a list) has the key it had when it was written.

    Example::

        >>> run_key({"lr": 0.1, "p": 0.5}, 3)
        ('{"lr":0.1,"p":0.5}', 3)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    return json.dumps(point, sort_keys=True, separators=(",", ":")), seed


def encode(record: Mapping) -> str:
    """One record as one line of JSON (keys sorted, so equal records give equal bytes)."""
    check_instance(record, Mapping, "record")
    return json.dumps(record, sort_keys=True) + "\n"


def append_record(file: IO[str], record: Mapping) -> None:
    """Append ``record`` to an open text file and force it to disk (flush, then fsync).

    The line is written with one ``write`` call; a process killed during it leaves at most
    a last line without its newline, which :func:`read_records` recognises.
    """
    if not hasattr(file, "write") or not hasattr(file, "fileno"):
        raise TypeError(f"file must be an open text file, got {type(file).__name__}")
    file.write(encode(record))
    file.flush()
    os.fsync(file.fileno())


def write_records(path: str | Path, records: Iterable[Mapping]) -> Path:
    """Write ``records`` to ``path`` atomically: a temporary file beside it, fsync, then
    ``os.replace``. A reader sees the old file or the new one, never a part of it."""
    check_path(path)
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with temporary.open("w") as file:
            file.writelines(encode(record) for record in records)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _check(record: Any, where: str, config: Mapping | None) -> dict:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: a record must be a JSON object, got {type(record).__name__}")
    missing = [f for f in RESULT_FIELDS if f not in record]
    if missing:
        raise ValueError(f"{where}: the record lacks the field(s) {', '.join(missing)}")
    if type(record["seed"]) is not int:
        raise ValueError(f"{where}: the seed must be an integer, got {record['seed']!r}")
    if not isinstance(record["metrics"], dict):
        raise ValueError(f"{where}: metrics must be a JSON object, got {record['metrics']!r}")
    if config is not None and record["config"] != config:
        raise ValueError(
            f"{where}: this run was made with the config {record['config']}, but the study's "
            f"config is {dict(config)}; write to another output file (or remove this one)"
        )
    return record


def read_records(
    path: str | Path, *, partial_tail: bool = False, config: Mapping | None = None
) -> list[tuple[int, dict]]:
    r"""Read a results file strictly; return ``(line number, record)`` pairs, in file order.

    Args:
        path (str or path): a JSON Lines results file.
        partial_tail (bool): drop, with a :class:`RuntimeWarning`, a last line that lacks its
            newline (a part file cut by a killed process) instead of raising. Default:
            ``False``.
        config (dict, optional): when given, every record must hold this ``config``.
            Default: ``None`` (any config).

    Raises:
        ValueError: a line is not JSON, not a record, or of another config; the message
            names the file and the line number (counted from 1).
    """
    check_path(path)
    path = Path(path)
    *lines, tail = path.read_bytes().split(b"\n")  # tail is b"" when the file ends in \n
    if tail:
        where = f"{path}, line {len(lines) + 1}"
        if not partial_tail:
            raise ValueError(f"{where}: the last line is incomplete (no newline at its end)")
        warnings.warn(
            f"{where}: dropped an incomplete last line (a process killed while writing it); "
            "that run will be redone",
            RuntimeWarning,
            stacklevel=2,
        )
    records = []
    for number, line in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{where}: not a JSON record ({error})") from None
        records.append((number, _check(record, where, config)))
    return records


def load_results(path: str | Path) -> list[dict]:
    """The records of a results file written by :func:`reglab.studies.runner.run_grid`.

    Example::

        >>> records = load_results("runs/study.jsonl")
        >>> records[0]["point"], records[0]["seed"], records[0]["metrics"]
    """
    return [record for _, record in read_records(path)]
