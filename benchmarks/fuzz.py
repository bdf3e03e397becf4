#!/usr/bin/env python3
"""Fuzz the whole chain: random networks -> freeze -> C, under the sanitizers and on QEMU.

Each architecture is a random supported ``nn.Sequential`` drawn by the tests'
generator (``tests/strategies.py``: dense, 2-D convolutions with rectangular
kernels, strides and padding, 1-D convolutions, 2-D and 1-D max pooling,
flatten; widths that are not a multiple of 32, odd sizes), on a random input
spec (``uint8``, ``int8`` or ``int16``; ``chw``, ``hwc``, ``cl`` or
``flat``; range or per-channel normalisation), with weights that are
sometimes all +1 or all -1 and extreme batch-norm statistics (gamma 0, tiny
or negative, huge beta, tiny or huge variance, means far out, thresholds
exactly on a reachable sum). For each, the script

1. freezes it (``sbn_mcu.training.freeze``) and renders its C;
2. compiles the C with the host gcc under AddressSanitizer and
   UndefinedBehaviorSanitizer (plus ``-Wconversion -Wshadow``) and compares
   every class score with the numpy reference (``ir.reference.run``) on
   ``--inputs`` inputs: the smallest and largest values, a checkerboard of
   them, then random ones of several kinds;
3. checks torch's float64 hard mode against the reference layer by layer
   (``ir.reference.trace``), each frozen layer's torch modules (as
   ``freeze.group`` finds them) fed the reference's own input to it;
4. for every ``--qemu-every``-th architecture, runs the same C on an emulated
   Cortex-M0 or M4 (portable and DSP kernels) with the golden harness.

Architecture ``i`` is drawn from ``(--seed, i)``: ``--only I`` runs it again.
A failing one is saved (the frozen model, the inputs, the C) under
``--failures``. The totals go to ``--json``; ``--readme`` writes the README's
table from that JSON. The exit status is 1 if anything failed or differed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
README = ROOT / "README.md"
MARKS = ("<!-- fuzz table: python benchmarks/fuzz.py --readme -->", "<!-- end of fuzz table -->")
NAME = "fz"
SANITIZER_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1")
EXTRA_FLAGS = SANITIZER_FLAGS + ("-Wconversion", "-Wshadow")
QEMU_CORES = ("cortex-m0", "cortex-m4")  # the portable and the DSP kernels
QEMU_INPUTS = 20  # inputs per QEMU run: each emulated inference is slow

# A read past a static array through a pointer, like a kernel overrunning a packed
# buffer: the sanitizers must make it fail, or "0 sanitizer failures" means nothing.
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
    """The sanitizers' report on OOB_PROGRAM, built with the fuzz flags; RuntimeError if it runs clean."""
    from sbn_mcu import toolchain

    (tmp / "oob.c").write_text(OOB_PROGRAM)
    exe = toolchain.compile_host([tmp / "oob.c"], tmp / "oob", extra_flags=EXTRA_FLAGS)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    if run.returncode == 0 or not ("Sanitizer" in run.stderr or "runtime error" in run.stderr):
        raise RuntimeError(f"{' '.join(EXTRA_FLAGS)} did not catch an out-of-bounds read (exit {run.returncode})")
    return next(line for line in run.stderr.splitlines() if line.strip("= "))[:200]


def torch_check(model, fm, raw: np.ndarray) -> tuple[int, str]:
    """Torch float64 hard mode against the reference, one frozen layer at a time, each fed the
    reference's own input to that layer so that a difference does not spread: the output units
    that differ, and the first of them."""
    import torch

    from sbn_mcu.ir import reference
    from sbn_mcu.training import freeze
    from sbn_mcu.training.inputs import normalise
    from sbn_mcu.training.layers import hard_copy

    hard = hard_copy(model, fm.spec.scale)
    starts = [g.index for g in freeze.group(model)] + [len(model)]
    x = normalise(fm.spec, torch.from_numpy(raw)).double()
    differ, first = 0, ""
    with torch.no_grad():
        for j, out in enumerate(reference.trace(fm, raw)):
            y = hard[starts[j]:starts[j + 1]](x)
            if not fm.layers[j].has_weights:  # flatten and pooling are exact, also on torch's scaled inputs
                x = y
                continue
            y, out = y.numpy(), out.reshape(y.shape)
            bad = np.argwhere(y != out)
            if len(bad) and not first:
                unit = tuple(bad[0])
                first = (f"layer {j} ({type(fm.layers[j]).__name__}) input {unit[0]} unit {bad[0][1:].tolist()}: "
                         f"torch {y[unit]} vs reference {out[unit]}")
            differ += len(bad)
            x = torch.from_numpy(out.astype(np.float64))
    return differ, first


