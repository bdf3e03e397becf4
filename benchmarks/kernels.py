"""The kernels of integer input and 1-D convolutions against the simplest correct C of the same layer.

    python benchmarks/kernels.py                       # every case on the M0, M4 and M55
    python benchmarks/kernels.py --cases dense_i8,conv1d_i8 --cores cortex-m4

Instructions per MAC of the runtime's kernel and of a plain nested loop that
computes the same layer, on the QEMU M0, M4 and M55 (CASES below; the uint8
first layers are there for comparison). The layers are built as frozen
models straight from ops (random ±1 weights, each thresholded layer's
thresholds at the median of the sums the golden inputs give it, so that
about half its outputs are +1), rendered by `sbn_mcu.codegen` as `export`
would (the smallest kernels), and ended by a small score layer. Per case and core the model runs twice under the golden
harness, as `sbn-mcu bench` runs it:

- as rendered: the runtime's kernel;
- with the layer's kernel call replaced by the simplest correct form
  (`naive_layer` below): `int8_t` ±1 weights, `int32_t` thresholds and a plain nested loop
  over output × input (× conv position, pool window, channel, kernel row and
  column) summing `w * x` and setting the output bit where `acc >= t`, padded
  taps skipped, a pool's bit the OR of its window, in the packed layout the
  next kernel reads. The integers it sums are those of the model's input spec:
  `2r - 255` from raw uint8 bytes, computed in place; for int8 and int16
  input, `q = a[c] * r + b[c]` written first into an int32 buffer in the
  model's order by a plain loop, as `sbn_input_q` does for the runtime (its
  cost is in both counts: the first layer is timed from the call of
  NAME_infer); ±1 read bit by bit from the packed input of a binary layer.
  It is kept out of line (SBN_NOINLINE), so that its code does not change
  with the kernels compiled around it.

Both builds must pass every golden vector (the numpy reference's scores, so the
naive layer and the kernel give the same outputs); each layer's instructions
per inference come from the per-layer profile of `sbn-mcu bench`
(`sbn_mcu.bench.profile`: QEMU `-icount`, SysTick, the hook's cost taken off).
Per MAC divides by the layer's MACs as the plan counts them (every conv
position, padded taps included); ratio = naive / kernel.

Writes benchmarks/kernels.json and benchmarks/kernels.md and prints the table.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sbn_mcu import codegen
from sbn_mcu.bench.profile import profile_layers
from sbn_mcu.ir import reference
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv1d, Conv2d, Dense, Flatten, MaxPool1d
from sbn_mcu.targets.cores import resolve_core
from sbn_mcu.verify.golden import run_golden

HERE = Path(__file__).resolve().parent
NAME = "net"
VECTORS = 8  # golden inputs per case: random ones, all lowest, all highest


def signs(rng, shape) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)


@dataclass
class Case:
    """One model; ``measured``: the indices of its kernel calls (steps) that are compared."""

    name: str
    what: str
    spec: InputSpec
    layers: Callable[[np.random.Generator], list]
    measured: tuple[int, ...] = (0,)


def conv2d_case(dtype: str, layout: str) -> Case:
    spec = InputSpec((3, 16, 16), dtype, layout)
    return Case(f"conv2d_{dtype_tag(dtype)}_{layout}", f"conv2d on {dtype} ({layout}): 3 -> 16 channels, 3x3 pad 1, "
                "16x16", spec, lambda r: [Conv2d(signs(r, (16, 3, 3, 3)), None, (1, 1), (1, 1)), Flatten(),
                                           Dense(signs(r, (4, 16 * 16 * 16)))])


def dtype_tag(dtype: str) -> str:
    return {"uint8": "u8", "int8": "i8", "int16": "i16"}[dtype]


def dense_case(dtype: str) -> Case:
    return Case(f"dense_{dtype_tag(dtype)}", f"dense on {dtype}: 128 -> 64", InputSpec((128,), dtype, "flat"),
                lambda r: [Dense(signs(r, (64, 128))), Dense(signs(r, (4, 64)))])


CASES = [
    dense_case("int8"),
    dense_case("int16"),
    Case("scores_i8", "score layer on int8: 128 -> 10", InputSpec((128,), "int8", "flat"),
         lambda r: [Dense(signs(r, (10, 128)))]),
    conv2d_case("int8", "chw"),
    conv2d_case("int8", "hwc"),
    conv2d_case("int16", "chw"),
    conv2d_case("int16", "hwc"),
    Case("conv1d_i8", "conv1d on int8: 6 -> 16 channels, k 5 pad 2, 128 samples, max pool 2; "
         "then binary conv1d 16 -> 32, k 5 pad 2, max pool 2", InputSpec((6, 128), "int8", "cl"),
         lambda r: [Conv1d(signs(r, (16, 6, 5)), None, 1, 2), MaxPool1d(2, 2),
                    Conv1d(signs(r, (32, 16, 5)), None, 1, 2), MaxPool1d(2, 2), Flatten(),
                    Dense(signs(r, (4, 32 * 32)))], (0, 1)),
    dense_case("uint8"),
    conv2d_case("uint8", "chw"),
]
BY_NAME = {case.name: case for case in CASES}


def build(case: Case) -> tuple[FrozenModel, np.ndarray, np.ndarray]:
    """The case's model with thresholds at the median sum of each channel, its inputs and expected scores."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    layers = case.layers(rng)
    lo, hi = case.spec.range
    pixels = rng.integers(lo, hi + 1, (VECTORS, case.spec.size)).astype(case.spec.numpy_dtype)
    pixels[1], pixels[2] = lo, hi
    model = FrozenModel(case.spec, layers)
    x = case.spec.integers(pixels)
    for layer in layers:
        acc = layer.reference(x)
        if layer is not layers[-1] and getattr(layer, "weights", None) is not None:
            per_channel = np.moveaxis(acc, 1, 0).reshape(acc.shape[1], -1)
            layer.thresholds = np.median(per_channel, axis=1).astype(np.int64)
            acc = np.where(acc >= layer.thresholds.reshape((1, -1) + (1,) * (acc.ndim - 2)), 1, -1)
        x = acc
    return model, pixels, reference.run(model, pixels)


