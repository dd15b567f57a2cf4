import copy
import importlib.util
from pathlib import Path

import torch

from reglab.train import small_cnn, train

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "training_loop.py"


def _load():
    spec = importlib.util.spec_from_file_location("training_loop", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_times_the_same_computation_as_train():
    # the comparison is fair only if both loops do the same steps in the same order:
    # same batch order, same updates, hence bit-identical weights
    bench = _load()
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(70, 1, 28, 28, generator=g), torch.randint(0, 10, (70,), generator=g)
    torch.manual_seed(0)
    template = small_cnn()
    kwargs = dict(lr=0.05, num_epochs=2, batch_size=16, seed=3)
    hand, ours = copy.deepcopy(template), copy.deepcopy(template)
    bench.minimal_loop(hand, X, y, **kwargs)
    train(ours, (X, y), device="cpu", progress=False, evaluate_train=False, **kwargs)
    for (name, a), b in zip(hand.state_dict().items(), ours.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = copy.deepcopy(template)
    bench.minimal_loop(other, X, y, **(kwargs | dict(seed=4)))
    assert not torch.equal(other.state_dict()["0.weight"], hand.state_dict()["0.weight"])