def host_run(folder: Path, fm, raw: np.ndarray) -> tuple[np.ndarray | None, str, str]:
    """The sanitized host build's scores, or None with the status and message of its failure."""
    from sbn_mcu import toolchain, verify
    from sbn_mcu.errors import SbnError

    try:
        return verify.host_scores(folder, NAME, raw.reshape(len(raw), -1), fm.num_classes,
                                  extra_flags=EXTRA_FLAGS, timeout_s=60), "ok", ""
    except toolchain.ToolError as err:
        return None, "compile", f"{err} {getattr(err, 'details', '')}"[:2000]
    except SbnError as err:  # a sanitizer report makes the program exit non-zero
        report = str(err)
        return None, "sanitizer" if "Sanitizer" in report or "runtime error" in report else "runtime", report


def run_one(index: int, seed: int, n_inputs: int, qemu_every: int, failures: str) -> dict:
    """Draw architecture ``index`` of ``seed``, take it through the chain, and say what happened."""
    import torch

    import strategies
    from sbn_mcu import codegen
    from sbn_mcu.ir import reference
    from sbn_mcu.training.freeze import freeze
    from sbn_mcu.verify import golden

    torch.set_num_threads(1)
    start = time.perf_counter()
    rng = np.random.default_rng([seed, index])
    kind = "mlp" if rng.random() < 0.4 else "cnn"
    model, shape, spec_choice = strategies.draw_network(rng, kind)
    spec = strategies.random_spec(rng, shape, *spec_choice)
    modes: Counter = Counter()
    strategies.randomize(model, rng, extreme=True, drawn=modes)
    raw = strategies.random_inputs(rng, spec, n_inputs)
    result = {"index": index, "kind": kind, "dtype": spec.dtype, "layout": spec.layout,
              "normalisation": spec.normalisation, "inputs": n_inputs, "status": "ok", "message": "",
              "mismatched_inputs": 0, "torch_units": 0, "bn_modes": dict(modes), "arch": repr(model)}
    fm = files = None
    stage = "freeze"
    try:
        fm = freeze(model, spec)
        strategies.random_kernels(rng, fm)  # the faster kernels of --optimize speed too
        stage = "codegen"
        plan = codegen.plan(fm)
        result["arch"] = f"{spec.dtype} {spec.layout} {'x'.join(map(str, shape))}: " + \
            "; ".join(f"{step.title} ({step.kernel})" for step in plan.steps)
        result["layers"] = [type(layer).__name__ for layer in fm.layers]
        result["kernels"] = sorted({step.kernel for step in plan.steps})
        files = codegen.model_sources(fm, NAME)
        stage = "reference"
        expected = reference.run(fm, raw)
        stage = "host"
        with tempfile.TemporaryDirectory(prefix="sbn-fuzz-") as tmp:
            tmp = Path(tmp)
            for fname, text in files.items():
                (tmp / fname).write_text(text)
            got, status, message = host_run(tmp, fm, raw)
            result.update(status=status, message=message[:300])
            if got is not None and (bad := np.flatnonzero((got != expected).any(axis=1))).size:
                result.update(status="mismatch", mismatched_inputs=int(bad.size),
                              message=f"inputs {bad[:10].tolist()} differ; first: C {got[bad[0]].tolist()} "
                                      f"vs reference {expected[bad[0]].tolist()}")
            if qemu_every and index % qemu_every == 0:
                stage = "qemu"
                core, k = QEMU_CORES[index // qemu_every % len(QEMU_CORES)], min(n_inputs, QEMU_INPUTS)
                run = golden.run_golden(core, [tmp / f"{NAME}.c"], [tmp], NAME, raw[:k].reshape(k, -1),
                                        expected[:k], tmp / "build", defines=["SBN_REPEAT=1"])
                result["qemu"] = {"core": core, "inputs": k, "mismatches": int(run.mismatches)}
                if run.mismatches and result["status"] == "ok":
                    result.update(status="qemu", message=f"{run.mismatches} scores differ on {core}")
        stage = "torch"
        result["torch_units"], first = torch_check(model, fm, raw)
        if result["torch_units"] and result["status"] == "ok":
            result.update(status="torch", message=f"{result['torch_units']} outputs differ; first: {first}")
    except Exception as err:  # a supported network must never fail: a bug of some stage
        result.update(status=f"error:{stage}", message=f"{type(err).__name__}: {err}"[:300],
                      traceback=traceback.format_exc()[-2000:])
    result["seconds"] = round(time.perf_counter() - start, 3)
    if result["status"] != "ok":
        result["saved"] = save_failure(Path(failures) / f"seed{seed}-{index:05d}", result, fm, raw, files)
    return result


def save_failure(folder: Path, result: dict, fm, raw: np.ndarray, files: dict | None) -> str:
    """What reproduces a failure: ``model.sbn.npz`` (``FrozenModel.load``), ``inputs.npy``, the C, ``info.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    if fm is not None:
        fm.save(folder / "model.sbn.npz")
    np.save(folder / "inputs.npy", raw)
    for fname, text in (files or {}).items():
        (folder / fname).write_text(text)
    (folder / "info.json").write_text(json.dumps(result, indent=2) + "\n")
    return str(folder)


def code_state() -> dict:
    """The commit, uncommitted changes to the package, and a hash of its files: to notice an edit
    made during a run, which could explain a failure."""
    def git(*cmd):
        run = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return run.stdout.rstrip() if run.returncode == 0 else ""  # status lines start with a space

    digest = hashlib.sha256()
    for folder in (ROOT / "sbn_mcu", ROOT / "templates"):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".c", ".h", ".j2"):
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    changed = git("status", "--porcelain", "--", "sbn_mcu", "templates")
    return {"git_head": git("rev-parse", "HEAD"), "code_sha256": digest.hexdigest(),
            "uncommitted_changes": [line[3:] for line in changed.splitlines()]}


def summarize(results: list[dict], command: str, seed: int, jobs: int, wall: float) -> dict:
    statuses = Counter(r["status"] for r in results)
    count = lambda key: dict(sorted(Counter(r[key] for r in results).items()))  # noqa: E731
    each = lambda key: dict(sorted(Counter(x for r in results for x in r.get(key, ())).items()))  # noqa: E731
    qemu = [r["qemu"] for r in results if "qemu" in r]
    modes: Counter = Counter()
    for r in results:
        modes.update(r["bn_modes"])
    summary = {
        "command": command, "seed": seed, "jobs": jobs, "wall_time_s": round(wall, 1),
        "architectures": len(results), "mlp": sum(r["kind"] == "mlp" for r in results),
        "cnn": sum(r["kind"] == "cnn" for r in results), "inputs": sum(r["inputs"] for r in results),
        "score_mismatches": sum(r["mismatched_inputs"] for r in results),
        "mismatched_architectures": statuses["mismatch"],
        "sanitizer_failures": statuses["sanitizer"], "compile_failures": statuses["compile"],
        "torch_differing_outputs": sum(r["torch_units"] for r in results),
        "torch_differing_architectures": sum(bool(r["torch_units"]) for r in results),
        "qemu": {"architectures": len(qemu), "inputs": sum(q["inputs"] for q in qemu),
                 "mismatches": sum(q["mismatches"] for q in qemu),
                 "cores": dict(sorted(Counter(q["core"] for q in qemu).items()))},
        "other_failures": sum(n for s, n in statuses.items()
                              if s not in ("ok", "mismatch", "sanitizer", "compile", "torch", "qemu")),
        "compiler_flags": list(EXTRA_FLAGS),
        "coverage": {"input_types": count("dtype"), "layouts": count("layout"),
                     "normalisations": count("normalisation"), "layers": each("layers"),
                     "kernels": each("kernels"), "bn_channel_modes": dict(sorted(modes.items()))},
        "seconds_per_architecture_max": max((r["seconds"] for r in results), default=0.0),
        "problems": [{k: r.get(k) for k in ("index", "status", "arch", "message", "saved")}
                     for r in results if r["status"] != "ok"],
    }
    summary["ok"] = not summary["problems"]
    return summary


def table(s: dict) -> list[str]:
    """The totals as a markdown table: the terminal and the README show the same lines."""
    listed = lambda counts: " · ".join(f"{k} {v:,}" for k, v in counts.items())  # noqa: E731
    q, cov = s["qemu"], s["coverage"]
    rows = [
        ("Architectures", f"{s['architectures']:,} ({s['mlp']:,} MLP, {s['cnn']:,} CNN)"),
        ("Inputs, host C under ASan + UBSan", f"{s['inputs']:,}"),
        ("Score mismatches, C vs reference", f"{s['score_mismatches']:,} inputs "
                                             f"({s['mismatched_architectures']} architectures)"),
        ("Sanitizer failures", f"{s['sanitizer_failures']}"),
        ("Compile and other failures", f"{s['compile_failures'] + s['other_failures']}"),
        ("Torch hard mode vs reference, per layer", f"{s['torch_differing_outputs']:,} differing outputs"),
        (f"QEMU ({', '.join(q['cores'])})", f"{q['architectures']} architectures, {q['inputs']:,} inputs, "
                                           f"{q['mismatches']} mismatches"),
        ("Architectures per input type", listed(cov["input_types"])),
        ("Architectures per layout", listed(cov["layouts"])),
        ("Layers per kind", listed(cov["layers"])),
        ("Architectures per kernel", listed(cov["kernels"])),
    ]
    return ["| Fuzz | Total |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]


def write_readme(results: Path) -> None:
    """Replace the README's fuzz table (between MARKS) with the one from ``results``."""
    from sbn_mcu.files import write_between_marks

    summary = json.loads(results.read_text())
    write_between_marks(README, MARKS, [f"`{summary['command']}` ({summary['wall_time_s']:.0f} s):", ""]
                        + table(summary))
    print(f"wrote the fuzz table of {README} from {results}")


def _worker_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python benchmarks/fuzz.py --architectures 500 --inputs 200 --seed 0\n"
               "Again one architecture: python benchmarks/fuzz.py --seed 0 --only 123 --inputs 200")
    parser.add_argument("--architectures", type=int, default=20, help="random architectures (default 20)")
    parser.add_argument("--inputs", type=int, default=200, help="inputs per architecture, at least 3 (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="architecture i is drawn from (seed, i) (default 0)")
    parser.add_argument("--qemu-every", type=int, default=10, metavar="K",
                        help="run every K-th architecture on QEMU too; 0: none (default 10)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "fuzz.json",
                        help="where the totals go (default benchmarks/fuzz.json)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--failures", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-failures",
                        help="where failing architectures are saved (default <tmp>/fuzz-failures)")
    parser.add_argument("--only", type=int, nargs="+", metavar="INDEX", help="run only these architectures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--readme", action="store_true", help="only rewrite the README's table from --json")
    args = parser.parse_args(argv)
    if args.architectures < 1 or args.inputs < 3 or args.jobs < 1 or args.qemu_every < 0:
        parser.error("--architectures and --jobs must be at least 1, --inputs at least 3")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.readme:
        write_readme(args.json)
        return 0
    from tqdm import tqdm

    command = shlex.join(["benchmarks/fuzz.py", *(sys.argv[1:] if argv is None else argv)])
    indices = args.only or list(range(args.architectures))
    before, start = code_state(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sbn-fuzz-") as tmp:
        print(f"sanitizer self-check: {sanitizer_self_check(Path(tmp))}", file=sys.stderr)
    work = (args.seed, args.inputs, args.qemu_every, str(args.failures))
    with ProcessPoolExecutor(args.jobs, initializer=_worker_init) as pool:
        runs = pool.map(run_one, indices, *[[w] * len(indices) for w in work])
        results = list(tqdm(runs, total=len(indices), unit="arch", disable=args.no_progress, file=sys.stderr))
    summary = summarize(results, command, args.seed, args.jobs, time.perf_counter() - start)
    summary.update(before, code_changed_during_run=code_state() != before)
    print("\n".join(table(summary)))
    for p in summary["problems"][:20]:
        print(f"  {p['index']} [{p['status']}] {p['arch']}: {p['message']}\n    saved in {p['saved']}")
    if summary["code_changed_during_run"]:
        print("WARNING: sbn_mcu/ or templates/ changed during the run: rerun a failure with --only")
    args.json.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{'OK' if summary['ok'] else 'FAILED'}; totals in {args.json}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
