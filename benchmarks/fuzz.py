#!/usr/bin/env python3
"""Fuzz the whole chain: random torch networks -> freeze -> C -> gcc with sanitizers.

Each fuzzed model is a random *supported* ``nn.Sequential`` of sbn_mcu layers
(an MLP or a CNN) with random weights, including exact zeros, and random
batch-norm statistics, including extreme ones (gamma = 0, gamma < 0, tiny
gamma, huge beta, tiny or huge running variance, running means far outside
the reachable range, thresholds exactly on a reachable sum, ``affine=False``
norms, activations without a norm). The script then

1. freezes it (``sbn_mcu.training.freeze.freeze``),
2. renders C (``codegen.model_sources(frozen, "fz")``),
3. compiles it with the host gcc under AddressSanitizer and
   UndefinedBehaviorSanitizer (``-fsanitize=address,undefined
   -fno-sanitize-recover=all -g -O1``, plus ``-Wconversion -Wshadow`` on top of
   the project's ``-Wall -Wextra -Werror -pedantic``), and
4. compares every integer class score of the C with the numpy reference
   (``reference.run``) on K random uint8 inputs per model; each batch holds
   an all-0 and an all-255 input and a 0/255 checkerboard.

With ``--torch`` (the default) the float64 hard-mode torch network is checked
against the reference too (docs/semantics.md: torch in hard mode, the reference
and the C must agree), layer by layer from the reference's own activations.
A binary output where they differ must sit on an exact tie ``acc ==
threshold``, where float64 torch decides by the sign of a rounded zero; any
other difference fails the run. Ties are reported, and fail only with
``--torch-strict``.

Every model is reproducible from ``--seed`` and its index: ``--only INDEX``
runs that one model again (and with the same ``--inputs``, the same inputs).
A model whose C disagrees with the reference (or whose build or run fails)
is saved to the failures folder: the frozen model (``model.sbn.npz``, load it
with ``FrozenModel.load``), the inputs (``inputs.npy``), both score arrays,
the generated C and ``info.json``.

The script prints a progress bar and a table, writes the same figures as
JSON, and exits with status 1 if anything failed or differed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NAME = "fz"
SANITIZER_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1")
WARNING_FLAGS = ("-Wconversion", "-Wshadow")
EXTRA_FLAGS = SANITIZER_FLAGS + WARNING_FLAGS

# Size limits, so that one model compiles and runs well under a second.
MAX_MACS = 400_000  # binary multiply-accumulates per inference
MAX_FLAT = 3000  # inputs of the dense layer after a CNN's flatten

# Batch-norm channel modes, with their weights in the draw.
BN_MODES = {
    "normal": 10,  # statistics scaled to the fan-in: channels that really switch
    "gamma_zero": 2,  # constant output, sign of beta decides (beta may be 0 or -0.0)
    "gamma_negative": 3,  # the comparison flips (weights negated at freeze time)
    "gamma_tiny": 2,  # |gamma| in {1e-30, 1e-38, 1e-45 (float32 subnormal)}
    "beta_huge": 2,  # beta = +-1e6: constant in practice
    "var_tiny": 2,  # running_var = 1e-8 (sigma ~ sqrt(eps))
    "var_huge": 2,  # running_var = 1e8
    "mean_far": 2,  # running_mean far outside [-bound, bound]
    "boundary": 3,  # threshold exactly on a reachable sum: acc == t is hit
}


# --------------------------------------------------------------------------
# Random architectures


def conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


@dataclass
class Arch:
    """A drawn architecture: a list of layer specs that builds the torch model."""

    kind: str  # "mlp" or "cnn"
    input_shape: tuple
    specs: list = field(default_factory=list)  # ("conv", in, out, k, s, p) / ("dense", in, out) / ...
    macs: int = 0

    def describe(self) -> str:
        parts = ["x".join(map(str, self.input_shape))]
        for spec in self.specs:
            if spec[0] == "conv":
                parts.append(f"conv{spec[3]}/{spec[4]}p{spec[5]}->{spec[2]}")
            elif spec[0] == "dense":
                parts.append(f"fc->{spec[2]}")
            elif spec[0] == "pool":
                parts.append(f"pool{spec[1]}/{spec[2]}")
            elif spec[0] == "norm":
                parts.append({"affine": "bn", "plain": "bn(noaffine)", "none": "nobn"}[spec[1]])
            elif spec[0] in ("flatten", "scores"):
                parts.append(spec[0])
        return " ".join(parts)


def _norm_kind(rng: np.random.Generator) -> str:
    return str(rng.choice(["affine", "plain", "none"], p=[0.76, 0.12, 0.12]))


def draw_mlp(rng: np.random.Generator) -> Arch:
    if rng.random() < 0.75:
        n_in = int(rng.integers(1, 401))
        shape = (n_in,)
        specs = [("flatten",)] if rng.random() < 0.05 else []  # a no-op flatten on a vector
    else:  # an image flattened in torch's C, H, W order
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 12)), int(rng.integers(1, 12)))
        n_in, specs = math.prod(shape), [("flatten",)]
    hidden = [int(rng.integers(1, 301)) for _ in range(int(rng.integers(1, 4)))]
    arch = Arch("mlp", shape, specs)
    for a, b in zip([n_in] + hidden, hidden):
        arch.specs += [("dense", a, b), ("norm", _norm_kind(rng), b, "1d"), ("act",)]
        arch.macs += a * b
    classes = int(rng.integers(2, 13))
    arch.specs.append(("dense", hidden[-1], classes))
    arch.macs += hidden[-1] * classes
    if rng.random() < 0.5:
        arch.specs.append(("scores",))
    return arch


def draw_cnn(rng: np.random.Generator) -> Arch | None:
    """A random CNN, or None if the draw does not fit (the caller draws again)."""
    c = int(rng.integers(1, 6))
    h = int(rng.integers(1, 21))
    w = h if rng.random() < 0.5 else int(rng.integers(1, 21))
    arch = Arch("cnn", (c, h, w))
    channels = c
    for _ in range(int(rng.integers(1, 4))):
        out_c = int(rng.integers(1, 71))
        k = int(rng.choice([1, 3, 5]))
        stride = int(rng.choice([1, 2]))
        pad = int(rng.integers(0, 3))  # may exceed k // 2: whole windows in the padding
        oh, ow = conv_out(h, k, stride, pad), conv_out(w, k, stride, pad)
        if oh < 1 or ow < 1:
            return None
        arch.specs += [("conv", channels, out_c, k, stride, pad),
                       ("norm", _norm_kind(rng), out_c, "2d"), ("act",)]
        arch.macs += oh * ow * out_c * channels * k * k
        h, w, channels = oh, ow, out_c
        pool = rng.random()
        if pool < 0.25 and h >= 2 and w >= 2:
            arch.specs.append(("pool", 2, 2))
            h, w = (h - 2) // 2 + 1, (w - 2) // 2 + 1
        elif pool < 0.45 and h >= 3 and w >= 3:
            arch.specs.append(("pool", 3, 2))
            h, w = (h - 3) // 2 + 1, (w - 3) // 2 + 1
    flat = channels * h * w
    if flat > MAX_FLAT:
        return None
    arch.specs.append(("flatten",))
    if rng.random() < 0.3:  # a hidden dense layer on the flattened bits
        hidden = int(rng.integers(1, 71))
        arch.specs += [("dense", flat, hidden), ("norm", _norm_kind(rng), hidden, "1d"), ("act",)]
        arch.macs += flat * hidden
        flat = hidden
    classes = int(rng.integers(2, 13))
    arch.specs.append(("dense", flat, classes))
    arch.macs += flat * classes
    if rng.random() < 0.5:
        arch.specs.append(("scores",))
    return arch


def draw_arch(rng: np.random.Generator, max_macs: int = MAX_MACS) -> Arch:
    """An MLP (40 %) or a CNN (60 %) with at most ``max_macs`` MACs per inference."""
    kind = "mlp" if rng.random() < 0.4 else "cnn"
    while True:
        arch = draw_mlp(rng) if kind == "mlp" else draw_cnn(rng)
        if arch is not None and arch.macs <= max_macs:
            return arch


def build(arch: Arch):
    from torch import nn

    from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear, Scores

    layers = []
    for spec in arch.specs:
        if spec[0] == "conv":
            layers.append(SBConv2d(spec[1], spec[2], spec[3], stride=spec[4], padding=spec[5]))
        elif spec[0] == "dense":
            layers.append(SBLinear(spec[1], spec[2]))
        elif spec[0] == "norm":
            if spec[1] != "none":
                norm = nn.BatchNorm2d if spec[3] == "2d" else nn.BatchNorm1d
                layers.append(norm(spec[2], affine=spec[1] == "affine"))
        elif spec[0] == "act":
            layers.append(SBActivation())
        elif spec[0] == "pool":
            layers.append(nn.MaxPool2d(spec[1], stride=spec[2]))
        elif spec[0] == "flatten":
            layers.append(nn.Flatten())
        elif spec[0] == "scores":
            layers.append(Scores())
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------
# Random weights and batch-norm statistics


def _random_weights(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    style = rng.random()
    w = rng.normal(size=shape)
    if style < 0.05:
        w = np.zeros(shape)  # every weight +1 (sign(0) = +1)
    elif style < 0.10:
        w = -np.abs(w) - 0.1  # every weight -1
    elif style < 0.15:
        w = np.where(rng.random(shape) < 0.5, 0.0, -0.0)  # +0.0 and -0.0: both +1
    w[rng.random(shape) < 0.05] = 0.0
    w[rng.random(shape) < 0.05] = -0.0
    return w


def _boundary_sum(rng: np.random.Generator, w_row: np.ndarray, first: bool) -> int:
    """A sum the layer reaches: ``acc / scale`` for the threshold to sit exactly on.

    Half the time it is the sum of an all-0 (first layer) or all-+1 input,
    which the extreme inputs hit exactly; a tenth of the time an end of the
    range (``+-fan_in``); otherwise a sum of the right parity near the middle.
    """
    signs = np.where(w_row >= 0, 1, -1)
    n = signs.size
    draw = rng.random()
    if draw < 0.5:
        return int(-signs.sum()) if first else int(signs.sum())
    if draw < 0.6:  # the ends of the range: every tap agrees (or disagrees)
        return int(rng.choice([-n, n]))
    k = int(np.clip(round(rng.normal(scale=np.sqrt(n))), -n, n))
    return k if (k - n) % 2 == 0 else k + (1 if k < n else -1)


def randomize(model, rng: np.random.Generator, modes: Counter) -> None:
    """Random weights and batch-norm statistics; ``modes`` counts the channel modes drawn."""
    import torch
    from torch import nn

    from sbn_mcu.training.layers import SBConv2d, SBLinear

    names = list(BN_MODES)
    weights = np.array([BN_MODES[m] for m in names], dtype=float)
    fan_in, first, bound, scale, std, w_rows = 1, True, 1, 255.0, 1.0, None
    for m in model.modules():
        if isinstance(m, (SBLinear, SBConv2d)):
            w = _random_weights(rng, tuple(m.weight.shape))
            m.weight.data = torch.from_numpy(w).to(m.weight.dtype)
            w_rows = w.reshape(w.shape[0], -1)
            n = int(np.prod(m.weight.shape[1:]))
            fan_in, bound, scale = n, n * (255 if first else 1), 255.0 if first else 1.0
            # the trained pre-activation a = acc / scale: std ~ sqrt(n) * 0.58 on the first layer
            std = float(np.sqrt(n)) * (0.58 if first else 1.0)
            first = False
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            if rng.random() < 0.5:
                chosen = np.full(n, "normal", dtype=object)
                if rng.random() < 0.5:
                    chosen[:] = rng.choice(names, p=weights / weights.sum())  # one extreme for all
            else:
                chosen = rng.choice(names, size=n, p=weights / weights.sum())
            mean = rng.normal(scale=0.7 * std, size=n)
            var = std ** 2 * rng.uniform(0.05, 3.0, size=n)
            gamma = rng.normal(size=n) * rng.choice([0.1, 1.0, 10.0], size=n)
            beta = rng.normal(size=n)
            eps = float(rng.choice([1e-5, 1e-5, 1e-3, 0.0]))
            for i, mode in enumerate(chosen):
                modes[mode] += 1
                if mode == "gamma_zero":
                    gamma[i] = 0.0
                    beta[i] = rng.choice([beta[i], 0.0, -0.0])
                elif mode == "gamma_negative":
                    gamma[i] = -abs(gamma[i]) - 1e-3
                elif mode == "gamma_tiny":
                    gamma[i] = rng.choice([1e-30, 1e-38, 1e-45]) * rng.choice([-1, 1])
                elif mode == "beta_huge":
                    beta[i] = 1e6 * rng.choice([-1, 1])
                elif mode == "var_tiny":
                    var[i] = 1e-8
                elif mode == "var_huge":
                    var[i] = 1e8
                elif mode == "mean_far":
                    mean[i] = rng.choice([-1, 1]) * (bound / scale) * 10.0 ** rng.uniform(0.1, 6)
                elif mode == "boundary":  # tau = mean * scale exactly on a sum the layer reaches
                    # (first layer: acc = 255 * mean, the sum of an all-0 or all-255 input)
                    mean[i] = _boundary_sum(rng, w_rows[i] if w_rows is not None and i < len(w_rows)
                                            else np.ones(fan_in), scale != 1.0)
                    beta[i] = 0.0
                    gamma[i] = rng.choice([-1.0, 1.0]) * rng.choice([1.0, 0.5, 3.0])
            if eps == 0.0:
                var = np.maximum(var, 1e-8)  # var + eps must stay positive (supported models only)
            m.eps = eps
            m.running_mean.copy_(torch.from_numpy(mean))
            m.running_var.copy_(torch.from_numpy(var))
            if m.affine:  # without affine, gamma = 1 and beta = 0: only the statistics modes apply
                m.weight.data = torch.from_numpy(gamma).to(m.weight.dtype)
                m.bias.data = torch.from_numpy(beta).to(m.bias.dtype)
    model.eval()


def random_inputs(rng: np.random.Generator, shape: tuple, k: int) -> np.ndarray:
    """K uint8 inputs: all 0, all 255, a 0/255 checkerboard, then random draws of several kinds."""
    x = rng.integers(0, 256, size=(k,) + shape, dtype=np.uint8)
    special = [np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8),
               (np.indices(shape).sum(axis=0) % 2 * 255).astype(np.uint8)]
    for i, s in enumerate(special[:k]):
        x[i] = s
    for i in range(len(special), k):
        style = i % 4
        if style == 1:  # only the extremes
            x[i] = rng.choice(np.array([0, 255], np.uint8), size=shape)
        elif style == 2:  # around the middle, where 2p - 255 is +-1
            x[i] = rng.choice(np.array([127, 128], np.uint8), size=shape)
        elif style == 3:  # mostly one value
            x[i] = np.where(rng.random(shape) < 0.9, rng.integers(0, 256), x[i]).astype(np.uint8)
    return x


# --------------------------------------------------------------------------
# One model through the chain


def _first_report_line(text: str) -> str:
    """The first informative line of a sanitizer report (not ASan's ===== rule)."""
    for line in text.splitlines():
        line = line.strip()
        if line and set(line) != {"="}:
            return line[:200]
    return "(no output)"


def _host_failure(message: str) -> str:
    """``exit code N: <first stderr line>`` from verify.host_scores' error message."""
    head, sep, stderr = message.partition(": ")
    if not sep or "exit code" not in head:
        return _first_report_line(message)
    return f"exit code {head.rsplit(' ', 1)[-1]}: {_first_report_line(stderr)}"


def _torch_groups(model) -> list[list]:
    """The torch modules grouped like the frozen layers: a binary layer with its
    norm, activation (and final Scores) is one group; pool and flatten are one each."""
    from torch import nn

    from sbn_mcu.training.layers import SBConv2d, SBLinear

    groups: list[list] = []
    for m in model:
        if isinstance(m, (SBLinear, SBConv2d, nn.MaxPool2d, nn.Flatten)):
            groups.append([m])
        else:  # norm, activation, scores: part of the binary layer before
            groups[-1].append(m)
    return groups


def torch_layerwise(model, fm, pixels: np.ndarray) -> dict:
    """Check torch float64 hard mode against the reference one layer at a time.

    Each torch group gets the reference's own input to that layer (so an
    earlier difference does not spread), and every binary output that differs
    from the reference's is classified: at an exact tie ``acc == threshold``
    (the float64 network decides by the sign of a rounded zero: a float
    artefact of torch) or elsewhere (a wrong threshold or sum: a real bug).
    Also returns the end-to-end count of inputs whose scores differ.
    """
    from dataclasses import replace

    import torch

    from sbn_mcu import ops
    from sbn_mcu.ir import model as frozen
    from sbn_mcu.ir import reference
    from sbn_mcu.training.layers import hard_copy

    hard = hard_copy(model, 255)  # the fuzzer draws raw uint8 inputs
    groups = _torch_groups(hard)
    if len(groups) != len(fm.layers):
        raise RuntimeError(f"{len(groups)} torch groups for {len(fm.layers)} frozen layers")
    out = {"inputs": 0, "units_at_ties": 0, "units_other": 0, "first_other": None}
    x_in = torch.from_numpy(pixels).double() / 127.5 - 1  # torch's view of the raw bytes
    with torch.no_grad():
        end_to_end = hard(x_in).numpy()
        expected = reference.run(fm, pixels).astype(np.int64)
        out["inputs"] = int((end_to_end != expected).any(axis=1).sum())
        x = x_in
        for j, (layer, group) in enumerate(zip(fm.layers, groups)):
            group_out = x
            for m in group:
                group_out = m(group_out)
            if isinstance(layer, (ops.Flatten, ops.MaxPool2d)):
                x = group_out  # exact on the reference's ±1 (and on torch's view of the raw input)
                continue
            y = group_out.numpy()
            ref = reference.run(frozen.FrozenModel(fm.input_shape, fm.layers[:j + 1]), pixels).astype(np.int64)
            ref = ref.reshape(y.shape)
            diff = y != ref
            if diff.any():
                t = getattr(layer, "thresholds", None)
                if t is None:  # class scores: no ties there
                    out["units_other"] += int(diff.sum())
                    where = np.argwhere(diff)[0].tolist()
                else:
                    pre = frozen.FrozenModel(fm.input_shape, [*fm.layers[:j], replace(layer, thresholds=None)])
                    acc = reference.run(pre, pixels).astype(np.int64).reshape(y.shape)
                    shape = (1, -1) + (1,) * (acc.ndim - 2)
                    tie = acc == t.reshape(shape)
                    out["units_at_ties"] += int((diff & tie).sum())
                    out["units_other"] += int((diff & ~tie).sum())
                    where = np.argwhere(diff & ~tie)[0].tolist() if (diff & ~tie).any() else None
                if where is not None and out["first_other"] is None:
                    out["first_other"] = f"layer {j} ({type(layer).__name__}) input {where[0]} unit {where[1:]}: " \
                                         f"torch {y[tuple(where)]} vs reference {ref[tuple(where)]}"
            x = torch.from_numpy(ref.astype(np.float64))  # the next group starts from the reference
    return out


def _save_failure(folder: Path, index: int, result: dict, fm, pixels, expected, got, files) -> str:
    path = folder / f"seed{result['seed']}-model-{index:05d}"
    path.mkdir(parents=True, exist_ok=True)
    if fm is not None:
        fm.save(path / "model.sbn.npz")
    np.save(path / "inputs.npy", pixels)
    if expected is not None:
        np.save(path / "expected.npy", expected)
    if got is not None:
        np.save(path / "got.npy", got)
    for fname, text in (files or {}).items():
        (path / fname).write_text(text)
    (path / "info.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return str(path)


def run_one(index: int, seed: int, k: int, torch_check: bool, torch_strict: bool, failures: str,
            max_macs: int = MAX_MACS) -> dict:
    """Draw model ``index`` of ``seed``, run the whole chain, return what happened."""
    import torch

    from sbn_mcu import codegen
    from sbn_mcu.ir import reference
    from sbn_mcu import toolchain
    from sbn_mcu import verify
    from sbn_mcu.errors import SbnError
    from sbn_mcu.training.freeze import freeze

    torch.set_num_threads(1)
    start = time.perf_counter()
    rng = np.random.default_rng([seed, index])
    arch = draw_arch(rng, max_macs)
    modes: Counter = Counter()
    result = {"index": index, "seed": seed, "kind": arch.kind, "arch": arch.describe(),
              "macs": arch.macs, "inputs": k, "status": "ok", "message": "",
              "mismatched_inputs": 0, "torch_disagreements": 0, "torch_at_ties": 0, "torch_other": 0}
    fm = pixels = expected = got = files = None
    stage = "build"
    try:
        torch.manual_seed(int(rng.integers(2 ** 31)))
        model = build(arch)
        randomize(model, rng, modes)
        pixels = random_inputs(rng, arch.input_shape, k)
        stage = "freeze"
        fm = freeze(model, arch.input_shape)
        stage = "codegen"
        files = codegen.model_sources(fm, NAME)
        kernels = sorted({s.kernel.removesuffix(".c") for s in codegen.plan(fm).steps})
        result["kernels"] = kernels
        stage = "reference"
        expected = reference.run(fm, pixels)
        stage = "host"
        with tempfile.TemporaryDirectory(prefix="sbn-fuzz-") as tmp:
            for fname, text in files.items():
                (Path(tmp) / fname).write_text(text)
            try:
                got = verify.host_scores(Path(tmp), NAME, pixels.reshape(k, -1), fm.num_classes,
                                         extra_flags=EXTRA_FLAGS, timeout_s=60)
            except toolchain.ToolError as err:
                result.update(status="compile", message=str(err)[:300])
                details = getattr(err, "details", "")
                if details:
                    files = dict(files, **{"gcc.log": details})
            except SbnError as err:
                report = str(err)  # a sanitizer report makes the run exit non-zero
                sanitized = "Sanitizer" in report or "runtime error" in report
                result.update(status="sanitizer" if sanitized else "runtime", message=_host_failure(report))
        if got is not None:
            bad = np.flatnonzero((got != expected).any(axis=1))
            if bad.size:
                result.update(status="mismatch", mismatched_inputs=int(bad.size),
                              message=f"inputs {bad[:10].tolist()} differ; first: C {got[bad[0]].tolist()} "
                                      f"vs reference {expected[bad[0]].tolist()}")
        if torch_check:
            stage = "torch"
            t = torch_layerwise(model, fm, pixels)
            result.update(torch_disagreements=t["inputs"], torch_at_ties=t["units_at_ties"],
                          torch_other=t["units_other"])
            if t["inputs"] or t["units_other"] or t["units_at_ties"]:
                result["torch_message"] = (
                    f"{t['inputs']} inputs differ end to end; per layer {t['units_at_ties']} binary outputs "
                    f"differ at exact ties acc == t, {t['units_other']} elsewhere"
                    + (f" (first: {t['first_other']})" if t["first_other"] else ""))
    except Exception as err:  # a supported model must never fail: a bug of some stage
        result.update(status=f"error:{stage}",
                      message=f"{type(err).__name__}: {err}"[:300],
                      traceback=traceback.format_exc()[-2000:])
    result["bn_modes"] = dict(modes)
    result["seconds"] = round(time.perf_counter() - start, 3)
    if result["status"] == "ok" and (result["torch_other"] or result["torch_disagreements"]
                                     or result["torch_at_ties"]):
        result["status"] = "torch" if result["torch_other"] else "torch-tie"  # the C is right here
    if result["status"] not in ("ok", "torch-tie") or (torch_strict and result["status"] == "torch-tie"):
        result["saved"] = _save_failure(Path(failures), index, result, fm, pixels, expected, got, files)
    return result


# --------------------------------------------------------------------------
# Driver

# An out-of-bounds read of a static array through a pointer, like a kernel
# reading past a packed buffer: the sanitizers must make it fail at run time.
OOB_PROGRAM = """\
#include <stdint.h>
static uint32_t words[4] = {1u, 2u, 3u, 4u};
static uint32_t sum(const uint32_t *w, int n)
{
    uint32_t s = 0u;
    int i;
    for (i = 0; i < n; i++) {
        s += w[i];
    }
    return s;
}
int main(int argc, char **argv)
{
    volatile uint32_t sink;
    (void)argv;
    sink = sum(words, argc + 4); /* reads words[4] */
    (void)sink;
    return 0;
}
"""


def sanitizer_self_check(tmp: Path) -> str:
    """Compile OOB_PROGRAM with the fuzz flags and return the sanitizer's report.

    Raises RuntimeError if the program runs cleanly: then "0 sanitizer
    failures" would mean nothing.
    """
    import subprocess

    from sbn_mcu import toolchain

    src = tmp / "oob.c"
    src.write_text(OOB_PROGRAM)
    exe = toolchain.compile_host([src], tmp / "oob", extra_flags=EXTRA_FLAGS)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    if run.returncode == 0 or not ("Sanitizer" in run.stderr or "runtime error" in run.stderr):
        raise RuntimeError(f"the sanitizer flags {' '.join(EXTRA_FLAGS)} did not catch an out-of-bounds read "
                           f"(exit {run.returncode}); the fuzz results would mean nothing")
    return _first_report_line(run.stderr)



def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _provenance() -> dict:
    """The commit the fuzzed code comes from, uncommitted changes to it, and a
    hash of the package and templates (to notice edits made during a run)."""
    import hashlib
    import subprocess

    def git(*cmd):
        try:
            run = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return run.stdout.rstrip() if run.returncode == 0 else None

    import sbn_mcu
    from sbn_mcu.files import resource_dir

    digest = hashlib.sha256()
    package = Path(sbn_mcu.__file__).parent
    for folder in (package, Path(resource_dir("templates"))):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".c", ".h", ".j2"):
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    head = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", "sbn_mcu", "templates")
    return {"git_head": head.strip() if head else None,
            "uncommitted_changes": [line[3:] for line in status.splitlines()] if status else [],
            "code_sha256": digest.hexdigest()}


def summarize(results: list[dict], args, wall: float) -> dict:
    statuses = Counter(r["status"] for r in results)
    modes: Counter = Counter()
    kernels: Counter = Counter()
    for r in results:
        modes.update(r.get("bn_modes", {}))
        kernels.update(r.get("kernels", []))
    listed = ("ok",) if args.torch_strict else ("ok", "torch-tie")
    problems = [r for r in results if r["status"] not in listed]
    known = ("ok", "mismatch", "sanitizer", "compile", "torch", "torch-tie")
    other = sum(v for s, v in statuses.items() if s not in known)
    summary = {
        "command": " ".join(shlex.quote(a) for a in [sys.argv[0], *sys.argv[1:]]),
        "seed": args.seed,
        "max_macs": args.max_macs,
        "models": len(results),
        "mlp_models": sum(r["kind"] == "mlp" for r in results),
        "cnn_models": sum(r["kind"] == "cnn" for r in results),
        "inputs": sum(r["inputs"] for r in results),
        "score_mismatches": sum(r["mismatched_inputs"] for r in results),
        "mismatched_models": statuses.get("mismatch", 0),
        "sanitizer_failures": statuses.get("sanitizer", 0),
        "compile_failures": statuses.get("compile", 0),
        "other_failures": other,
        "torch_checked": bool(args.torch),
        "torch_strict": bool(args.torch_strict),
        "torch_disagreements": sum(r["torch_disagreements"] for r in results),
        "torch_disagreeing_models": sum(bool(r["torch_disagreements"]) for r in results),
        "torch_units_at_ties": sum(r["torch_at_ties"] for r in results),
        "torch_units_other": sum(r["torch_other"] for r in results),
        "torch_tie_models": statuses.get("torch-tie", 0),
        "torch_failures": statuses.get("torch", 0),
        "wall_time_s": round(wall, 1),
        "jobs": args.jobs,
        "seconds_per_model_mean": round(float(np.mean([r["seconds"] for r in results])), 3) if results else 0.0,
        "seconds_per_model_max": round(float(np.max([r["seconds"] for r in results])), 3) if results else 0.0,
        "macs_max": max((r["macs"] for r in results), default=0),
        "compiler_flags": list(EXTRA_FLAGS),
        "coverage": {"bn_channel_modes": dict(sorted(modes.items())),
                     "kernels": dict(sorted(kernels.items())),
                     "pooling_models": sum(" pool" in r["arch"] for r in results),
                     "no_bn_layers": sum(r["arch"].count("nobn") for r in results),
                     "non_affine_bn_layers": sum(r["arch"].count("bn(noaffine)") for r in results)},
        "platform": platform.platform(),
        **args.provenance,
        "failures_folder": str(args.failures) if any("saved" in r for r in results) else None,
        "torch_tie_model_indices": [r["index"] for r in results if r["status"] == "torch-tie"],
        "per_model": [[r["index"], r["kind"], r["status"], r["arch"]] for r in results],
        "problems": [{k: r.get(k) for k in ("index", "status", "arch", "message", "mismatched_inputs",
                                             "torch_message", "traceback", "saved")}
                     for r in sorted(problems, key=lambda r: r["index"])],
    }
    summary["failures"] = (summary["sanitizer_failures"] + summary["compile_failures"] + other
                           + summary["torch_failures"]
                           + (summary["torch_tie_models"] if args.torch_strict else 0))
    summary["ok"] = summary["failures"] == 0 and summary["score_mismatches"] == 0
    return summary


def _dump(summary: dict) -> str:
    """JSON with two-space indents, but each list of plain values on one line."""
    text = json.dumps(summary, indent=2)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + re.sub(r",\s*\n\s*", ", ", m.group(1)) + "]", text) + "\n"


