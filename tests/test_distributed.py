"""Synchronized batch norm across 2 gloo processes against single-process batch norm on the
concatenated batch: outputs, input gradients, weight/bias gradients and running buffers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

from reglab.nn import batch_norm_replica, launch, sync_batch_norm

WORLD_SIZE = 2
STEPS = 3
MOMENTUM, EPS = 0.3, 1e-3


def _config(N, shape, dtype, affine, seed, mean=2.0, std=3.0, eps=EPS):
    g = torch.Generator().manual_seed(seed)
    C = shape[0]
    draw = lambda: torch.randn((N, *shape), generator=g, dtype=torch.float64)  # noqa: E731
    config = {
        "batches": [(std * draw() + mean).to(dtype) for _ in range(STEPS)],
        "grad_outputs": [draw().to(dtype) for _ in range(STEPS)],
        "momentum": MOMENTUM,
        "eps": eps,
    }
    if affine:
        config["weight"] = (torch.rand(C, generator=g, dtype=torch.float64) + 0.5).to(dtype)
        config["bias"] = torch.randn(C, generator=g, dtype=torch.float64).to(dtype)
    return config


CONFIGS = {
    "4d-affine-float64": _config(8, (3, 4, 5), torch.float64, True, 0),
    "3d-float64-unequal-slices": _config(7, (2, 6), torch.float64, False, 1),  # 4 + 3 samples
    "2d-affine-float64-unequal": _config(5, (4,), torch.float64, True, 2),  # (N, C): 3 + 2
    "5d-affine-float32": _config(4, (3, 2, 3, 2), torch.float32, True, 3),
    "3d-affine-float64-one-channel": _config(4, (1, 3), torch.float64, True, 7),
}
# One sample: replica 1's slice is empty, but it still takes part in the collectives.
EMPTY_SLICE_CONFIGS = {"3d-affine-float64-empty-slice": _config(1, (2, 6), torch.float64, True, 6)}
# A large mean and a small spread: E[x^2] - E^2 cancels catastrophically there (in float32 it
# is NaN or off by O(1)); combining per-replica means and variances does not.
LARGE_MEAN, SMALL_STD = 1000.0, 0.01
LARGE_MEAN_CONFIGS = {
    f"4d-affine-{dtype}-mean1000".replace("torch.", ""): _config(
        9, (3, 4, 5), dtype, True, 5, mean=LARGE_MEAN, std=SMALL_STD, eps=1e-5
    )  # 5 + 4 samples
    for dtype in (torch.float32, torch.float64)
}


def _every_config(rank, world_size, configs):
    """Runs in each process: one replica for every configuration."""
    return {name: batch_norm_replica(rank, world_size, **cfg) for name, cfg in configs.items()}


@pytest.fixture(scope="module")
def replicas():
    """The results of both processes, from a single launch (starting processes is slow)."""
    every = CONFIGS | EMPTY_SLICE_CONFIGS | LARGE_MEAN_CONFIGS
    return launch(_every_config, every, world_size=WORLD_SIZE)


def _single_process(config):
    """F.batch_norm on each global batch: the reference the replicas must reproduce."""
    C = config["batches"][0].shape[1]
    dtype = config["batches"][0].dtype
    running_mean, running_var = torch.zeros(C, dtype=dtype), torch.ones(C, dtype=dtype)
    steps = []
    for X, g in zip(config["batches"], config["grad_outputs"], strict=True):
        X = X.clone().requires_grad_()
        params = [
            config[k].clone().requires_grad_() if k in config else None for k in ("weight", "bias")
        ]
        momentum, eps = config["momentum"], config["eps"]
        y = F.batch_norm(X, running_mean, running_var, *params, True, momentum, eps)
        y.backward(g)
        step = {"output": y.detach(), "input_grad": X.grad}
        step.update({"running_mean": running_mean.clone(), "running_var": running_var.clone()})
        if "weight" in config:
            step.update(weight_grad=params[0].grad, bias_grad=params[1].grad)
        steps.append(step)
    return steps


@pytest.mark.parametrize("name", CONFIGS | EMPTY_SLICE_CONFIGS)
def test_sync_batch_norm_matches_single_process_batch_norm(replicas, name):
    config, results = (CONFIGS | EMPTY_SLICE_CONFIGS)[name], [r[name] for r in replicas]
    tol = {} if config["batches"][0].dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    for step, expected in enumerate(_single_process(config)):
        sync = [r["sync"] for r in results]
        for key in ("output", "input_grad"):  # each replica holds its slice: concatenate
            torch.testing.assert_close(
                torch.cat([s[key][step] for s in sync]), expected[key], **tol
            )
        for key in ("weight_grad", "bias_grad"):  # each replica's share: they add up
            if key in expected:
                total = sum(s[key][step] for s in sync)
                torch.testing.assert_close(total, expected[key], **tol)
        for key in ("running_mean", "running_var"):  # identical in every replica
            for s in sync:
                torch.testing.assert_close(s[key][step], expected[key], **tol)
    assert ("weight_grad" in results[0]["sync"]) == ("weight" in config)


@pytest.mark.parametrize("name", LARGE_MEAN_CONFIGS)
def test_sync_batch_norm_is_accurate_at_a_large_mean_and_a_small_spread(replicas, name):
    """Against F.batch_norm on the whole batch (which computes the variance in two passes),
    outputs and gradients. Rounding a mean of 1000 to the dtype moves x - E by up to half a
    unit in the last place, eps * 1000 / 2, which is eps * 1000 / (2 std) in x_hat: each
    quantity may differ from torch's by a few of those, relative to its own size."""
    config, results = LARGE_MEAN_CONFIGS[name], [r[name]["sync"] for r in replicas]
    dtype = config["batches"][0].dtype
    tol = 8 * torch.finfo(dtype).eps * LARGE_MEAN / SMALL_STD  # relative to each quantity
    combine = {"output": torch.cat, "input_grad": torch.cat, "weight_grad": sum, "bias_grad": sum}
    for step, expected in enumerate(_single_process(config)):
        for key, how in combine.items():
            got, want = how([r[key][step] for r in results]), expected[key]
            assert torch.isfinite(got).all(), key
            scale = want.abs().max().item()
            torch.testing.assert_close(
                got, want, rtol=0, atol=tol * scale, msg=lambda m, key=key: f"{key}: {m}"
            )
        for key in ("running_mean", "running_var"):
            for r in results:
                torch.testing.assert_close(r[key][step], expected[key])


