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


def augment(x: torch.Tensor, generator: torch.Generator, shift: int, flip: bool) -> torch.Tensor:
    """A batch of normalised inputs ``(N, C, *positions)``, each moved by up to ``shift``
    positions along every axis (the edge value fills in), and mirrored along the last
    axis with probability 1/2 when ``flip``."""
    n, axes = len(x), x.dim() - 2
    if shift:
        padded = torch.nn.functional.pad(x, (shift,) * (2 * axes), mode="replicate")
        index = [torch.arange(n).view(n, *(1,) * (axes + 1)), torch.arange(x.shape[1]).view(1, -1, *(1,) * axes)]
        for axis, size in enumerate(x.shape[2:]):
            offset = torch.randint(0, 2 * shift + 1, (n,), generator=generator).to(x.device)
            where = [1] * (axes + 2)
            where[0], where[2 + axis] = n, size
            index.append((torch.arange(size, device=x.device).view(1, size) + offset.view(n, 1)).view(where))
        x = padded[tuple(index)]
    if flip:
        mirrored = torch.rand(n, generator=generator) < 0.5
        x = torch.where(mirrored.to(x.device).view(n, *(1,) * (x.dim() - 1)), x.flip(-1), x)
    return x
