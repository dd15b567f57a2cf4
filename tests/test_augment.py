import re

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from reglab.augment import affine, mnist_augmentation, random_affine
from reglab.data import balanced_subset, load_mnist
from reglab.viewer import SampleViewer


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


@pytest.mark.parametrize("shape", [(28, 28), (20, 32)])
def test_batch_affine_matches_torchvision_per_image(shape):
    torch.manual_seed(0)
    X = torch.rand(4, 1, *shape)
    angle = torch.tensor([90.0, 30.0, -20.0, 7.5])
    shift = torch.tensor([[3.0, -2.0], [2.0, 1.0], [-1.0, 4.0], [0.5, 0.25]])
    zoom = torch.tensor([1.0, 1.2, 0.9, 1.05])
    ours = affine(X, angle, shift, zoom)
    for i in range(4):
        params = dict(angle=angle[i].item(), translate=shift[i].tolist(), scale=zoom[i].item())
        ref = TF.affine(
            X[i], **params, shear=[0.0, 0.0], interpolation=v2.InterpolationMode.BILINEAR
        )
        torch.testing.assert_close(ours[i], ref, rtol=0, atol=1e-5)


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
        (dict(degrees=-1), "degrees must be >= 0"),
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
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
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