@pytest.mark.parametrize("name", CONFIGS)
def test_plain_batch_norm_uses_per_replica_statistics(replicas, name):
    config, results = CONFIGS[name], [r[name] for r in replicas]
    expected = _single_process(config)
    for step, X in enumerate(config["batches"]):
        slices = X.tensor_split(WORLD_SIZE)
        dims = [0, *range(2, X.dim())]
        for rank, (X_r, result) in enumerate(zip(slices, results, strict=True)):
            torch.testing.assert_close(result["slice_mean"][step], X_r.mean(dim=dims))
            # each replica normalizes its slice as if it were the whole batch ...
            params = [config.get("weight"), config.get("bias")]
            alone = F.batch_norm(X_r, None, None, *params, True, config["momentum"], config["eps"])
            torch.testing.assert_close(result["plain"]["output"][step], alone)
            # ... so its output is not the global batch's
            global_slice = expected[step]["output"].tensor_split(WORLD_SIZE)[rank]
            assert not torch.allclose(result["plain"]["output"][step], global_slice, atol=1e-3)
        # and its running buffers are the slice's, different in each replica
        assert not torch.allclose(
            results[0]["plain"]["running_mean"][step], results[1]["plain"]["running_mean"][step]
        )


def test_nn_sync_batch_norm_refuses_cpu_tensors_in_a_process_group(replicas):
    for replica in replicas:
        for result in replica.values():
            assert "expected input tensor to be on GPU" in result["module_error"]
            assert result["module"] == {}


