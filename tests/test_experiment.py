"""reglab.studies.together (the "Putting it together" study), its settings, results and
command-line example."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from reglab.data import draw_train_val, random_affine
from reglab.stats import by_seed
from reglab.studies.regularizers import Setting, build
from reglab.studies.results import RunResult, load_results, mean_curves, save_results, summarize
from reglab.studies.selection import choose, joint_grid
from reglab.studies.together import StudyConfig, choices, run, run_setting
from reglab.train import History, Patience, train

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "examples" / "compare_regularizers.py"

#: one setting per regularizer that build() knows, and all of them at once (test inputs)
SETTINGS = {
    s.name: s
    for s in [
        Setting("none"),
        Setting("L2", weight_decay=0.5),
        Setting("L1", l1=2e-4),
        Setting("dropout", p=0.5),
        Setting("batchnorm", batch_norm=True),
        Setting("augmentation", augment=True),
        Setting("all", weight_decay=0.5, l1=2e-4, p=0.5, batch_norm=True, augment=True),
    ]
}


@pytest.fixture
def tiny_data():
    """A pool of 60 images (6 of each class) and 20 test images."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(80, 1, 28, 28, generator=g)
    y = torch.arange(80) % 10
    return (X[:60], y[:60]), (X[60:], y[60:])


#: a tiny budget for run_setting: 3 + 2 images per class, one small hidden layer
TINY = dict(per_class=3, val_per_class=2, hidden=(8,), batch_size=10, device="cpu")


def _types(model):
    return {type(m) for m in model.modules()}


def test_runs_are_deterministic_on_cpu(tiny_data):
    pool, test = tiny_data
    a = run_setting(SETTINGS["all"], pool, test, seed=1, num_epochs=2, **TINY)
    b = run_setting(SETTINGS["all"], pool, test, seed=1, num_epochs=2, **TINY)
    c = run_setting(SETTINGS["all"], pool, test, seed=2, num_epochs=2, **TINY)
    assert a == b
    assert a.history != c.history
    json.dumps(a.to_dict())  # plain data


def test_run_leaves_the_global_rng_untouched(tiny_data):
    pool, test = tiny_data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    run_setting(SETTINGS["all"], pool, test, seed=1, num_epochs=1, **TINY)
    assert torch.equal(torch.get_rng_state(), before)


def test_run_does_not_depend_on_the_callers_global_rng(tiny_data):
    pool, test = tiny_data
    results = []
    for outer in (1, 2):
        torch.manual_seed(outer)
        results.append(run_setting(SETTINGS["all"], pool, test, seed=0, num_epochs=1, **TINY))
    assert results[0] == results[1]


def test_a_seed_draws_the_data_then_the_weights_then_the_batch_order(tiny_data):
    # run_setting is: Generator(seed) -> draw_train_val -> build(generator) -> train(seed=g)
    pool, test = tiny_data
    (X, y), g = pool, torch.Generator().manual_seed(4)
    train_idx, val_idx = draw_train_val(y, 3, 2, generator=g)
    model, optimizer, _, _ = build(SETTINGS["dropout"], hidden=(8,), generator=g)
    history = train(model, (X[train_idx], y[train_idx]), val_data=(X[val_idx], y[val_idx]),
                    optimizer=optimizer, num_epochs=3, batch_size=10, seed=g, device="cpu",
                    stopping=Patience(5))  # fmt: skip
    result = run_setting(SETTINGS["dropout"], pool, test, seed=4, num_epochs=3, **TINY)
    assert result.history == history
    assert (result.n_train, result.n_val, result.n_test) == (30, 20, 20)
    assert result.history.test_acc == []  # the test set once, after training


def test_settings_with_one_seed_share_the_data_and_every_common_layer(tiny_data):
    pool, _ = tiny_data
    starts = {}
    for name in ("none", "dropout", "batchnorm"):
        g = torch.Generator().manual_seed(7)
        idx = draw_train_val(pool[1], 3, 2, generator=g)[0]
        model = build(SETTINGS[name], hidden=(8,), generator=g)[0]
        starts[name] = idx, [m.weight for m in model if isinstance(m, nn.Linear)]
    for name in ("dropout", "batchnorm"):
        assert torch.equal(starts[name][0], starts["none"][0])
        for a, b in zip(starts[name][1], starts["none"][1], strict=True):
            assert torch.equal(a, b)


