"""reglab.models.small_cnn: shapes, options, and no dropout before batch norm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.models import small_cnn

_DROPOUT = (nn.Dropout, nn.Dropout2d)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize(("p", "p2d"), [(0.0, 0.0), (0.5, 0.0), (0.0, 0.2), (0.5, 0.1)])
def test_small_cnn_layers_and_output_shape(batch_norm, p, p2d):
    model = small_cnn((4, 8), batch_norm=batch_norm, p=p, p2d=p2d, hidden=16)
    types = [type(m) for m in model]
    assert types.count(nn.BatchNorm2d) == (2 if batch_norm else 0)
    assert types.count(nn.Dropout) == (1 if p > 0 else 0)
    assert types.count(nn.Dropout2d) == (1 if p2d > 0 else 0)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    for m in model:
        if isinstance(m, nn.Conv2d):
            assert (m.bias is None) == batch_norm  # the norm's shift replaces the bias


def test_small_cnn_puts_every_dropout_after_every_batch_norm():
    # Dropout before batch norm shifts the variance the norm sees between training and
    # evaluation (Li et al., CVPR 2019): no dropout layer may precede a norm layer.
    model = small_cnn(batch_norm=True, p=0.5, p2d=0.2)
    positions = {i: m for i, m in enumerate(model)}
    last_norm = max(i for i, m in positions.items() if isinstance(m, _NORM))
    first_dropout = min(i for i, m in positions.items() if isinstance(m, _DROPOUT))
    assert last_norm < first_dropout


def test_small_cnn_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="p2d"):
        small_cnn(p2d=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        small_cnn(p=-0.1)