def test_outside_a_process_group_sync_batch_norm_is_plain_batch_norm():
    X = torch.randn(6, 3, 4, dtype=torch.float64)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    rm_t, rv_t = rm.clone(), rv.clone()
    torch.testing.assert_close(
        sync_batch_norm(X, rm, rv, training=True), F.batch_norm(X, rm_t, rv_t, training=True)
    )
    torch.testing.assert_close((rm, rv), (rm_t, rv_t))
    torch.testing.assert_close(sync_batch_norm(X, rm, rv), F.batch_norm(X, rm_t, rv_t))


def test_launch_rejects_an_empty_world():
    with pytest.raises(ValueError, match="world_size must be an integer >= 1, got 0"):
        launch(_every_config, {}, world_size=0)
    with pytest.raises(
        TypeError, match=r"^fn must be a callable fn\(rank, world_size, \*args\), got str$"
    ):
        launch("_every_config", {})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="nn.SyncBatchNorm needs a GPU")
def test_nn_sync_batch_norm_on_cuda_matches_the_from_scratch_version():
    """Both processes share the visible GPU (gloo moves CUDA tensors too)."""
    config = _config(8, (3, 4, 5), torch.float64, True, 4)
    replicas = launch(_every_config, {"cuda": {**config, "device": "cuda"}})
    results = [r["cuda"] for r in replicas]
    expected = _single_process(config)
    for r in results:
        assert r["module_error"] is None
    for step in range(STEPS):
        for key in ("output", "input_grad"):
            for layer in ("module", "sync"):
                got = torch.cat([r[layer][key][step] for r in results])
                torch.testing.assert_close(got, expected[step][key], rtol=1e-9, atol=1e-9)
        for key in ("weight_grad", "bias_grad", "running_mean", "running_var"):
            for r in results:
                torch.testing.assert_close(r["module"][key][step], r["sync"][key][step])


def _in_threads(config):
    """Both replicas in threads of this process, each with its own gloo group: mutation
    testing sees the code run here (in spawned processes it cannot)."""
    store = dist.HashStore()

    def replica(rank):
        group = dist.ProcessGroupGloo(store, rank, WORLD_SIZE, timedelta(seconds=10))
        return batch_norm_replica(rank, WORLD_SIZE, **config, process_group=group)

    with ThreadPoolExecutor(WORLD_SIZE) as pool:
        futures = [pool.submit(replica, rank) for rank in range(WORLD_SIZE)]
        return [f.result(timeout=60) for f in futures]


@pytest.mark.parametrize("name", CONFIGS | EMPTY_SLICE_CONFIGS)
def test_replicas_in_threads_match_single_process_batch_norm(name):
    config = (CONFIGS | EMPTY_SLICE_CONFIGS)[name]
    replicas = _in_threads(config)
    dtype = config["batches"][0].dtype
    tol = {} if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    for step, expected in enumerate(_single_process(config)):
        for key, want in expected.items():
            got = [r["sync"][key][step] for r in replicas]
            if key in ("output", "input_grad"):  # each replica holds its slice
                torch.testing.assert_close(torch.cat(got), want, **tol)
            elif key in ("weight_grad", "bias_grad"):  # each replica's share: they add up
                torch.testing.assert_close(sum(got), want, **tol)
            else:  # running buffers: identical in every replica
                for value in got:
                    torch.testing.assert_close(value, want, **tol)
        # plain batch norm: each replica normalizes its slice as if it were the whole batch
        params = [config.get("weight"), config.get("bias")]
        for rank, replica in enumerate(replicas):
            X_r = config["batches"][step].tensor_split(WORLD_SIZE)[rank]
            dims = [0, *range(2, X_r.dim())]
            torch.testing.assert_close(
                replica["slice_mean"][step], X_r.mean(dim=dims), equal_nan=True
            )
            if X_r.shape[0] > 1:
                alone = F.batch_norm(
                    X_r, None, None, *params, True, config["momentum"], config["eps"]
                )
                torch.testing.assert_close(replica["plain"]["output"][step], alone, **tol)
            # nn.SyncBatchNorm without a default group: plain batch norm too, same settings
            if replica["module_error"] is None:
                for key, value in replica["plain"].items():
                    torch.testing.assert_close(replica["module"][key][step], value[step], **tol)
    assert ("weight_grad" in replicas[0]["sync"]) == ("weight" in config)


