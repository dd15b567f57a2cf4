import copy
import importlib.util
from pathlib import Path

import pytest
import torch
from torch.func import stack_module_state

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vmap_seeds.py"


def _load():
    spec = importlib.util.spec_from_file_location("vmap_seeds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vmapped_step_trains_each_model_as_the_loop_does():
    # the timing compares like with like only if one vmapped step is K loop steps
    bench = _load()
    K, B = 3, 5
    models = bench.make_models(K, 8, torch.device("cpu"))
    initial = [copy.deepcopy(m) for m in models]
    params = {n: p.detach() for n, p in stack_module_state(copy.deepcopy(models))[0].items()}
    step = bench.vmapped_step_fn(models[0])
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(K, B, 784, generator=g), torch.randint(0, 10, (K, B), generator=g)
    bench.loop_step(models, X, y, 0.5)
    step(params, X, y, 0.5)
    for name, stacked in params.items():
        looped = torch.stack([dict(m.named_parameters())[name].detach() for m in models])
        torch.testing.assert_close(stacked, looped)
        before = torch.stack([dict(m.named_parameters())[name].detach() for m in initial])
        assert not torch.allclose(looped, before)  # a step was taken
    assert not torch.equal(params["1.weight"][0], params["1.weight"][1])  # seeds differ


def test_the_check_fails_when_the_models_differ(monkeypatch):
    bench = _load()
    assert bench.check_same_parameters(2, 8, 4, torch.device("cpu"), steps=2) < 1e-4
    loop_step = bench.loop_step
    monkeypatch.setattr(bench, "loop_step", lambda m, X, y, lr: loop_step(m, X, y, 2 * lr))
    with pytest.raises(AssertionError):
        bench.check_same_parameters(2, 8, 4, torch.device("cpu"), steps=2)
