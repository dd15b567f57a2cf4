import re
import warnings

import pytest
import torch
from PIL import Image
from scipy.stats import ks_2samp
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from reglab.data import (
    affine,
    balanced_subset,
    load_mnist,
    mnist_augmentation,
    random_affine,
    sample_affine_params,
)
from reglab.plotting.viewer import SampleViewer


def test_pipeline_output_dtype_range_and_shape(tiny_mnist):
    root, _, labels = tiny_mnist
    dataset = load_mnist(train=True, root=root, transform=mnist_augmentation())
    for i in range(5):
        X, y = dataset[i]
        assert X.shape == (1, 28, 28) and X.dtype == torch.float32
        assert 0.0 <= X.min() and X.max() <= 1.0
        assert y == int(labels[i])  # the label is never touched


def test_pipeline_is_the_seeds(tiny_mnist):
    pipeline = mnist_augmentation()
    affine_t, to_image, to_dtype = pipeline.transforms
    assert isinstance(affine_t, v2.RandomAffine) and affine_t.degrees == [-10.0, 10.0]
    assert affine_t.translate == (0.1, 0.1) and affine_t.scale == (0.9, 1.1)
    assert isinstance(to_image, v2.ToImage) and to_dtype.scale is True


def test_seeded_augmentation_is_reproducible(tiny_mnist):
    root, _, _ = tiny_mnist
    dataset = load_mnist(train=True, root=root, transform=mnist_augmentation(degrees=30))
    torch.manual_seed(0)
    a = dataset[3][0]
    torch.manual_seed(0)
    b = dataset[3][0]
    c = dataset[3][0]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_neutral_parameters_are_the_identity():
    pil = Image.fromarray(torch.randint(0, 256, (28, 28), dtype=torch.uint8).numpy())
    out = mnist_augmentation(degrees=0, translate=(0, 0), scale=(1, 1))(pil)
    torch.testing.assert_close(out, TF.to_dtype(TF.to_image(pil), torch.float32, scale=True))
    X = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(random_affine(X, 0, (0, 0), (1, 1)), X)


def _reference(X, params, i, **kwargs):
    """torchvision's own affine of image i with the parameters drawn for it."""
    return TF.affine(
        X[i],
        angle=params["angle"][i].item(),
        translate=params["translate"][i].tolist(),
        scale=params["scale"][i].item(),
        shear=params["shear"][i].tolist(),
        **kwargs,
    )


@pytest.mark.parametrize("shape", [(28, 28), (20, 32)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [0, 0.25, [0.5, 1.0], None])
def test_random_affine_is_v2_affine_image_by_image(shape, interpolation, fill):
    X = torch.rand(16, 2, *shape, generator=torch.Generator().manual_seed(0))
    ranges = dict(degrees=30, translate=(0.2, 0.3), scale=(0.7, 1.3), shear=(-10, 10, -5, 5))
    ours = random_affine(X, **ranges, interpolation=interpolation, fill=fill,
                         generator=torch.Generator().manual_seed(1))  # fmt: skip
    params = sample_affine_params(16, shape, **ranges, generator=torch.Generator().manual_seed(1))
    mode = v2.InterpolationMode(interpolation)
    for i in range(16):
        assert torch.equal(ours[i], _reference(X, params, i, interpolation=mode, fill=fill)), i


def test_random_affine_defaults_are_v2s_nearest_and_zero_fill():
    X = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ours = random_affine(X, generator=torch.Generator().manual_seed(2))
    params = sample_affine_params(8, (28, 28), generator=torch.Generator().manual_seed(2))
    for i in range(8):  # TF.affine's own defaults: nearest; RandomAffine's fill: 0
        assert torch.equal(ours[i], _reference(X, params, i, fill=0))
    bilinear = random_affine(
        X, interpolation="bilinear", generator=torch.Generator().manual_seed(2)
    )
    assert not torch.equal(ours, bilinear)


def test_uint8_images_round_like_torchvision():
    X = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    ours = random_affine(
        X, 20, interpolation="bilinear", generator=torch.Generator().manual_seed(0)
    )
    params = sample_affine_params(6, (28, 28), 20, generator=torch.Generator().manual_seed(0))
    assert ours.dtype == torch.uint8
    for i in range(6):
        ref = _reference(X, params, i, interpolation=v2.InterpolationMode.BILINEAR, fill=0)
        assert torch.equal(ours[i], ref)


@pytest.mark.parametrize("shear", [None, 5.0, (-5, 5, -3, 3)])
def test_one_image_with_the_global_rng_is_exactly_v2_random_affine(shear):
    # same draws in the same order from the global RNG as v2.RandomAffine.make_params
    X = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for seed in range(10):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            ours = random_affine(X, 10, (0.1, 0.1), (0.9, 1.1), shear)
            torch.manual_seed(seed)
            theirs = v2.RandomAffine(10, (0.1, 0.1), (0.9, 1.1), shear)(X)
        assert torch.equal(ours, theirs), seed


RANGES = dict(degrees=(-15, 25), translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-6, 6, -2, 4))
SIZE = (20, 32)  # H != W: catches a shift drawn along the wrong side