def test_a_replica_with_a_single_value_still_counts():
    # one channel, 3 + 1 samples: the second replica's slice holds one value, whose
    # mean is that value and whose variance is 0; plain batch norm would refuse it
    X = torch.tensor([[0.5], [2.0], [-1.0], [4.0]], dtype=torch.float64)
    store = dist.HashStore()

    def replica(rank):
        group = dist.ProcessGroupGloo(store, rank, WORLD_SIZE, timedelta(seconds=10))
        X_r = (X[:3], X[3:])[rank]
        return sync_batch_norm(X_r, None, None, training=True, process_group=group)

    with ThreadPoolExecutor(WORLD_SIZE) as pool:
        futures = [pool.submit(replica, rank) for rank in range(WORLD_SIZE)]
        y = torch.cat([f.result(timeout=60) for f in futures])
    torch.testing.assert_close(y, F.batch_norm(X, None, None, training=True))


def _sync_in_threads(slices, **kwargs):
    """sync_batch_norm on each slice, one thread per replica, each with its own group."""
    store = dist.HashStore()

    def replica(rank):
        group = dist.ProcessGroupGloo(store, rank, len(slices), timedelta(seconds=10))
        return sync_batch_norm(slices[rank], training=True, process_group=group, **kwargs)

    with ThreadPoolExecutor(len(slices)) as pool:
        futures = [pool.submit(replica, rank) for rank in range(len(slices))]
        return [f.result(timeout=60) for f in futures]


def test_two_values_in_all_are_enough_and_one_is_not():
    X = torch.tensor([[0.5], [2.0]], dtype=torch.float64)  # one value in each replica
    y = torch.cat(_sync_in_threads([X[:1], X[1:]], running_mean=None, running_var=None))
    torch.testing.assert_close(y, F.batch_norm(X, None, None, training=True))
    message = r"^Expected more than 1 value per channel when training, got 1 in total$"
    with pytest.raises(ValueError, match=message):
        _sync_in_threads([X[:1], X[:0]], running_mean=None, running_var=None)


def test_only_the_parameters_that_require_grad_get_one():
    g = torch.Generator().manual_seed(9)
    X = torch.randn(6, 2, dtype=torch.float64, generator=g)
    weight, bias = (
        torch.tensor([1.5, 0.5], dtype=torch.float64),
        torch.zeros(2, dtype=torch.float64),
    )
    weights = [weight.clone().requires_grad_() for _ in range(WORLD_SIZE)]
    slices = X.tensor_split(WORLD_SIZE)
    store = dist.HashStore()

    def replica(rank):
        group = dist.ProcessGroupGloo(store, rank, WORLD_SIZE, timedelta(seconds=10))
        y = sync_batch_norm(slices[rank], None, None, weights[rank], bias, True, 0.1, 1e-5, group)
        y.sum().backward()

    with ThreadPoolExecutor(WORLD_SIZE) as pool:
        for f in [pool.submit(replica, rank) for rank in range(WORLD_SIZE)]:
            f.result(timeout=60)
    reference = weight.clone().requires_grad_()
    F.batch_norm(X, None, None, reference, bias, True).sum().backward()
    torch.testing.assert_close(weights[0].grad + weights[1].grad, reference.grad)


def test_a_replica_of_one_uses_the_default_momentum_and_eps():
    g = torch.Generator().manual_seed(10)
    X = 3 * torch.randn(5, 2, dtype=torch.float64, generator=g) + 1
    result = batch_norm_replica(0, 1, [X])  # no process group: plain batch norm
    running_mean, running_var = torch.zeros(2, dtype=X.dtype), torch.ones(2, dtype=X.dtype)
    y = F.batch_norm(X, running_mean, running_var, training=True)  # momentum 0.1, eps 1e-5
    torch.testing.assert_close(result["sync"]["output"][0], y)
    torch.testing.assert_close(result["sync"]["running_var"][0], running_var)