def c_array(ctype: str, name: str, values) -> str:
    values = [int(v) for v in np.asarray(values).reshape(-1)]
    rows = [", ".join(map(str, values[i:i + 24])) for i in range(0, len(values), 24)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def naive_layer(model: FrozenModel, plan, index: int) -> tuple[str, bool]:
    """The simplest correct C of kernel call ``index``: ``naive_layer(in, out)``; and whether it reads the input."""
    step = plan.steps[index]
    op = [layer for layer in model.layers if getattr(layer, "weights", None) is not None][index]
    spec = model.spec
    thresholds = op.thresholds
    if plan.wide or (thresholds is not None and np.abs(thresholds).max() >= 2 ** 31):
        raise SystemExit(f"step {index}: sums past 32 bits; the naive form sums in int32")
    parts, body = [c_array("int8_t", "naive_w", op.weights)], []
    if thresholds is not None:
        parts.append(c_array("int32_t", "naive_t", thresholds))
    if step.reads_input and plan.input_stage is None:  # raw uint8 bytes in the model's order
        source, value = f"const {NAME}_input_t *in", lambda i: f"(2 * (int32_t)in[{i}] - 255)"
    elif step.reads_input:  # int8 / int16: q = a[c] r + b[c], in the model's order
        parts += [c_array("int32_t", "naive_a", spec.a), c_array("int32_t", "naive_b", spec.b),
                  f"static int32_t naive_q[{spec.size}];\n"]
        source, value = f"const {NAME}_input_t *in", lambda i: f"naive_q[{i}]"
        at = "p * C + c" if spec.layout == "hwc" else "c * P + p"
        body += ["    {", f"    enum {{ C = {spec.channels}, P = {spec.positions} }};", "    int c, p;",
                 "    for (c = 0; c < C; c++) {", "        for (p = 0; p < P; p++) {",
                 f"            naive_q[c * P + p] = naive_a[c] * (int32_t)in[{at}] + naive_b[c];",
                 "        }", "    }", "    }"]
    else:
        source, value = "const uint32_t *in", None
    if isinstance(op, Dense):
        if not step.reads_input:
            raise SystemExit("the naive form of a dense layer on binary input is not written")
        n, outputs = op.weights.shape[1], op.weights.shape[0]
        body += [f"    enum {{ N = {n}, OUT = {outputs} }};", "    int o, i;"]
        if thresholds is not None:
            body += [f"    for (o = 0; o < {-(-outputs // 32)}; o++) {{", "        out[o] = 0u;", "    }"]
        body += ["    for (o = 0; o < OUT; o++) {", "        int32_t acc = 0;", "        for (i = 0; i < N; i++) {",
                 f"            acc += naive_w[o * N + i] * {value('i')};", "        }"]
        body += (["        if (acc >= naive_t[o]) {", "            out[o >> 5] |= 1u << (o & 31);", "        }"]
                 if thresholds is not None else ["        out[o] = acc;"])
        body.append("    }")
    else:
        g = step.geometry[1]
        words = -(-g["in_c"] // 32)
        x = (value("(c * IH + y) * IW + x") if value else
             f"(((in[(y * IW + x) * {words} + (c >> 5)] >> (c & 31)) & 1u) ? 1 : -1)")
        body += ["    enum { IC = %d, IH = %d, IW = %d, OC = %d, KH = %d, KW = %d, SH = %d, SW = %d, PH = %d, "
                 "PW = %d, QH = %d, QW = %d, QSH = %d, QSW = %d, OH = %d, OW = %d, WORDS = %d };"
                 % (g["in_c"], g["in_h"], g["in_w"], g["out_c"], g["kh"], g["kw"], g["stride_h"], g["stride_w"],
                    g["pad_h"], g["pad_w"], g["pool_h"], g["pool_w"], g["pool_stride_h"], g["pool_stride_w"],
                    g["out_h"], g["out_w"], -(-g["out_c"] // 32)),
                 "    int oy, ox, o, dy, dx, c, ky, kx;",
                 "    for (o = 0; o < OH * OW * WORDS; o++) {", "        out[o] = 0u;", "    }",
                 "    for (oy = 0; oy < OH; oy++) {", "    for (ox = 0; ox < OW; ox++) {",
                 "    for (o = 0; o < OC; o++) {",
                 "        for (dy = 0; dy < QH; dy++) {", "        for (dx = 0; dx < QW; dx++) {",
                 "            int32_t acc = 0;",
                 "            for (c = 0; c < IC; c++) {", "            for (ky = 0; ky < KH; ky++) {",
                 "            for (kx = 0; kx < KW; kx++) {",
                 "                const int y = (oy * QSH + dy) * SH - PH + ky, x = (ox * QSW + dx) * SW - PW + kx;",
                 "                if (y >= 0 && y < IH && x >= 0 && x < IW) {",
                 f"                    acc += naive_w[((o * IC + c) * KH + ky) * KW + kx] * {x};",
                 "                }",
                 "            }", "            }", "            }",
                 "            if (acc >= naive_t[o]) { /* max pool of +-1: an OR */",
                 "                out[(oy * OW + ox) * WORDS + (o >> 5)] |= 1u << (o & 31);", "            }",
                 "        }", "        }",
                 "    }", "    }", "    }"]
    target = "uint32_t *out" if thresholds is not None else "int32_t *out"
    code = "\n".join([f"/* The simplest correct form of step {index} ({step.kernel}: {step.title}). */",
                      *parts, "/* not inlined: the same code whatever the model around it */",
                      f"SBN_NOINLINE static void naive_layer({source}, {target})", "{", *body, "}", ""])
    return code, step.reads_input


def with_naive(c_source: str, model: FrozenModel, plan, index: int) -> str:
    """The rendered model with kernel call ``index`` (and the input stage it reads) made dead code and
    ``naive_layer`` called instead."""
    step = plan.steps[index]
    code, reads_input = naive_layer(model, plan, index)
    call = re.compile(rf"^(    )({step.function}\((.*)\);)$", re.M)
    mine = [m for m in call.finditer(c_source) if f"{NAME}_w{index}" in m.group(3).split(", ")]
    if len(mine) != 1:
        raise SystemExit(f"found {len(mine)} calls of {step.function} for step {index} in the rendered C")
    m = mine[0]
    args = m.group(3).split(", ")
    source = "input" if reads_input else args[step.args.index("in")]
    target = args[step.args.index("out" if "out" in step.args else "scores")]
    replaced = f"    naive_layer({source}, {target});\n    if (0) {{ /* the runtime's kernel */ {m.group(2)} }}"
    c_source = c_source[:m.start()] + replaced + c_source[m.end():]
    if reads_input and plan.input_stage is not None:
        c_source, n = re.subn(r"^    (sbn_input_q\(.*\);)$", r"    if (0) { \1 }", c_source, flags=re.M)
        assert n == 1
    head = c_source.index(f"int32_t {NAME}_infer(")
    return c_source[:head] + code + "\n" + c_source[head:]


def measure(core: str, sources: dict, pixels, expected, tmp: Path) -> tuple[int, list[int]]:
    """Instructions per inference and per layer of the model in ``sources``, every golden vector checked."""
    tmp.mkdir(parents=True)
    for file, text in sources.items():
        (tmp / file).write_text(text)
    files = [tmp / f"{NAME}.c"]
    result = run_golden(core, files, [tmp], NAME, pixels, expected, tmp / "build")
    if result.mismatches:
        raise SystemExit(f"{tmp}: {result.mismatches} golden vectors fail on {core}:\n{result.log}")
    profile = profile_layers(core, files, [tmp], NAME, pixels, expected, tmp / "build")
    return result.instructions_per_inference, profile.layer_instructions


def run(cases: list[Case], cores: list[str]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="sbn-kernels-") as tmp:
        for case in cases:
            model, pixels, expected = build(case)
            plan = codegen.plan(model)
            sources = codegen.model_sources(model, NAME)
            variants = {"kernel": sources}
            for index in case.measured:
                variants[index] = {**sources, f"{NAME}.c": with_naive(sources[f"{NAME}.c"], model, plan, index)}
            for core in cores:
                counts = {key: measure(core, variant, pixels, expected, Path(tmp) / case.name / core / str(key))
                          for key, variant in variants.items()}
                for index in case.measured:
                    step = plan.steps[index]
                    kernel, naive = counts["kernel"][1][index], counts[index][1][index]
                    rows.append({"case": case.name, "what": case.what, "core": core, "step": index,
                                 "kernel": step.kernel, "layer": step.title, "input": case.spec.dtype,
                                 "layout": case.spec.layout, "macs": step.macs, "vectors": len(pixels),
                                 "kernel_instructions": kernel, "naive_instructions": naive,
                                 "kernel_per_mac": round(kernel / step.macs, 4),
                                 "naive_per_mac": round(naive / step.macs, 4),
                                 "ratio": round(naive / kernel, 3),
                                 "inference": {"kernel": counts["kernel"][0], "naive": counts[index][0]}})
                    print(f"{case.name} step {index} ({step.kernel}) {core}: kernel {kernel:,} "
                          f"({kernel / step.macs:.3f}/MAC), naive {naive:,} ({naive / step.macs:.3f}/MAC), "
                          f"{naive / kernel:.2f}x", flush=True)
    return rows


def table(rows: list[dict], cores: list[str]) -> list[str]:
    """One line per layer: per MAC of the kernel and the naive form on each core, and their ratio."""
    head = "| Layer | Input | Kernel | MACs | " + " | ".join(f"{c.removeprefix('cortex-').upper()} kernel / naive "
                                                          "(per MAC)" for c in cores) + " |"
    lines = [head, "|---|---|---|---:|" + "---:|" * len(cores)]
    seen = []
    for row in rows:
        key = (row["case"], row["step"])
        if key in seen:
            continue
        seen.append(key)
        cells = []
        for core in cores:
            r = next((r for r in rows if (r["case"], r["step"], r["core"]) == (*key, core)), None)
            cells.append("—" if r is None else
                         f"{r['kernel_per_mac']:.2f} / {r['naive_per_mac']:.2f} ({r['ratio']:.1f}×)")
        source = "binary" if row["step"] else f"{row['input']}, {row['layout']}"
        lines.append(f"| {row['layer']} | {source} | {row['kernel']} | {row['macs']:,} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="cases:\n" + "\n".join(f"  {c.name:15} {c.what}" for c in CASES))
    parser.add_argument("--cases", default=",".join(BY_NAME), help="comma-separated case names (default: all)")
    parser.add_argument("--cores", default="cortex-m0,cortex-m4,cortex-m55", help="QEMU cores (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE, help="where kernels.json and kernels.md go")
    args = parser.parse_args()
    unknown = [c for c in args.cases.split(",") if c not in BY_NAME]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(BY_NAME)}")
    cores = [resolve_core(c).name for c in args.cores.split(",")]
    started = time.time()
    rows = run([BY_NAME[c] for c in args.cases.split(",")], cores)
    command = "python benchmarks/kernels.py" + "".join(f" {a}" for a in sys.argv[1:])
    (args.out / "kernels.json").write_text(json.dumps({"command": command, "rows": rows}, indent=2) + "\n")
    lines = table(rows, cores)
    notes = ["", "Instructions per MAC of each layer's runtime kernel (as `export` renders it, the smallest) and of "
             "the simplest correct C of the same layer (a plain nested loop of `int8_t` ±1 weights times the "
             "input integers, `acc >= t`), in parentheses naive / kernel; both pass every golden vector, counted "
             "by `sbn-mcu bench`'s per-layer profile (QEMU `-icount`). A first layer on int8 or int16 input "
             "includes the normalisation `q = a[c] r + b[c]` (sbn_input_q, or the naive loop) in both counts.",
             "", f"- Reproduce: `{command}` ({time.time() - started:.0f} s)."]
    (args.out / "kernels.md").write_text("\n".join(lines + notes) + "\n")
    print("\n".join(lines + notes))


if __name__ == "__main__":
    main()