def _torchvision_draws(n, **ranges):
    """n parameter sets from torchvision's own make_params (under a fixed seed)."""
    transform = v2.RandomAffine(**ranges)
    image = torch.zeros(1, *SIZE)
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        draws = [transform.make_params([image]) for _ in range(n)]
    return {
        "angle": [d["angle"] for d in draws],
        "tx": [d["translate"][0] for d in draws],
        "ty": [d["translate"][1] for d in draws],
        "scale": [d["scale"] for d in draws],
        "shear_x": [d["shear"][0] for d in draws],
        "shear_y": [d["shear"][1] for d in draws],
    }


def _our_draws(n, **ranges):
    p = sample_affine_params(n, SIZE, **ranges, generator=torch.Generator().manual_seed(0))
    return {
        "angle": p["angle"].tolist(),
        "tx": p["translate"][:, 0].tolist(),
        "ty": p["translate"][:, 1].tolist(),
        "scale": p["scale"].tolist(),
        "shear_x": p["shear"][:, 0].tolist(),
        "shear_y": p["shear"][:, 1].tolist(),
    }


def test_parameter_distribution_matches_torchvisions_draws():
    ours, theirs = _our_draws(3000, **RANGES), _torchvision_draws(3000, **RANGES)
    for name in ours:
        result = ks_2samp(ours[name], theirs[name])
        assert result.pvalue > 0.01, (name, result)
    # whole-pixel shifts, and the same support: |tx| <= round(0.1 * 32), |ty| <= round(0.2 * 20)
    for name, bound in (("tx", 3), ("ty", 4)):
        assert set(ours[name]) == set(theirs[name]) == set(range(-bound, bound + 1)), name
    for name in ("angle", "scale", "shear_x", "shear_y"):  # the range is covered
        assert min(ours[name]) == pytest.approx(min(theirs[name]), abs=0.1)
        assert max(ours[name]) == pytest.approx(max(theirs[name]), abs=0.1)


@pytest.mark.parametrize(
    "name, mutant",
    [
        ("angle", lambda p: p["angle"].abs()),  # only positive angles
        ("scale", lambda p: torch.full_like(p["scale"], 1.0)),  # fixed zoom
        ("tx", lambda p: p["translate"][:, 0] / 2),  # half the shift
    ],
)
def test_the_distribution_test_kills_mutants(name, mutant):
    # the KS comparison above must reject parameters drawn the wrong way
    params = sample_affine_params(3000, SIZE, **RANGES, generator=torch.Generator().manual_seed(0))
    theirs = _torchvision_draws(3000, **RANGES)
    assert ks_2samp(mutant(params).tolist(), theirs[name]).pvalue < 1e-6


def test_angles_take_both_signs_and_zoom_varies():
    p = sample_affine_params(500, (28, 28), generator=torch.Generator().manual_seed(0))
    assert p["angle"].min() < -9 and p["angle"].max() > 9  # U[-10, 10]
    assert p["scale"].min() < 0.91 and p["scale"].max() > 1.09  # U[0.9, 1.1]
    assert torch.equal(p["translate"], p["translate"].round())