@pytest.mark.parametrize(
    ("rank", "world_size", "batches", "match"),
    [
        (0, 0, [torch.ones(2, 1)], r"^world_size must be an integer >= 1, got 0$"),
        (0, True, [torch.ones(2, 1)], r"^world_size must be an integer >= 1, got True$"),
        (0, 2.0, [torch.ones(2, 1)], r"^world_size must be an integer >= 1, got 2\.0$"),
        (2, 2, [torch.ones(2, 1)], r"^rank must be an integer in \[0, 2\), got 2$"),
        (-1, 2, [torch.ones(2, 1)], r"^rank must be an integer in \[0, 2\), got -1$"),
        (True, 2, [torch.ones(2, 1)], r"^rank must be an integer in \[0, 2\), got True$"),
        (1.0, 2, [torch.ones(2, 1)], r"^rank must be an integer in \[0, 2\), got 1\.0$"),
        (0, 1, [], r"^batches must hold at least one batch$"),
    ],
    ids=["world-0", "world-bool", "world-float", "rank-2", "rank-neg", "rank-bool", "rank-float",
         "no-batches"],
)  # fmt: skip
def test_batch_norm_replica_checks_its_arguments(rank, world_size, batches, match):
    with pytest.raises(ValueError, match=match):
        batch_norm_replica(rank, world_size, batches)


@pytest.mark.parametrize("name", ["input", "running_mean", "running_var", "weight", "bias"])
def test_sync_batch_norm_names_an_argument_that_is_no_tensor(name):
    arguments = dict(input=torch.ones(3, 2), running_mean=None, running_var=None) | {name: [1.0]}
    kind = "a Tensor" if name == "input" else "a Tensor or None"
    match = rf"^sync_batch_norm\(\): argument '{name}' must be {kind}, not list$"
    with pytest.raises(TypeError, match=match):
        sync_batch_norm(**arguments)


def test_outside_a_process_group_weight_bias_and_eps_are_those_of_batch_norm():
    g = torch.Generator().manual_seed(11)
    X = torch.randn(6, 3, dtype=torch.float64, generator=g)
    weight, bias = torch.rand(3, dtype=torch.float64, generator=g) + 0.5, torch.ones(3).double()
    expected = F.batch_norm(X, None, None, weight, bias, True, 0.1, 0.5)
    torch.testing.assert_close(
        sync_batch_norm(X, None, None, weight, bias, True, 0.1, 0.5), expected
    )


def test_in_a_group_a_one_dimensional_input_is_refused():
    message = r"^expected an input of shape \(N, C, \*\); got \(2,\)$"
    with pytest.raises(ValueError, match=message):
        _sync_in_threads([torch.ones(2), torch.ones(2)], running_mean=None, running_var=None)


def _rank_and_threads(rank, world_size, tag):
    if tag == "raise":
        raise RuntimeError("fn failed")
    return {"rank": rank, "world_size": world_size, "tag": tag,
            "threads": torch.get_num_threads(), "group": dist.get_world_size()}  # fmt: skip


def test_a_worker_joins_the_group_saves_fns_result_and_leaves(tmp_path):
    # what launch() runs in each spawned process, here in this one (a group of one), so
    # that its lines run where the tests can see them
    from reglab.nn.sync_batchnorm import _worker

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # the worker sets one thread per replica
        _worker(0, _rank_and_threads, 1, "gloo", str(tmp_path), ("x",))
        assert not dist.is_initialized()  # the group is destroyed afterwards
        saved = torch.load(tmp_path / "rank0.pt")
        assert saved == {"rank": 0, "world_size": 1, "tag": "x", "threads": 1, "group": 1}
        failing = tmp_path / "failing"
        failing.mkdir()
        with pytest.raises(RuntimeError, match="fn failed"):
            _worker(0, _rank_and_threads, 1, "gloo", str(failing), ("raise",))
        assert not dist.is_initialized()  # also after fn raised
        assert not (failing / "rank0.pt").exists()
    finally:
        torch.set_num_threads(threads)
