"""The study runner: one process and torchrun give the same results; a killed launch resumes;
bad files are refused by name and line; shares cover every run once.

The module is also a tiny study (logistic regression on synthetic data) that the tests
start with ``python -m torch.distributed.run ... tests/test_runner.py``.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reglab.studies.records import PROVENANCE_FIELDS, read_records, run_key
from reglab.studies.runner import run_grid, shard, study_parser

ROOT = Path(__file__).resolve().parents[1]
POINTS = [{"lr": lr, "l2": l2} for lr in (0.1, 1.0) for l2 in (0.0, 0.01)]
SEEDS = 3
DATA_SIZE = 120


def make_data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian classes in 4 dimensions, fixed by their own generator."""
    g = torch.Generator().manual_seed(1234)
    y = torch.randint(0, 2, (n,), generator=g)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64) + (2 * y[:, None] - 1)
    return X, y.double()


def run_one(point, seed, data, device, *, sleep=0.0):
    """Full-batch gradient descent on a bootstrap sample: the seed draws sample and init."""
    g = torch.Generator().manual_seed(seed)
    X, y = data
    idx = torch.randint(0, len(X), (len(X),), generator=g)
    w = 0.1 * torch.randn(4, generator=g, dtype=torch.float64)
    for _ in range(20):
        p = torch.sigmoid(X[idx] @ w)  # (N,)
        w = w - point["lr"] * (X[idx].T @ (p - y[idx]) / len(idx) + point["l2"] * w)
    time.sleep(sleep)
    accuracy = ((X @ w > 0).double() == y).double().mean()
    return {"accuracy": accuracy.item(), "norm": w.norm().item()}


def main(argv=None):
    parser = study_parser("Tiny study", data_size=DATA_SIZE, seeds=SEEDS, output="tiny.jsonl")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per run (tests)")
    parser.add_argument("--pid-dir", type=Path, help="write this process's pid there (tests)")
    args = parser.parse_args(argv)
    if args.pid_dir is not None:
        (args.pid_dir / f"rank{os.environ.get('RANK', 0)}.pid").write_text(str(os.getpid()))
    return run_grid(
        POINTS,
        range(args.seeds),
        lambda point, seed, data, device: run_one(point, seed, data, device, sleep=args.sleep),
        make_data(args.data_size),
        output=args.output,
        device=args.device,
        config={"data_size": args.data_size},
    )


def torchrun(*args, nproc=2, **popen):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", __file__, "--device", "cpu", *map(str, args)]
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)  # fmt: skip


def finish(process, timeout=120):
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out
    return out


def at(path: Path, line: int) -> str:
    """The pattern of an error's location: the file and the line."""
    return re.escape(f"{path}, line {line}")


