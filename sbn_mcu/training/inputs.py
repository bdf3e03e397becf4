"""The training input: raw values as the network takes them, on torch tensors."""

from __future__ import annotations

import numpy as np
import torch

from ..ir.input_spec import InputSpec


def normalise(spec: InputSpec, raw: torch.Tensor) -> torch.Tensor:
    """``x = (a[c] * r + b[c]) / scale`` in float32 on ``raw``'s device: the input spec's
    normalisation (:meth:`InputSpec.normalise` on numpy), exact in its integers ``q``."""
    x = spec.to_model_order(raw.to(torch.float32))
    view = lambda values: torch.from_numpy(spec.channel_view(values, x.dim()).astype(np.float32)).to(x.device)  # noqa: E731
    return (x * view(spec.a) + view(spec.b)) / spec.scale