def test_none_turns_shift_zoom_and_shear_off():
    p = sample_affine_params(50, (28, 28), 10, None, None, None,
                             generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.equal(p["translate"], torch.zeros(50, 2))
    assert torch.equal(p["scale"], torch.ones(50))
    assert torch.equal(p["shear"], torch.zeros(50, 2))


def test_random_affine_draws_per_image_parameters_unlike_v2():
    X = torch.zeros(2, 1, 28, 28)
    X[:, :, 5, 20] = 1.0  # the same image twice
    ours = random_affine(X, 40, (0.2, 0.2), generator=torch.Generator().manual_seed(0))
    assert not torch.equal(ours[0], ours[1])
    theirs = v2.RandomAffine(degrees=40, translate=(0.2, 0.2))(X)
    assert torch.equal(theirs[0], theirs[1])  # v2 on a batch: one transform for all


def test_random_affine_is_seeded_and_bounded():
    X = torch.rand(8, 1, 28, 28)
    a = random_affine(X, generator=torch.Generator().manual_seed(1))
    b = random_affine(X, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert a.shape == X.shape and a.min() >= 0 and a.max() <= 1 + 1e-6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(degrees=-1), "degrees must be >= 0 when it is a single number, got -1"),
        (dict(degrees=(5, -5)), r"degrees must be \(min, max\) pairs with min <= max"),
        (dict(degrees=(1, 2, 3)), r"degrees must be a number or a sequence of \(2,\) numbers"),
        (dict(translate=(0.1, 1.5)), r"translate must be two fractions in \[0, 1\]"),
        (dict(scale=(1.2, 0.9)), "scale must be"),
        (dict(scale=(0.0, 1.0)), "scale must be"),
    ],
)
def test_bad_augmentation_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mnist_augmentation(**kwargs)
    with pytest.raises(ValueError, match=match):
        random_affine(torch.rand(1, 1, 28, 28), **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shear=-1), "shear must be >= 0 when it is a single number"),
        (dict(shear=(1, 2, 3)), r"shear must be a number or a sequence of \(2, 4\) numbers"),
        (dict(interpolation="bicubic"), "interpolation must be 'nearest' or 'bilinear'"),
        (dict(interpolation="cubic"), "interpolation must be 'nearest' or 'bilinear'"),
        (dict(fill=[0.1, 0.2, 0.3]), r"fill must be one number or one per channel \(2\)"),
    ],
)
def test_bad_random_affine_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_affine(torch.rand(1, 2, 28, 28), **kwargs)


def test_affine_checks_parameter_shapes():
    X = torch.rand(3, 1, 8, 8)
    good = dict(angle=torch.zeros(3), translate=torch.zeros(3, 2), scale=torch.ones(3))
    with pytest.raises(ValueError, match=r"angle must have shape \(3,\), got \(2,\)"):
        affine(X, **(good | dict(angle=torch.zeros(2))))
    with pytest.raises(ValueError, match=r"translate must have shape \(3, 2\)"):
        affine(X, **(good | dict(translate=torch.zeros(3))))
    with pytest.raises(ValueError, match=r"scale must be > 0, got 0\.0"):
        affine(X, **(good | dict(scale=torch.tensor([1.0, 0.0, 1.0]))))
    with pytest.raises(ValueError, match=r"X must be a batch \(N, C, H, W\)"):
        affine(X[0], **good)


@pytest.mark.parametrize("name", ["angle", "translate", "scale", "shear"])
def test_affine_names_the_parameter_of_the_wrong_shape(name):
    X = torch.rand(3, 1, 8, 8)
    good = dict(angle=torch.zeros(3), translate=torch.zeros(3, 2), scale=torch.ones(3),
                shear=torch.zeros(3, 2))  # fmt: skip
    with pytest.raises(ValueError, match=rf"^{name} must have shape"):
        affine(X, **(good | {name: torch.ones(4)}))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_works_in_the_images_dtype(dtype, interpolation):
    X = torch.rand(6, 2, 12, 10, generator=torch.Generator().manual_seed(0), dtype=dtype)
    ranges = dict(degrees=30, translate=(0.2, 0.3), scale=(0.7, 1.3), shear=(-10, 10, -5, 5))
    params = sample_affine_params(6, (12, 10), **ranges, generator=torch.Generator().manual_seed(1))
    ours = affine(X, **params, interpolation=interpolation, fill=[0.1, 0.3])
    assert ours.dtype == dtype
    mode = v2.InterpolationMode(interpolation)
    for i in range(6):  # torchvision warps in the image's dtype (fill included)
        ref = _reference(X, params, i, interpolation=mode, fill=[0.1, 0.3])
        assert torch.equal(ours[i], ref), i


def test_affine_defaults_fill_with_zeros_and_warn_nothing():
    X = torch.ones(2, 3, 6, 6)
    shift = dict(angle=torch.zeros(2), translate=torch.tensor([[3.0, 0.0], [0.0, -3.0]]),
                 scale=torch.ones(2))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. grid_sample's align_corners warning
        out = affine(X, **shift)
    assert out[0, :, :, :3].eq(0).all() and out[0, :, :, 3:].eq(1).all()  # from outside: 0
    assert out[1, :, 3:].eq(0).all() and out[1, :, :3].eq(1).all()
    one_value = affine(X, **shift, fill=[0.5])  # one number for every channel
    assert torch.equal(one_value, affine(X, **shift, fill=0.5))
    assert one_value[0, :, :, :3].eq(0.5).all()


