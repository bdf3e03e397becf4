"""Accuracy of SBN against the STE and float baselines, measured on the C.

    python benchmarks/accuracy.py --archs mlp --epochs 15 --seeds 5
    python benchmarks/accuracy.py --archs cnn --epochs 3 --limit cnn=20000 --seeds 2
    python benchmarks/accuracy.py --epochs mlp=15,cnn=10,cnn-large=3 --seeds mlp=5,cnn=2,cnn-large=2 --jobs 2
    python benchmarks/accuracy.py --archs mlp --seeds 2 --variant cap=grad_v_max=3 --variant kd=teacher=runs/f/model.pt
    python benchmarks/accuracy.py --readme          # the README's table, from accuracy.json

``--variant NAME=OPTION=VALUE[,OPTION=VALUE]`` adds runs with those training
options (TrainConfig's names) beside the defaults; an option that only SBN
reads (``SBN_ONLY``) runs for sbn alone, the others for every method, so the
comparison stays fair.

For every architecture, method and seed it trains with ``sbn_mcu.training``
(the same epochs for every method of an architecture), and for the binary
methods (sbn, ste) exports ``model.pt`` (the best epoch by validation) and
runs the generated C on the host over the whole test split: the accuracy
reported is the C's. The float baseline cannot be exported; its accuracy is
torch's. Writes --name's .json and .md (default: accuracy) into --out (default:
this folder) after every run, so an interrupted benchmark keeps what it
measured.
``--jobs N`` trains N runs at once, each in its own process with
``--threads`` torch threads (default: the CPUs shared out). A benchmark, not a
test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch

from sbn_mcu.export import export
from sbn_mcu.training.architectures import ARCHITECTURES
from sbn_mcu.files import write_atomically, write_between_marks
from sbn_mcu.training import TrainConfig, train
from sbn_mcu.verify import verify_host

HERE = Path(__file__).resolve().parent
METHODS = ("sbn", "ste", "float")


SBN_ONLY = ("v_end", "weight_norm", "weight_v_scale", "weight_v_fan_in", "grad_v_max", "sign_finish")
README = Path(HERE.parent / "README.md")
MARKS = ("<!-- accuracy table: python benchmarks/accuracy.py --readme -->", "<!-- end of accuracy table -->")


def per_arch(value: str | None, archs: list[str], option: str, default=None) -> dict:
    """``15`` for every architecture, or ``mlp=15,cnn=3`` (architectures left out get ``default``)."""
    if value is None or "=" not in value:
        return {arch: int(value) if value is not None else default for arch in archs}
    given = {k.strip(): int(v) for k, v in (item.split("=") for item in value.split(","))}
    missing = [a for a in archs if a not in given and default is None and option == "--epochs"]
    if missing:
        raise SystemExit(f"error: {option} names no count for {', '.join(missing)}")
    return {arch: given.get(arch, default) for arch in archs}


def variant(text: str) -> tuple[str, dict]:
    """``cap=grad_v_max=3,sign_finish=0.2`` -> ("cap", {"grad_v_max": 3.0, "sign_finish": 0.2})."""
    name, _, options = text.partition("=")
    fields = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    parsed = {}
    for item in options.split(","):
        key, _, value = item.partition("=")
        if key not in fields or not value:
            raise SystemExit(f"error: --variant {text}: {key!r} is not a training option ({', '.join(fields)})")
        kind = fields[key].split(" |")[0]  # the annotation's text: "float | None" -> "float"
        parsed[key] = (value in ("1", "true", "True") if kind == "bool" else int(value) if kind == "int" else
                       float(value) if kind == "float" else Path(value))
    return name, parsed


def one_run(arch: str, method: str, seed: int, epochs: int, limit: int | None, name: str, options: dict,
            args, work: Path) -> dict:
    run_dir = work / f"{arch}-{method}-{name}-{seed}"
    config = TrainConfig(arch=arch, method=method, epochs=epochs, seed=seed, limit=limit,
                         device=args.device, val_images=args.val_images, **options)
    started = time.perf_counter()
    _, metrics = train(config, run_dir, progress=sys.stderr.isatty())
    best = json.loads((run_dir / "metrics.json").read_text())["best_epoch"]
    last = metrics[-1]
    result = {"arch": arch, "method": method, "variant": name, "options": {k: str(v) for k, v in options.items()},
              "seed": seed, "epochs": epochs, "limit": limit, "best_epoch": best,
              # the median resists other jobs on a shared machine slowing a few epochs
              "train_seconds_per_epoch": statistics.median(m["seconds"] for m in metrics),
              "epoch_seconds": [m["seconds"] for m in metrics],
              "final_soft_accuracy": last["soft_accuracy"], "final_hard_accuracy": last["hard_accuracy"],
              "final_soft_hard_gap": last["soft_accuracy"] - last["hard_accuracy"],
              "best_val_hard_accuracy": metrics[best - 1].get("val_hard_accuracy"),
              "torch_accuracy": metrics[best - 1]["hard_accuracy"]}
    if method == "float":
        result["accuracy"], result["measured_on"] = result["torch_accuracy"], "torch (float, not exportable)"
    else:
        export(run_dir / "model.pt", work / f"{run_dir.name}-c", name="net")
        host = verify_host(work / f"{run_dir.name}-c")
        if host["mismatches"]:
            raise SystemExit(f"error: {run_dir.name}: the C disagrees with the reference on {host['mismatches']} inputs")
        result["accuracy"], result["measured_on"] = host["accuracy"], "host C (gcc), whole test split"
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def summarise(runs: list[dict]) -> list[dict]:
    """One row per architecture, variant and method: the mean over seeds, its spread, the gap and the time."""
    rows = []
    for arch, name in dict.fromkeys((r["arch"], r.get("variant", "default")) for r in runs):
        float_time = [r["train_seconds_per_epoch"] for r in runs if r["arch"] == arch and r["method"] == "float"
                      and r.get("variant", "default") in (name, "default")]
        for method in dict.fromkeys(r["method"] for r in runs if r["arch"] == arch):
            group = [r for r in runs if r["arch"] == arch and r["method"] == method
                     and r.get("variant", "default") == name]
            if not group:
                continue
            acc = [r["accuracy"] for r in group]
            row = {"arch": arch, "variant": name, "method": method, "epochs": group[0]["epochs"],
                   "limit": group[0].get("limit"), "seeds": [r["seed"] for r in group],
                   "accuracy_mean": statistics.mean(acc), "accuracy_min": min(acc), "accuracy_max": max(acc),
                   "accuracy_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                   "final_soft_hard_gap_mean": statistics.mean(r["final_soft_hard_gap"] for r in group),
                   "train_seconds_per_epoch": statistics.mean(r["train_seconds_per_epoch"] for r in group)}
            if float_time:
                row["time_per_epoch_vs_float"] = row["train_seconds_per_epoch"] / statistics.mean(float_time)
            rows.append(row)
    return rows


def machine(jobs: int) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (load average {load} when written), "
            f"torch {torch.__version__} with {torch.get_num_threads()} thread(s) per run, {jobs} run(s) at "
            "once, device as in the command.")


def table(rows: list[dict]) -> list[str]:
    """The summary table: the README shows the same lines."""
    pct = lambda x: f"{100 * x:.2f}"  # noqa: E731
    lines = ["| Arch | Budget | Options | Method | Seeds | Accuracy % (min-max) | Soft-hard gap (pp) | s / epoch "
             "| ÷ float |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        budget = f"{r['epochs']} epochs" + (f", {r['limit']:,} images" if r.get("limit") else "")
        gap = "" if r["method"] == "float" else f"{100 * r['final_soft_hard_gap_mean']:+.2f}"
        ratio = f"{r['time_per_epoch_vs_float']:.2f}" if "time_per_epoch_vs_float" in r else ""
        lines.append(f"| {r['arch']} | {budget} | {r.get('variant', 'default')} | {r['method']} | {len(r['seeds'])} | "
                     f"{pct(r['accuracy_mean'])} ({pct(r['accuracy_min'])}-{pct(r['accuracy_max'])}) | {gap} | "
                     f"{r['train_seconds_per_epoch']:.1f} | {ratio} |")
    return lines


def markdown(rows: list[dict], runs: list[dict], command: str, variants: dict, jobs: int) -> str:
    pct = lambda x: f"{100 * x:.2f}"  # noqa: E731
    lines = ["# Accuracy: SBN against STE and float, same architecture and epochs", "",
             f"Command: `{command}`", "", machine(jobs), "",
             "Accuracy is the test accuracy of `model.pt`, the epoch that validation chose (the last whose "
             "hard accuracy on the images held out of the training split came within one standard error "
             "of the best so far); for sbn and ste it is "
             "measured on the exported C (host gcc), for float in torch. Mean over seeds, (min-max). "
             "The soft-hard gap is soft (tanh / latent) minus hard (binary) test accuracy at the final "
             "epoch, in points. Time is the median over epochs of the training loop (no evaluation), "
             "on this machine; ÷ float divides it by the float run's of the same budget.", ""]
    if variants:
        lines += ["Options: " + "; ".join(f"{name}: " + ", ".join(f"`{k}={v}`" for k, v in opts.items())
                                           for name, opts in variants.items()), ""]
    lines += table(rows)
    lines += ["", "Per run:", "", "| Arch | Options | Method | Seed | Accuracy % | Best epoch | Final hard % | "
              "Final soft % | Wall s |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['arch']} | {r.get('variant', 'default')} | {r['method']} | {r['seed']} | "
                     f"{pct(r['accuracy'])} | {r['best_epoch']} | {pct(r['final_hard_accuracy'])} | "
                     f"{pct(r['final_soft_accuracy'])} | {r['wall_seconds']} |")
    return "\n".join(lines) + "\n"


def write_readme(results: Path) -> None:
    """Replace the README's accuracy table (between MARKS) with the one from ``results``."""
    written = json.loads(results.read_text())
    write_between_marks(README, MARKS, [f"`{written['command']}`:", ""] + table(written["summary"]))
    print(f"wrote the accuracy table of {README} from {results}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="mlp,cnn,cnn-large", help="comma-separated architectures")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--epochs", default="15", help="epochs for every arch, or per arch: mlp=15,cnn=3")
    parser.add_argument("--seeds", default="2", help="seeds 0 .. N-1, for every arch or per arch: mlp=5,cnn=2")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--limit", default=None,
                        help="training images, for every arch or per arch (cnn=20000); default: all")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OPTION=VALUE[,OPTION=VALUE]",
                        help="also train with these options (repeatable)")
    parser.add_argument("--no-default", action="store_true", help="run the variants only")
    parser.add_argument("--val-images", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per run (1 keeps epoch times steady on a shared machine)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once, each in its own process")
    parser.add_argument("--out", type=Path, default=HERE, help="where NAME.json and NAME.md go")
    parser.add_argument("--name", default="accuracy", help="the results' file name, without .json or .md")
    parser.add_argument("--runs", type=Path, default=None,
                        help="keep every run's folder (model.pt, metrics.json, curves.png) and C export here; "
                             "default: a temporary folder, deleted at the end")
    parser.add_argument("--readme", action="store_true", help="only rewrite the README's table from --out's JSON")
    args = parser.parse_args()
    if args.readme:
        return write_readme(args.out / f"{args.name}.json")
    if args.jobs < 1:
        raise SystemExit("error: --jobs must be 1 or more")
    threads = args.threads or (max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None)
    if threads:
        torch.set_num_threads(threads)
    archs = [a.strip() for a in args.archs.split(",")]
    methods = [m.strip() for m in args.methods.split(",")]
    seeds = per_arch(args.seeds, archs, "--seeds", default=2)
    bad = [a for a in archs if a not in ARCHITECTURES] + [m for m in methods if m not in METHODS]
    if bad or min(seeds.values()) < 1:
        raise SystemExit(f"error: unknown {', '.join(bad) or 'seed count'}; archs: {', '.join(ARCHITECTURES)}, "
                         f"methods: {', '.join(METHODS)}, --seeds >= 1")
    epochs = per_arch(args.epochs, archs, "--epochs")
    limits = per_arch(args.limit, archs, "--limit")
    variants = dict(variant(v) for v in args.variant)
    chosen = ({} if args.no_default else {"default": {}}) | variants
    command = "python benchmarks/accuracy.py " + shlex.join(sys.argv[1:])
    plan = [(a, name, m, s) for a in archs for name, opts in chosen.items() for m in methods
            if name == "default" or m == "sbn" or not set(opts) <= set(SBN_ONLY) for s in range(seeds[a])]
    done: dict[int, dict] = {}  # plan index -> result: the tables keep the plan's order whatever finishes first
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sbn-accuracy-") as tmp, ProcessPoolExecutor(
            args.jobs, mp_context=get_context("spawn"), initializer=torch.set_num_threads,
            initargs=(torch.get_num_threads(),)) as pool:
        futures = {pool.submit(one_run, arch, method, seed, epochs[arch], limits[arch], name, chosen[name], args,
                               args.runs or Path(tmp)): i for i, (arch, name, method, seed) in enumerate(plan)}
        for arch, name, method, seed in plan[:args.jobs]:
            print(f"started {arch} {name} {method} seed {seed}, {epochs[arch]} epochs ...", flush=True)
        for future in as_completed(futures):
            r = done[futures[future]] = future.result()
            print(f"[{len(done)}/{len(plan)}] {r['arch']} {r['variant']} {r['method']} seed {r['seed']}: accuracy "
                  f"{100 * r['accuracy']:.2f}% ({r['measured_on']}), best epoch {r['best_epoch']}, final soft-hard "
                  f"gap {100 * r['final_soft_hard_gap']:+.2f} pp, {r['train_seconds_per_epoch']:.1f} s/epoch, "
                  f"{r['wall_seconds']} s", flush=True)
            runs = [done[i] for i in sorted(done)]
            rows = summarise(runs)
            write_atomically(args.out / f"{args.name}.json", lambda p: p.write_text(
                json.dumps({"command": command, "summary": rows, "runs": runs}, indent=2) + "\n"))
            write_atomically(args.out / f"{args.name}.md", lambda p: p.write_text(
                markdown(rows, runs, command, variants, args.jobs)))
    runs = [done[i] for i in sorted(done)]
    print(markdown(summarise(runs), runs, command, variants, args.jobs))


if __name__ == "__main__":
    main()