def _wait_until_gone(pid: int, timeout: float = 30.0) -> None:
    """Wait for a worker that torchrun was told to stop; kill it if it outlives ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def results(path: Path) -> bytes:
    """The file without its provenance fields: what must not depend on how it was run."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return b"".join(
        json.dumps(
            {k: v for k, v in r.items() if k not in PROVENANCE_FIELDS}, sort_keys=True
        ).encode()
        + b"\n"
        for r in lines
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run in this process."""
    path = tmp_path_factory.mktemp("reference") / "tiny.jsonl"
    records = main(["--output", str(path), "--device", "cpu"])
    return path, records


def test_one_process_runs_every_point_and_seed_once(reference):
    path, records = reference
    keys = [run_key(r["point"], r["seed"]) for r in records]
    assert keys == sorted({run_key(p, s) for p in POINTS for s in range(SEEDS)})
    assert [r for _, r in read_records(path)] == json.loads(json.dumps(records))
    assert {r["world_size"] for r in records} == {1}
    assert not list(path.parent.glob("*.part-*"))  # merged, then removed
    assert len({r["metrics"]["norm"] for r in records}) == len(records)  # the seeds differ


@pytest.mark.slow  # starting torchrun and its two processes (importing torch three times)
def test_torchrun_gives_the_results_of_one_process(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    finish(torchrun("--output", path))
    records = [r for _, r in read_records(path)]
    assert {r["world_size"] for r in records} == {2}
    assert {r["rank"] for r in records} == {0, 1}  # both ranks ran some
    assert results(path) == results(reference[0])
    assert not list(tmp_path.glob("*.part-*"))


@pytest.mark.slow  # two torchrun launches
def test_a_killed_launch_resumes_and_runs_each_point_and_seed_once(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    args = ("--output", path, "--sleep", 0.4, "--pid-dir", tmp_path)
    first = torchrun(*args)
    lines = lambda: sum(p.read_text().count("\n") for p in tmp_path.glob("*.part-*"))  # noqa: E731
    deadline = time.monotonic() + 90
    while lines() < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert first.poll() is None, "the study ended before it could be killed"
        os.kill(int((tmp_path / "rank1.pid").read_text()), signal.SIGKILL)  # a rank dies
        out, _ = first.communicate(timeout=60)  # torchrun stops the other rank and fails
    finally:  # never leave a process of this test behind
        first.kill()
        first.wait()
        _wait_until_gone(int((tmp_path / "rank0.pid").read_text()))
    assert first.returncode != 0, out
    assert not path.exists()
    survived = {}
    for part in tmp_path.glob("*.part-*"):
        for _, r in read_records(part, partial_tail=True):
            survived[run_key(r["point"], r["seed"])] = r
    assert 3 <= len(survived) < len(POINTS) * SEEDS

    out = finish(torchrun(*args))
    records = [r for _, r in read_records(path)]
    keys = [run_key(r["point"], r["seed"]) for r in records]
    assert len(keys) == len(set(keys)) == len(POINTS) * SEEDS
    assert results(path) == results(reference[0])
    (killed,) = {r["launch"] for r in survived.values()}
    for r in records:  # the runs of the killed launch were kept, the others run anew
        key = run_key(r["point"], r["seed"])
        assert r == survived[key] if key in survived else r["launch"] != killed
    assert len({r["launch"] for r in records}) == 2
    assert not list(tmp_path.glob("*.part-*"))


def test_a_rerun_skips_every_finished_run(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(reference[0].read_bytes())
    calls = []
    records = run_grid(POINTS, range(SEEDS), lambda *a: calls.append(a), make_data(DATA_SIZE),
                       output=path, device="cpu", config={"data_size": DATA_SIZE})  # fmt: skip
    assert calls == []
    assert path.read_bytes() == reference[0].read_bytes()
    assert records == reference[1]


def _run(path, **kwargs):
    calls = []

    def counted(point, seed, data, device):
        calls.append((point, seed))
        return run_one(point, seed, data, device)

    config = kwargs.pop("config", {"data_size": DATA_SIZE})
    run_grid(POINTS, range(SEEDS), counted, make_data(DATA_SIZE), output=path, device="cpu",
             config=config, verbose=False, **kwargs)  # fmt: skip
    return calls


@pytest.mark.parametrize("line", [2, 5])
@pytest.mark.parametrize("damage", ["garbage", "truncated", "no metrics", "empty"])
def test_a_corrupt_results_file_is_refused_by_name_and_line(reference, tmp_path, line, damage):
    path = tmp_path / "tiny.jsonl"
    lines = reference[0].read_text().splitlines(keepends=True)
    record = json.loads(lines[line - 1])
    lines[line - 1] = {
        "garbage": "{not json\n",
        "truncated": lines[line - 1][:40] + "\n",
        "no metrics": json.dumps({k: v for k, v in record.items() if k != "metrics"}) + "\n",
        "empty": "\n",
    }[damage]
    path.write_text("".join(lines))
    before = path.read_bytes()
    with pytest.raises(ValueError, match=at(path, line) + r":"):
        _run(path)
    assert path.read_bytes() == before  # nothing overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.jsonl"]  # nothing run


def test_a_cut_last_line_is_an_error_in_the_results_file(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(reference[0].read_bytes()[:-30])
    n = len(path.read_text().splitlines())
    with pytest.raises(ValueError, match=at(path, n) + r": the last line is incomplete"):
        _run(path)


def test_a_cut_last_line_of_a_part_file_is_dropped_and_its_run_redone(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    full = reference[0].read_text().splitlines(keepends=True)
    part = tmp_path / "tiny.jsonl.part-x-rank0"
    part.write_text("".join(full[:3]) + full[3][:50])  # killed while writing line 4
    with pytest.warns(RuntimeWarning, match=at(part, 4) + r": dropped an incomplete"):
        calls = _run(path)
    done = {run_key(json.loads(line)["point"], json.loads(line)["seed"]) for line in full[:3]}
    assert {run_key(p, s) for p, s in calls} == {
        run_key(p, s) for p in POINTS for s in range(SEEDS)
    } - done
    assert results(path) == results(reference[0])
    assert not part.exists()


def test_a_corrupt_line_before_the_last_of_a_part_file_is_an_error(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    part = tmp_path / "tiny.jsonl.part-x-rank0"
    full = reference[0].read_text().splitlines(keepends=True)
    part.write_text(full[0] + full[1][:50] + "\n" + full[2])
    with pytest.raises(ValueError, match=at(part, 2) + r": not a JSON record"):
        _run(path)
    assert not path.exists() and part.read_text() == full[0] + full[1][:50] + "\n" + full[2]


def test_a_results_file_of_another_config_is_refused(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(reference[0].read_bytes())
    with pytest.raises(ValueError, match=at(path, 1) + r": .*another output file"):
        _run(path, config={"data_size": DATA_SIZE + 1})
    assert path.read_bytes() == reference[0].read_bytes()


def test_different_metrics_for_the_same_run_are_an_error(reference, tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(reference[0].read_bytes())
    record = json.loads(reference[0].read_text().splitlines()[0])
    record["metrics"]["accuracy"] += 0.5
    part = tmp_path / "tiny.jsonl.part-x-rank1"
    part.write_text(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match=at(path, 1) + " and " + at(part, 1) + " hold different"):
        _run(path)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 5])
def test_every_run_goes_to_exactly_one_rank(world_size):
    keys = [run_key(p, s) for p in POINTS for s in range(SEEDS)]
    shares = [shard(keys, rank, world_size) for rank in range(world_size)]
    assert sorted(k for share in shares for k in share) == sorted(keys)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # balanced
    assert shares == [shard(keys[::-1], rank, world_size) for rank in range(world_size)]


@pytest.mark.parametrize(("rank", "world_size"), [(2, 2), (-1, 2), (0, 0), (0.0, 1), (0, True)])
def test_shard_rejects_a_rank_outside_the_world(rank, world_size):
    # a bool is no world size: a TypeError, like every count in reglab._checks
    error = TypeError if world_size is True else ValueError
    with pytest.raises(error, match=r"rank|world_size"):
        shard([1, 2], rank, world_size)


@pytest.mark.parametrize(
    ("points", "seeds", "match"),
    [
        (POINTS + POINTS[:1], range(2), "the same point twice"),
        ([{1, 2}], range(2), "JSON-serialisable"),
        (POINTS, [0, 1.5], "seeds must be"),
        (POINTS, [], "seeds must be"),
    ],
)
def test_run_grid_rejects_bad_grids_before_running(tmp_path, points, seeds, match):
    with pytest.raises(ValueError, match=match):
        run_grid(points, seeds, run_one, output=tmp_path / "x.jsonl", device="cpu")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        (None, "must return a dict of metrics, got NoneType"),
        ({"a": torch.ones(1)}, "returned metrics that are not JSON"),
    ],
)
def test_metrics_that_are_not_json_are_refused_by_point_and_seed(tmp_path, metrics, match):
    with pytest.raises(TypeError, match=r"run_one\(point=.*, seed=\d\) " + match):
        run_grid(POINTS, [0], lambda *a: metrics, output=tmp_path / "x.jsonl", device="cpu")
    assert not (tmp_path / "x.jsonl").exists()


def test_study_parser_takes_the_studys_defaults_and_checks_them(capsys):
    parser = study_parser("Tiny", data_size=500, seeds=5, output="out.jsonl", device="cpu")
    args = parser.parse_args([])
    assert (args.data_size, args.seeds, args.output, args.device) == (
        500, 5, Path("out.jsonl"), "cpu",
    )  # fmt: skip
    assert parser.parse_args(["--seeds", "20", "--data-size", "60000"]).seeds == 20
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "0"])
    assert "--seeds: must be a positive integer, got 0" in capsys.readouterr().err


if __name__ == "__main__":  # the tiny study, as torchrun starts it
    main()


def test_study_parser_takes_several_data_sizes_when_its_default_has_several():
    parser = study_parser("Sizes", data_size=[500, 2000], seeds=5, output="x.jsonl")
    assert parser.parse_args([]).data_size == [500, 2000]
    assert parser.parse_args(["--data-size", "10", "20", "30"]).data_size == [10, 20, 30]
    one = study_parser("One size", data_size=500, seeds=5, output="x.jsonl")
    assert one.parse_args(["--data-size", "10"]).data_size == 10