def test_affine_on_a_single_pixel_still_warps():
    X = torch.ones(1, 1, 1, 1)
    out = affine(X, torch.zeros(1), torch.tensor([[1.0, 0.0]]), torch.ones(1), fill=0.0)
    assert out.item() == 0.0  # shifted out of the image: the fill


def test_degenerate_and_extreme_ranges_are_allowed():
    X = torch.rand(4, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    params = sample_affine_params(4, (9, 9), (5, 5), translate=(1.0, 1.0),
                                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert params["angle"].eq(5).all()  # a range of one angle: exactly that angle
    assert params["translate"].abs().max() <= 9  # up to the whole image, in pixels
    out = random_affine(X, (5, 5), translate=(1.0, 1.0), generator=torch.Generator())
    assert out.shape == X.shape


def test_sample_affine_params_turned_off_parts_are_float64_zeros_and_ones():
    params = sample_affine_params(3, (8, 8), 10, translate=None, scale=None, shear=None,
                                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert params["translate"].dtype == params["scale"].dtype == torch.float64
    assert params["shear"].dtype == torch.float64
    assert params["translate"].eq(0).all() and params["scale"].eq(1).all()
    assert params["shear"].eq(0).all()
    empty = sample_affine_params(0, (8, 8), 10)  # no images: empty, not an error
    assert empty["angle"].shape == (0,) and empty["translate"].shape == (0, 2)


@pytest.mark.parametrize("N, error", [(-1, ValueError), (True, TypeError), (2.0, TypeError)])
def test_sample_affine_params_rejects_a_bad_count(N, error):
    with pytest.raises(error, match=rf"N must be an integer >= 0, got .*{N!r}"):
        sample_affine_params(N, (28, 28))


def test_random_affine_needs_a_batch():
    with pytest.raises(ValueError, match=r"batch \(N, C, H, W\)"):
        random_affine(torch.rand(1, 28, 28))


def test_balanced_subset_is_balanced_and_seeded():
    y = torch.arange(1000) % 10
    y = y[torch.randperm(1000, generator=torch.Generator().manual_seed(0))]
    idx = balanced_subset(y, 7, generator=torch.Generator().manual_seed(3))
    assert len(idx) == 70 and len(set(idx.tolist())) == 70
    assert torch.bincount(y[idx], minlength=10).tolist() == [7] * 10
    same = balanced_subset(y, 7, generator=torch.Generator().manual_seed(3))
    other = balanced_subset(y, 7, generator=torch.Generator().manual_seed(4))
    assert torch.equal(idx, same) and not torch.equal(idx, other)


def test_balanced_subset_errors():
    y = torch.tensor([0, 0, 0, 1])
    with pytest.raises(ValueError, match="class 1 has 1 samples, fewer than n_per_class=2"):
        balanced_subset(y, 2)
    with pytest.raises(ValueError, match="n_per_class must be an integer >= 1, got 0"):
        balanced_subset(y, 0)


def _viewer(k=3, a=4):
    g = torch.Generator().manual_seed(0)
    return SampleViewer(
        torch.rand(k, 1, 28, 28, generator=g),
        torch.rand(k, a, 1, 28, 28, generator=g),
        list(range(k)),
    )


def test_viewer_html_holds_every_frame_and_no_external_url():
    viewer = _viewer()
    page = viewer._repr_html_()
    frames = re.findall(r'"(data:image/png;base64,[^"]+)"', page)
    assert len(set(frames)) == len(viewer) == 3  # each frame embedded once in the JS array
    assert frames[0] in page.split("<script>")[0]  # the first frame shown without JS
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "http://" not in page and "https://" not in page
    assert 'type="range"' in page and 'max="2"' in page
    assert page == _viewer()._repr_html_()  # deterministic: same input, same HTML


def test_viewer_frame_layout():
    viewer = _viewer(k=2, a=4)
    frame = viewer.frame(0)
    assert frame.size == ((28 * 5 + 14) * 4, 28 * 4)  # original, gap, 4 augmentations, zoom 4


def test_viewer_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="differ in length"):
        SampleViewer(torch.rand(2, 1, 28, 28), torch.rand(3, 2, 1, 28, 28), [0, 1])