def test_none_has_no_regularizer():
    model, optimizer, penalty, augment = build(SETTINGS["none"])
    assert not _types(model) & {nn.Dropout, nn.BatchNorm1d}
    assert all(g["weight_decay"] == 0 for g in optimizer.param_groups)
    assert penalty is None and augment is None


@pytest.mark.parametrize("name, layer", [("dropout", nn.Dropout), ("batchnorm", nn.BatchNorm1d)])
def test_layer_settings_add_their_layer_and_only_it(name, layer):
    model, _, penalty, augment = build(SETTINGS[name])
    others = {nn.Dropout, nn.BatchNorm1d} - {layer}
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
    assert len(decay["params"]) == sum(isinstance(m, nn.Linear) for m in model.modules())


def test_l1_penalizes_the_weights():
    model, optimizer, penalty, _ = build(SETTINGS["L1"])
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    expected = SETTINGS["L1"].l1 * sum(w.abs().sum() for w in weights)
    torch.testing.assert_close(penalty(model), expected)
    assert all(g["weight_decay"] == 0 for g in optimizer.param_groups)


def test_augmentation_setting_augments_batches():
    _, _, _, augment = build(SETTINGS["augmentation"])
    assert augment is random_affine


def test_all_combines_everything():
    model, optimizer, penalty, augment = build(SETTINGS["all"])
    assert {nn.Dropout, nn.BatchNorm1d} <= _types(model)
    assert (
        optimizer.param_groups[0]["weight_decay"] > 0
        and penalty is not None
        and augment is not None
    )


@pytest.mark.parametrize("kwargs", [dict(p=1.5), dict(p=-0.1), dict(weight_decay=-1), dict(l1=-1)])
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
    pool, test = tiny_data
    results = [run_setting(SETTINGS[n], pool, test, seed=s, num_epochs=1, **TINY)
               for n in ("none", "dropout") for s in (0, 1)]  # fmt: skip
    json_path, csv_path = save_results(results, tmp_path)
    loaded = load_results(json_path)
    assert loaded == results == load_results(tmp_path)
    assert all(isinstance(r, RunResult) and isinstance(r.history, History) for r in loaded)
    assert all(isinstance(r.setting, Setting) and isinstance(r.hidden, tuple) for r in loaded)
    rows = summarize(results)
    assert [r["setting"] for r in rows] == ["none", "dropout"]
    none = by_seed(results, "test_acc", name="none")
    assert rows[0]["test_acc"] == pytest.approx(sum(none) / 2)
    assert rows[0]["gap"] == pytest.approx(sum(r.train_acc - r.test_acc for r in results[:2]) / 2)
    assert csv_path.read_text().splitlines()[0].startswith("setting,seeds,train_acc")


def test_run_result_round_trips_through_plain_data_with_every_optional_field():
    history = History(epoch=[1, 2], train_loss=[0.5, 0.25], train_acc=[0.5, 0.75],
                      val_loss=[0.7, 0.6], val_acc=[0.4, 0.5], best_epoch=2)  # fmt: skip
    result = RunResult(
        setting=Setting("x", p=0.5, augment=True), seed=3, n_train=10, n_val=4, n_test=5,
        num_epochs=2, hidden=(2, 3), best_epoch=2, device="cpu", history=history,
        train_acc=0.75, test_loss=0.9, test_acc=0.6, val_loss=0.6, val_acc=0.5,
    )  # fmt: skip
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert (result.name, result.epochs_trained) == ("x", 2)
    assert result.gap == pytest.approx(0.15)
    without_val = dataclasses.replace(result, val_loss=None, val_acc=None, best_epoch=None)
    assert RunResult.from_dict(json.loads(json.dumps(without_val.to_dict()))) == without_val


