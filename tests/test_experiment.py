import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from reglab.data import random_affine
from reglab.studies.together import (
    SETTINGS,
    Setting,
    build,
    load_results,
    run,
    save_results,
    summarize,
)
from reglab.train import forked_rng, spawn_seeds, train

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "examples" / "compare_regularizers.py"


@pytest.fixture
def tiny_data():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(60, 1, 28, 28, generator=g)
    y = torch.arange(60) % 10
    return (X[:40], y[:40]), (X[40:], y[40:])


def _types(model):
    return {type(m) for m in model.modules()}


def test_runs_are_deterministic_on_cpu(tiny_data):
    train_data, test_data = tiny_data
    a = run(SETTINGS["all"], train_data, test_data, seed=1, num_epochs=2, device="cpu")
    b = run(SETTINGS["all"], train_data, test_data, seed=1, num_epochs=2, device="cpu")
    c = run(SETTINGS["all"], train_data, test_data, seed=2, num_epochs=2, device="cpu")
    assert a["history"] == b["history"]
    assert a["history"] != c["history"]
    json.dumps(a)  # plain data


def test_run_leaves_the_global_rng_untouched(tiny_data):
    train_data, test_data = tiny_data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    run(SETTINGS["all"], train_data, test_data, seed=1, num_epochs=1, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)


def test_run_does_not_depend_on_the_callers_global_rng(tiny_data):
    train_data, test_data = tiny_data
    results = []
    for outer in (1, 2):
        torch.manual_seed(outer)
        results.append(run(SETTINGS["all"], train_data, test_data, seed=0, num_epochs=1,
                           device="cpu"))  # fmt: skip
    assert results[0] == results[1]


def test_run_is_init_stream_then_train_with_the_same_generator(tiny_data):
    # run() draws the init seed first from Generator(seed), then hands that generator to
    # train(), which draws the batch-order and noise seeds: three different streams
    assert len(set(spawn_seeds(torch.Generator().manual_seed(0), 3))) == 3
    source = torch.Generator().manual_seed(0)
    with forked_rng(spawn_seeds(source, 1)[0]):
        model, optimizer, _, _ = build(SETTINGS["dropout"])
    train_data, test_data = tiny_data
    history = train(model, train_data, test_data=test_data, optimizer=optimizer,
                    num_epochs=2, batch_size=50, generator=source, device="cpu")  # fmt: skip
    result = run(SETTINGS["dropout"], train_data, test_data, seed=0, num_epochs=2, device="cpu")
    assert result["history"] == history.to_dict()


def test_none_has_no_regularizer():
    model, optimizer, penalty, augment = build(SETTINGS["none"])
    assert not _types(model) & {nn.Dropout, nn.Dropout2d, nn.BatchNorm2d, nn.BatchNorm1d}
    assert all(g["weight_decay"] == 0 for g in optimizer.param_groups)
    assert penalty is None and augment is None


@pytest.mark.parametrize(
    "name, layer",
    [("dropout", nn.Dropout), ("dropout2d", nn.Dropout2d), ("batchnorm", nn.BatchNorm2d)],
)
def test_layer_settings_add_their_layer_and_only_it(name, layer):
    model, _, penalty, augment = build(SETTINGS[name])
    others = {nn.Dropout, nn.Dropout2d, nn.BatchNorm2d} - {layer}
    assert layer in _types(model)
    assert not _types(model) & others
    assert penalty is None and augment is None


def test_l2_decays_only_weights():
    model, optimizer, _, _ = build(SETTINGS["L2"])
    decay, no_decay = optimizer.param_groups
    assert isinstance(optimizer, torch.optim.AdamW)
    assert decay["weight_decay"] == SETTINGS["L2"].weight_decay > 0
    assert no_decay["weight_decay"] == 0
    assert all(p.dim() > 1 for p in decay["params"]) and all(
        p.dim() == 1 for p in no_decay["params"]
    )
    assert len(decay["params"]) == sum(
        isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules()
    )


def test_l1_penalizes_the_weights():
    model, optimizer, penalty, _ = build(SETTINGS["L1"])
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    expected = SETTINGS["L1"].l1 * sum(w.abs().sum() for w in weights)
    torch.testing.assert_close(penalty(model), expected)
    assert all(g["weight_decay"] == 0 for g in optimizer.param_groups)


def test_augmentation_setting_augments_batches():
    _, _, _, augment = build(SETTINGS["augmentation"])
    assert augment is random_affine


def test_all_combines_everything():
    model, optimizer, penalty, augment = build(SETTINGS["all"])
    assert {nn.Dropout, nn.Dropout2d, nn.BatchNorm2d} <= _types(model)
    assert (
        optimizer.param_groups[0]["weight_decay"] > 0
        and penalty is not None
        and augment is not None
    )


@pytest.mark.parametrize(
    "kwargs", [dict(p=1.5), dict(p2d=-0.1), dict(weight_decay=-1), dict(l1=-1)]
)
def test_settings_validate_their_values(kwargs):
    (name,) = kwargs
    allowed = "(must be a finite number >= 0|has to be between 0 and 1)"
    with pytest.raises(ValueError, match=rf"^{name} {allowed}"):
        Setting("bad", **kwargs)


