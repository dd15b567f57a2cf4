"""A sample viewer that works without a kernel: a slider over frames, in plain HTML and JS.

The seed notebook browsed MNIST with an ipywidgets slider, which needs a running Python
kernel. :class:`SampleViewer` renders every frame to a PNG up front and embeds them in a
self-contained HTML snippet (no external script, style or font), so it works on the static
site and offline; :meth:`SampleViewer.widget` gives the ipywidgets slider in Jupyter.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json

import torch
from PIL import Image

from reglab._checks import check_positive_int

__all__ = ["SampleViewer"]


def _to_uint8(image: torch.Tensor) -> torch.Tensor:
    image = image.detach().cpu().float()
    if image.dim() == 3:
        image = image.squeeze(0)  # (1, H, W) -> (H, W)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


class SampleViewer:
    r"""Scrub through samples and their augmented versions with a slider.

    Args:
        originals (Tensor): :math:`(K, 1, H, W)` images in [0, 1].
        augmented (Tensor): :math:`(K, A, 1, H, W)`: ``A`` augmented versions of each.
        labels (Tensor or list): :math:`(K,)` labels, shown with each frame.
        zoom (int): pixel size of the rendered images, ``>= 1``. Default: ``4``.

    Raises:
        ValueError: the inputs differ in length or are empty, or ``zoom`` is not a positive
            integer.

    Each frame is one strip: the original, a gap, then the ``A`` augmentations.
    """

    def __init__(self, originals, augmented, labels, *, zoom: int = 4):
        if len(originals) != len(augmented) or len(originals) != len(labels):
            raise ValueError(
                f"originals, augmented and labels differ in length: "
                f"{len(originals)}, {len(augmented)}, {len(labels)}"
            )
        if len(originals) == 0:
            raise ValueError("nothing to show: originals is empty")
        check_positive_int(zoom, "zoom")
        self.originals, self.augmented = originals, augmented
        self.labels = [int(label) for label in labels]
        self.zoom = zoom

    def __len__(self) -> int:
        return len(self.originals)

    def frame(self, i: int) -> Image.Image:
        """Frame ``i`` as a PIL image: the original, a gap, then its augmentations."""
        images = [_to_uint8(self.originals[i])] + [_to_uint8(a) for a in self.augmented[i]]
        H, W = images[0].shape
        gap = torch.full((H, W // 2), 128, dtype=torch.uint8)  # grey separator
        strip = torch.cat([images[0], gap, *images[1:]], dim=1)
        img = Image.fromarray(strip.numpy())  # uint8 (H, W): grey-scale
        return img.resize((img.width * self.zoom, img.height * self.zoom), Image.NEAREST)

    def png(self, i: int) -> bytes:
        """Frame ``i`` encoded as PNG bytes."""
        buffer = io.BytesIO()
        self.frame(i).save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()

    def frames_as_data_uris(self) -> list[str]:
        """Every frame as a ``data:`` URI, so the HTML needs no other file."""
        return [
            "data:image/png;base64," + base64.b64encode(self.png(i)).decode()
            for i in range(len(self))
        ]

    def _repr_html_(self) -> str:
        frames = self.frames_as_data_uris()
        uid = "rv" + hashlib.sha1("".join(frames).encode()).hexdigest()[:10]  # deterministic
        captions = [
            f"sample {i + 1} of {len(self)}, label {label}: original | "
            f"{len(self.augmented[i])} augmentations"
            for i, label in enumerate(self.labels)
        ]
        return f"""<div class="reglab-viewer" id="{uid}">
<img src="{frames[0]}" alt="{html.escape(captions[0])}"
 style="image-rendering: pixelated; max-width: 100%;">
<div style="display: flex; gap: 0.75em; align-items: center;">
<button type="button" data-step="-1" aria-label="previous sample">&#9664;</button>
<input type="range" min="0" max="{len(frames) - 1}" value="0" step="1"
 aria-label="sample" style="flex: 1;">
<button type="button" data-step="1" aria-label="next sample">&#9654;</button>
</div>
<p class="reglab-viewer-caption" aria-live="polite">{html.escape(captions[0])}</p>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var frames = {json.dumps(frames)};
  var captions = {json.dumps(captions)};
  var img = root.querySelector("img"), slider = root.querySelector("input"),
      caption = root.querySelector(".reglab-viewer-caption");
  function show(i) {{
    i = Math.max(0, Math.min(frames.length - 1, i));
    slider.value = i; img.src = frames[i]; img.alt = captions[i]; caption.textContent = captions[i];
  }}
  slider.addEventListener("input", function () {{ show(parseInt(slider.value, 10)); }});
  root.querySelectorAll("button").forEach(function (b) {{
    b.addEventListener("click", function () {{
      show(parseInt(slider.value, 10) + parseInt(b.dataset.step, 10));
    }});
  }});
}})();
</script>
</div>"""

    def widget(self):
        """An ipywidgets slider with the same frames, for a live Jupyter kernel."""
        import ipywidgets as widgets

        frames = [widgets.Image(value=self.png(i), format="png") for i in range(len(self))]
        label = widgets.Label()
        box = widgets.VBox([frames[0], label])

        def update(i):
            box.children = [frames[i], label]
            label.value = f"sample {i + 1} of {len(self)}, label {self.labels[i]}"

        slider = widgets.IntSlider(min=0, max=len(self) - 1, description="sample")
        slider.observe(lambda change: update(change["new"]), names="value")
        update(0)
        return widgets.VBox([slider, box])