def _cli(*args, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("REGLAB_QUICK", None)
    return subprocess.run([sys.executable, str(CLI), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip


def test_cli_runs_end_to_end_and_writes_results(tmp_path, mnist_root):
    candidates = StudyConfig().candidates
    out = tmp_path / "runs"
    result = _cli("--sizes", "3", "--val-per-class", "2", "--n-test", "50", "--epochs",
                  "1", "--seeds", "2", "--settings", "none", "dropout", "--hidden", "8",
                  "--device", "cpu", "--output", str(out), tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = load_results(out)
    families = {"none": candidates["none"], "dropout": candidates["dropout"]}
    names = {s.name for s in candidates["none"] + candidates["dropout"]}
    joint = {s.name for s in joint_grid(families)}  # "all" with each dropout candidate
    assert len(results) == 2 * (len(names) + len(joint))  # every setting, both seeds
    assert {r.name for r in results} == names | joint
    assert {(r.n_train, r.n_val, r.n_test, r.hidden) for r in results} == {(30, 20, 50, (8,))}
    assert all(r.history.test_acc == [] for r in results)  # the test set once
    assert (out / "summary.csv").exists() and (out / "test_accuracy.png").exists()
    assert "all" in result.stdout and "test acc" in result.stdout


@pytest.fixture
def cli(monkeypatch):
    """The example script as a module (its ``parse_args`` and ``main``): the tests about
    its options and checks call them in process, without starting Python and torch again
    (``REGLAB_QUICK`` unset, as in :func:`_cli`)."""
    import importlib.util

    monkeypatch.delenv("REGLAB_QUICK", raising=False)

    spec = importlib.util.spec_from_file_location("compare_regularizers", CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


def test_cli_help(cli, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.parse_args(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for option in ("--sizes", "--val-per-class", "--n-test", "--epochs", "--patience",
                   "--seeds", "--device", "--output", "--settings", "--hidden"):  # fmt: skip
        assert option in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], "must be a positive integer"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--settings", "everything"], "invalid choice: 'everything'"),
        (["--epochs", "two"], "invalid positive_int value"),
        (["--n-test", "some"], "invalid n_test_type value"),
        (["--sizes", "0"], "must be a positive integer"),
    ],
)
def test_cli_bad_options_are_argparse_errors(args, message, cli, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(args)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err


def test_mean_curves_average_over_seeds(tiny_data):
    pool, test = tiny_data
    results = [
        run_setting(SETTINGS["none"], pool, test, seed=s, num_epochs=2, **TINY) for s in (0, 1)
    ]
    curves = mean_curves(results)
    first, second = (r.history.val_acc for r in results)
    expected = [(a + b) / 2 for a, b in zip(first, second, strict=True)]
    assert curves["none"].val_acc == pytest.approx(expected)
    assert curves["none"].epoch == [1, 2]


def test_cli_n_test_all_means_the_whole_test_split_and_defaults_are_the_books(cli):
    assert cli.parse_args(["--n-test", "all"]).n_test is None
    assert cli.parse_args(["--n-test", "300"]).n_test == 300
    args = cli.parse_args([])  # the defaults are the chapter's StudyConfig
    book = StudyConfig()
    assert (tuple(args.sizes), args.val_per_class, args.n_test) == (
        book.sizes, book.val_per_class, book.n_test)  # fmt: skip
    assert (args.epochs, args.patience) == (book.num_epochs, book.patience)
    assert tuple(range(args.seeds)) == book.seeds and tuple(args.hidden) == book.hidden
    assert args.settings == [f.replace(" ", "-") for f in book.candidates]


def test_cli_rejects_more_images_per_class_than_the_data_root_has(mnist_root, cli, capsys):
    assert cli.main(["--sizes", "100000", "--device", "cpu"]) == 2
    assert "rarest class" in capsys.readouterr().err


def _tiny_study():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(90, 1, 28, 28, generator=g)
    y = torch.arange(90) % 10
    pool, test = (X[:70], y[:70]), (X[70:], y[70:])
    candidates = {
        "none": (Setting("none"),),
        "dropout": (Setting("dropout 0.5", p=0.5), Setting("dropout 0.75", p=0.75)),
    }
    config = dataclasses.replace(StudyConfig(), seeds=(0, 1), sizes=(2, 4), val_per_class=2,
                                 num_epochs=3, patience=1, batch_size=20, hidden=(4,),
                                 candidates=candidates)  # fmt: skip
    return config, pool, test


def test_run_trains_every_setting_at_every_size_and_choices_reads_validation():
    config, pool, test = _tiny_study()
    results = run(config, pool, test, device="cpu")
    settings = config.settings  # the candidates, then the joint grid of "all"
    assert [s.name for s in settings] == [
        "none",
        "dropout 0.5",
        "dropout 0.75",
        "all (dropout 0.5)",
        "all (dropout 0.75)",
    ]
    assert [(r.n_train, r.setting, r.seed) for r in results] == [
        (10 * n, s, k) for n in config.sizes for s in settings for k in config.seeds
    ]
    for r in results:  # the config's budget, the test set once
        assert (r.num_epochs, r.hidden, r.n_val, r.n_test) == (3, (4,), 20, 20)
        assert r.history.test_acc == [] and r.best_epoch is not None
    for n in config.sizes:  # the lowest mean validation loss, family by family, at size n
        at_size = [r for r in results if r.n_train == 10 * n]
        expected = choose(at_size, {**config.candidates, "all": config.joint})
        assert choices(results, config, n) == expected
    # the test set plays no part in the choice: another test set, the same runs on val
    X_test, y_test = test
    other = run(config, pool, (1 - X_test, y_test), device="cpu")
    assert [(r.setting, r.history.val_loss) for r in other] == [
        (r.setting, r.history.val_loss) for r in results
    ]


def test_run_with_one_family_has_nothing_to_combine():
    config, pool, test = _tiny_study()
    config = dataclasses.replace(config, sizes=(2,), candidates={"none": config.candidates["none"]})
    results = run(config, pool, test, device="cpu")
    assert [r.name for r in results] == ["none"] * len(config.seeds)
    assert set(choices(results, config, 2)) == {"none"}


def test_the_joint_grid_is_every_combination_with_every_regularizer_on():
    grid = StudyConfig().joint
    candidates = StudyConfig().candidates
    pairs = {(s.weight_decay, s.p) for s in grid}
    assert pairs == {
        (w.weight_decay, d.p) for w in candidates["weight decay"] for d in candidates["dropout"]
    }
    assert len(grid) == len(pairs) and all(s.batch_norm and s.augment for s in grid)
    assert len({s.name for s in grid}) == len(grid)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seeds=()), "seeds must be distinct"),
        (dict(seeds=(0, 0)), "seeds must be distinct"),
        (dict(sizes=(50, 50)), "sizes must be distinct"),
        (dict(num_epochs=0), "num_epochs must be an integer >= 1"),
        (dict(patience=0), "patience must be an integer >= 1"),
        (dict(n_test=0), "n_test must be an integer >= 1"),
        (dict(lr=0.0), "lr must be a finite number > 0"),
        (dict(hidden=(0,)), "hidden must be an integer >= 1"),
        (dict(candidates={"none": ()}), "candidates must give every family"),
    ],
)
def test_study_config_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StudyConfig(**kwargs)


def test_the_books_candidates_have_unique_names_and_an_early_stopping_margin():
    config = StudyConfig()
    names = [s.name for s in config.settings]
    assert len(names) == len(set(names)) and "all" not in names
    assert 0 < config.num_epochs - config.patience  # a best epoch can lie below the cap
    assert len(config.seeds) >= 5  # a comparison stated in words: at least 5 seeds


def test_the_study_at_any_scale_gives_runs_results_and_resumes(tmp_path, monkeypatch):
    # run_grid_study writes every run of run() to a JSON Lines file, and a rerun trains nothing
    import reglab.studies.together as together

    config, pool, test = _tiny_study()
    expected = together.run(config, pool, test, device="cpu")
    output = tmp_path / "runs.jsonl"
    got = together.run_grid_study(config, pool, test, output=output, device="cpu")
    assert got == expected
    assert len(output.read_text().splitlines()) == len(expected) == 2 * 5 * 2

    def no_training(*args, **kwargs):
        raise AssertionError("a rerun trained again")

    monkeypatch.setattr(together, "run_study", no_training)
    assert together.run_grid_study(config, pool, test, output=output, device="cpu") == expected


def test_the_study_command_checks_its_data_sizes(capsys):
    from reglab.studies.together import main

    with pytest.raises(SystemExit):
        main(["--data-size", "500", "55"])
    assert "--data-size must be multiples of 10, got [500, 55]" in capsys.readouterr().err