def print_table(s: dict) -> None:
    if s["torch_checked"]:
        torch_row = (f"{s['torch_disagreements']} inputs in {s['torch_disagreeing_models']} models; per layer "
                     f"{s['torch_units_at_ties']} outputs at exact ties acc == t "
                     f"({'counted' if s['torch_strict'] else 'not counted'}), {s['torch_units_other']} elsewhere")
    else:
        torch_row = "not checked"
    rows = [
        ("models tried", f"{s['models']} ({s['mlp_models']} MLP / {s['cnn_models']} CNN)"),
        ("inputs tried", f"{s['inputs']}"),
        ("score mismatches (C vs reference)", f"{s['score_mismatches']} inputs in {s['mismatched_models']} models"),
        ("sanitizer failures", f"{s['sanitizer_failures']}"),
        ("compile failures", f"{s['compile_failures']}"),
        ("other failures (freeze/codegen/run)", f"{s['other_failures']}"),
        ("torch hard mode vs reference", torch_row),
        ("wall time", f"{s['wall_time_s']:.1f} s ({s['jobs']} jobs, "
                      f"{s['seconds_per_model_mean']:.2f} s/model mean, {s['seconds_per_model_max']:.2f} s max)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nfuzz: seed {s['seed']}, host gcc flags {' '.join(s['compiler_flags'])}")
    print("-" * (width + 50))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("-" * (width + 50))
    modes = ", ".join(f"{k} {v}" for k, v in s["coverage"]["bn_channel_modes"].items())
    kernels = ", ".join(f"{k} {v}" for k, v in s["coverage"]["kernels"].items())
    print(f"batch-norm channels drawn: {modes}")
    print(f"kernels (models using each): {kernels}; models with pooling: {s['coverage']['pooling_models']}; "
          f"layers without norm: {s['coverage']['no_bn_layers']}, "
          f"with affine=False: {s['coverage']['non_affine_bn_layers']}")
    if s["torch_tie_models"] and not s["torch_strict"]:
        ids = s["torch_tie_model_indices"]
        print(f"torch float ties (C and reference agree; torch's rounded BN/first-layer sum decides a tie): "
              f"{len(ids)} models, e.g. {ids[:8]} (rerun with --only I --torch-strict to save them)")
    for p in s["problems"][:20]:
        print(f"  model {p['index']} [{p['status']}] {p['arch']}: {p['message']}"
              + (f" torch: {p['torch_message']}" if p.get("torch_message") else ""))
        if p.get("saved"):
            print(f"    saved in {p['saved']}")
    if len(s["problems"]) > 20:
        print(f"  ... and {len(s['problems']) - 20} more (see the JSON)")
    print("OK" if s["ok"] else "FAILED")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python benchmarks/fuzz.py --models 500 --inputs 200 --seed 1 --jobs 2\n"
               "Reproduce one model: python benchmarks/fuzz.py --seed 1 --only 123 --inputs 200")
    parser.add_argument("--models", type=int, default=20, help="number of random models (default 20)")
    parser.add_argument("--inputs", type=int, default=200,
                        help="random uint8 inputs per model, at least 3: all 0, all 255, a checkerboard, "
                             "then random ones (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed; model i uses (seed, i) (default 0)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "fuzz.json",
                        help="where to write the JSON summary (default benchmarks/fuzz.json)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default: 2, or 1 on a single core)")
    parser.add_argument("--failures", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-failures",
                        help="folder for failing models (default: <tmp>/fuzz-failures)")
    parser.add_argument("--max-macs", type=int, default=MAX_MACS,
                        help=f"largest model drawn, in binary MACs per inference (default {MAX_MACS}, "
                             "well under a second per model); a reproduction needs the same value")
    parser.add_argument("--only", type=int, nargs="+", metavar="INDEX",
                        help="run only these model indices of --seed (to reproduce a failure)")
    parser.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True,
                        help="also check torch float64 hard mode against the reference (default on)")
    parser.add_argument("--torch-strict", action="store_true",
                        help="count torch disagreements at exact ties (acc == threshold, where float64 "
                             "torch decides by the sign of a rounded zero) as failures too; by default "
                             "they are reported but only disagreements elsewhere fail the run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.models < 1 or args.inputs < 3 or args.jobs < 1:
        parser.error("--models and --jobs must be at least 1, --inputs at least 3")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    indices = args.only if args.only else list(range(args.models))
    args.provenance = _provenance()  # the code as it was when the run started
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sbn-fuzz-check-") as tmp:
        print(f"sanitizer self-check: {sanitizer_self_check(Path(tmp))}", file=sys.stderr)
    results = []
    bar = tqdm(total=len(indices), unit="model", disable=args.no_progress, file=sys.stderr,
               dynamic_ncols=True)
    work = (args.seed, args.inputs, args.torch, args.torch_strict, str(args.failures), args.max_macs)
    if args.jobs == 1:
        _worker_init()
        for i in indices:
            results.append(run_one(i, *work))
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs, initializer=_worker_init) as pool:
            futures = [pool.submit(run_one, i, *work) for i in indices]
            for future in as_completed(futures):
                results.append(future.result())
                bad = sum(r["status"] not in ("ok", "torch-tie") for r in results)
                bar.set_postfix(failed=bad)
                bar.update(1)
    bar.close()
    results.sort(key=lambda r: r["index"])
    summary = summarize(results, args, time.perf_counter() - start)
    end = _provenance()
    summary["code_changed_during_run"] = end != args.provenance
    if summary["code_changed_during_run"]:
        summary["provenance_at_end"] = end
    print_table(summary)
    if summary["code_changed_during_run"]:
        print("WARNING: sbn_mcu or templates/ changed during this run (another edit or commit): "
              "a failure may come from a half-edited file; rerun it with --only")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(_dump(summary))
    print(f"JSON written to {args.json}")
    if summary["problems"]:
        print(f"failing models saved under {args.failures} "
              f"(reload one with sbn_mcu.ir.model.FrozenModel.load(<dir>/model.sbn.npz))")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
