import numpy as np
import pytest
import torch

from reglab.plotting.viewer import SampleViewer


@pytest.mark.parametrize("k", [0])
def test_an_empty_viewer_is_a_clear_error(k):
    with pytest.raises(ValueError, match="nothing to show: originals is empty"):
        SampleViewer(torch.rand(k, 1, 28, 28), torch.rand(k, 2, 1, 28, 28), [])


@pytest.mark.parametrize("zoom, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError)])
def test_zoom_must_be_a_positive_integer(zoom, error):
    with pytest.raises(error, match=rf"zoom must be an integer >= 1, got .*{zoom}"):
        SampleViewer(torch.rand(1, 1, 4, 4), torch.rand(1, 2, 1, 4, 4), [3], zoom=zoom)


def test_frames_show_the_pixels_zoomed_with_a_grey_gap():
    original = torch.zeros(1, 1, 2, 4)
    augmented = torch.ones(1, 1, 1, 2, 4)
    frame = torch.from_numpy(np.array(SampleViewer(original, augmented, [0], zoom=2).frame(0)))
    assert frame.shape == (4, 2 * (4 + 2 + 4))  # zoom 2 of (2, 4 + gap 2 + 4)
    assert (
        (frame[:, :8] == 0).all() and (frame[:, 8:12] == 128).all() and (frame[:, 12:] == 255).all()
    )