def test_save_results_rejects_an_empty_list(tmp_path):
    with pytest.raises(ValueError, match="results must hold at least one run"):
        save_results([], tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # nothing half-written
    assert summarize([]) == []


def test_results_round_trip_and_summary(tiny_data, tmp_path):
    train_data, test_data = tiny_data
    results = [run(SETTINGS[n], train_data, test_data, seed=s, num_epochs=1, device="cpu")
               for n in ("none", "dropout") for s in (0, 1)]  # fmt: skip
    json_path, csv_path = save_results(results, tmp_path)
    assert load_results(tmp_path) == results == load_results(json_path)
    rows = summarize(results)
    assert [r["setting"] for r in rows] == ["none", "dropout"]
    none = [r["test_acc"] for r in results[:2]]
    assert rows[0]["test_acc"] == pytest.approx(sum(none) / 2)
    assert csv_path.read_text().splitlines()[0].startswith("setting,seeds,train_acc")


def _cli(*args, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("REGLAB_QUICK", None)
    return subprocess.run([sys.executable, str(CLI), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip


def test_cli_runs_end_to_end_and_writes_results(tmp_path, mnist_root):
    from reglab.studies.selection import CANDIDATES

    out = tmp_path / "runs"
    result = _cli("--per-class", "3", "--val-per-class", "2", "--n-test", "50", "--epochs",
                  "1", "--seeds", "2", "--settings", "none", "dropout", "--device", "cpu",
                  "--output", str(out), tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = load_results(out)
    candidates = {s.name for s in CANDIDATES["none"] + CANDIDATES["dropout"]}
    # every candidate with both seeds, then "all" (the chosen ones combined), both seeds
    assert len(results) == 2 * len(candidates) + 2
    assert {r["setting"]["name"] for r in results} == candidates | {"all"}
    assert {(r["n_train"], r["n_val"], r["n_test"]) for r in results} == {(30, 20, 50)}
    assert all(r["history"]["test_acc"] == [] for r in results)  # the test set once
    assert (out / "summary.csv").exists() and (out / "test_accuracy.png").exists()
    assert "all" in result.stdout and "test acc" in result.stdout


def test_cli_help():
    result = subprocess.run([sys.executable, str(CLI), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in ("--per-class", "--val-per-class", "--n-test", "--epochs", "--patience",
                   "--seeds", "--device", "--output", "--settings"):  # fmt: skip
        assert option in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], "must be a positive integer"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--settings", "everything"], "invalid choice: 'everything'"),
        (["--epochs", "two"], "invalid positive_int value"),
        (["--n-test", "some"], "invalid n_test_type value"),
        (["--per-class", "0"], "must be a positive integer"),
    ],
)
def test_cli_bad_options_are_argparse_errors(args, message, tmp_path):
    result = _cli(*args, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "error:" in result.stderr and message in result.stderr


def test_mean_curves_average_over_seeds(tiny_data):
    from reglab.studies.together import mean_curves

    train_data, test_data = tiny_data
    results = [
        run(SETTINGS["none"], train_data, test_data, seed=s, num_epochs=2, device="cpu")
        for s in (0, 1)
    ]
    curves = mean_curves(results)
    first, second = (r["history"]["test_acc"] for r in results)
    expected = [(a + b) / 2 for a, b in zip(first, second, strict=True)]
    assert curves["none"].test_acc == pytest.approx(expected)
    assert curves["none"].epoch == [1, 2]


def test_cli_n_test_all_means_the_whole_test_split_and_defaults_are_the_books():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_regularizers", CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.parse_args(["--n-test", "all"]).n_test is None
    assert cli.parse_args(["--n-test", "300"]).n_test == 300
    args = cli.parse_args([])  # the chapter "Putting it together" uses these values
    assert (args.per_class, args.val_per_class, args.epochs, args.patience, args.seeds) == (
        50, 50, 40, 5, 3)  # fmt: skip
    assert args.channels == [4, 8]
    assert args.n_test is None and args.settings == [f.replace(" ", "-") for f in cli.CANDIDATES]


def test_cli_rejects_more_images_per_class_than_the_data_root_has(tmp_path, mnist_root):
    result = _cli("--per-class", "100000", "--device", "cpu", tmp_path=tmp_path)
    assert result.returncode == 2 and "rarest class" in result.stderr


def test_test_set_once_gives_the_same_numbers_without_per_epoch_test_metrics(tiny_data):
    from reglab.train import EarlyStopping

    train_data, test_data = tiny_data
    kwargs = dict(val_data=test_data, seed=3, num_epochs=4, device="cpu")
    every = run(SETTINGS["dropout"], train_data, test_data, **kwargs,
                early_stopping=EarlyStopping(patience=1))  # fmt: skip
    once = run(SETTINGS["dropout"], train_data, test_data, **kwargs, test_every_epoch=False,
               early_stopping=EarlyStopping(patience=1))  # fmt: skip
    assert once["history"]["test_acc"] == [] and len(every["history"]["test_acc"]) > 0
    assert once["test_acc"] == every["test_acc"] and once["test_loss"] == every["test_loss"]
    assert once["history"]["val_loss"] == every["history"]["val_loss"]
