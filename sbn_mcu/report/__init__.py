"""One self-contained HTML page about an export: ``sbn-mcu report``.

The page shows the model and its input, the per-layer summary, memory against
a board, the training curves, the C's accuracy on the test split (computed
here with :func:`~sbn_mcu.verify.verify_host`), instructions per inference on
emulated cores (with :func:`~sbn_mcu.bench.bench`, the function ``sbn-mcu
bench`` calls) and the commands that regenerate each figure. Styles are
inline, figures are inline SVG (:mod:`.svg`), and nothing is fetched: the page
opens from a folder on a machine with no network.

Every number a figure shows is also in the DOM as a ``data-*`` attribute, in
the form ``verify --json`` and ``bench --json`` print it, so that a test
compares the page with those commands:

* ``#accuracy [data-metric=accuracy|reference_accuracy|n|mismatches]`` with ``data-value``;
  ``#mismatches`` holds the mismatch count;
* ``#per-class tr[data-class]`` with ``data-name``, ``data-n``, ``data-accuracy``;
* ``#confusion g[data-row][data-col]`` with ``data-count``;
* ``#speed tr[data-core]`` holds ``td[data-metric=...]`` (``instructions_per_inference``,
  ``instructions_per_mac``, ``model_flash_bytes``, ``model_ram_bytes``, ``stack_bytes``);
  ``#speed-layers tr[data-core][data-layer]`` holds ``td[data-metric=instructions]``;
* ``#layers tr[data-layer]`` (and ``tr[data-total]``) holds ``td[data-metric=...]`` of ``summary.json``;
* ``#training-curves [data-series][data-epoch]`` with ``data-value``; ``[data-exported-epoch]``;
* ``#memory g[data-bar]`` with ``data-used`` and ``data-budget``.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import fields
from pathlib import Path

from .. import __version__
from ..errors import SbnError
from ..files import write_atomically
from . import svg

TEMPLATE = "templates/report.html.j2"
CURVES = (("soft_accuracy", "soft (tanh)"), ("hard_accuracy", "hard (binary)"),
          ("val_hard_accuracy", "hard, validation"))


def parse_cores(value: str | None) -> list[str]:
    """``--bench``'s comma-separated cores, checked against the cores sbn-mcu builds for.

    >>> parse_cores("cortex-m4, cortex-m0")
    ['cortex-m4', 'cortex-m0']
    """
    from ..targets.cores import NAMES

    if value is None:
        return []
    cores = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in cores if c not in NAMES]
    if unknown or not cores:
        raise SbnError(f"unknown core {', '.join(unknown) or repr(value)} in --bench; choose from "
                       f"{', '.join(NAMES)}")
    return list(dict.fromkeys(cores))


def read_run(run_dir: Path) -> dict:
    """A run folder's ``metrics.json``: ``{"config", "best_epoch", "epochs"}``, checked."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SbnError(f"run folder {run_dir} does not exist; give the folder `sbn-mcu train --out` wrote")
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise SbnError(f"{run_dir} has no metrics.json; give --run the folder `sbn-mcu train --out` wrote "
                       "(it holds model.pt and metrics.json)")
    try:
        metrics = json.loads(path.read_text())
        epochs = metrics["epochs"]
        best = int(metrics["best_epoch"])
        ok = isinstance(epochs, list) and epochs and all(
            isinstance(e, dict) and {"epoch", "v", "soft_accuracy", "hard_accuracy"} <= set(e) for e in epochs)
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise SbnError(f"{path} is not a metrics.json of `sbn-mcu train` (no epochs); train again or give "
                       "another --run")
    return {"config": metrics.get("config") or {}, "best_epoch": best, "epochs": epochs}


def _matches(metrics: dict, record: dict) -> bool:
    """Whether the run's exported epoch is the epoch the export recorded."""
    best = metrics["best_epoch"]
    if not record or not 1 <= best <= len(metrics["epochs"]):
        return False
    mine = metrics["epochs"][best - 1]
    return all(mine.get(k) == v for k, v in record.items())


def find_run(export_dir: Path, meta: dict) -> Path | None:
    """The run folder an export came from, where it can be told: a ``run`` folder the
    meta names, or a ``run`` folder beside the export (as ``sbn-mcu demo`` writes them),
    whose exported epoch is the one the export records."""
    record = meta.get("training") or {}
    candidates = [meta.get(key) for key in ("run", "run_dir") if isinstance(meta.get(key), str)]
    candidates.append(Path(export_dir).resolve().parent / "run")
    for candidate in candidates:
        try:
            metrics = read_run(Path(candidate))
        except SbnError:
            continue
        if _matches(metrics, record):
            return Path(candidate)
    return None


def _train_command(config: dict, run_dir: str, options: set[str]) -> tuple[str, list[str]]:
    """The ``sbn-mcu train`` command of a run's config, and the settings no option sets.

    ``options``: the names ``sbn-mcu train`` takes (``--epochs``, ``--no-weight-norm``, ...);
    the command line passes them in, as it stands above every stage."""
    from ..training.config import DEFAULTS

    defaults = {f.name: getattr(DEFAULTS, f.name) for f in fields(DEFAULTS)}
    plain = lambda v: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v  # noqa: E731
    always = ("arch", "method", "epochs", "seed")
    sizes = ("image_size", "input_shape")
    args = ["sbn-mcu", "train"]
    if config.get("data") is None:
        args += ["--dataset", str(config.get("dataset", defaults["dataset"]))]
    notes = []
    for key, value in config.items():
        if key not in defaults or key == "dataset":
            continue
        differs = value != plain(defaults[key])
        option = "--" + key.replace("_", "-")
        flag = option if value is not False else "--no-" + key.replace("_", "-")
        if flag not in options:
            if differs:
                notes.append(f"{key}={value}")
            continue
        if value is None or not (differs or key in always):
            continue
        if isinstance(value, bool):
            args.append(flag)
        elif key in sizes:
            args += [option, "x".join(str(v) for v in value)]
        else:
            args += [option, str(value)]
    args += ["--out", run_dir]
    return " ".join(shlex.quote(a) for a in args), notes


def _input(spec) -> dict:
    return {"type": f"{spec.dtype} ({spec.c_type})", "shape": "x".join(map(str, spec.shape)),
            "layout": f"{spec.layout}: {spec.layout_text()}", "normalisation": spec.normalisation,
            "normalisation_text": spec.describe(), "size": spec.size}


def _data_text(meta: dict, data_path: Path | None) -> str:
    if data_path is not None:
        return f"{data_path} (--data)"
    source = (meta.get("data") or {}).get("source")
    if isinstance(source, dict):
        kind = source.get("dataset") or source.get("kind") or "data"
        return f"{kind}: {source.get('path')}" if source.get("path") else str(kind)
    if meta.get("dataset"):
        return str(meta["dataset"])
    return "not recorded"


def _curves(metrics: dict) -> dict:
    epochs = metrics["epochs"]
    numbers = [e["epoch"] for e in epochs]
    series = [{"key": key, "label": label, "values": [e.get(key) for e in epochs]}
              for key, label in CURVES if any(key in e for e in epochs)]
    return {"svg": svg.training_curves(numbers, series, [e["v"] for e in epochs], metrics["best_epoch"]),
            "epochs": epochs, "series": series, "best_epoch": metrics["best_epoch"],
            "total_epochs": len(epochs)}


def _memory(summary: dict, model, board_name: str | None) -> dict:
    total = summary["total"]
    memory = {"model_flash": total["flash_bytes"], "model_ram": total["ram_bytes"], "board": None}
    if board_name is None:
        return memory
    from ..codegen import plan
    from ..deploy.project import board_fit
    from ..targets import boards

    board = boards.get(board_name)
    fit = board_fit(board, plan(model), model.spec.input_bytes)  # what `sbn-mcu firmware` budgets
    rows = [{"key": "model_flash", "label": "model flash", "used": total["flash_bytes"],
             "budget": board.flash_bytes},
            {"key": "model_ram", "label": "model RAM", "used": total["ram_bytes"], "budget": board.ram_bytes},
            {"key": "firmware_flash", "label": "firmware flash, about", "used": fit["flash"]["need"],
             "budget": fit["flash"]["have"]},
            {"key": "firmware_ram", "label": "firmware RAM, about", "used": fit["RAM"]["need"],
             "budget": fit["RAM"]["have"]}]
    short = [f"it needs about {m['need']:,} B of {what} ({m['detail']}) and the board has {m['have']:,} B"
             for what, m in fit.items() if not m["fits"]]
    memory["board"] = {"name": board.name, "title": board.title, "core": board.core,
                       "flash": board.flash_bytes, "ram": board.ram_bytes, "rows": rows,
                       "does_not_fit": (f"The model does not fit {board.name}: " + "; ".join(short) + ".") if short else None,
                       "svg": svg.budget_bars(rows)}
    return memory


def _commands(export_arg: str, name: str, single_header: bool, run_arg: str | None, config: dict | None,
              cores: list[str], board: str | None, data_arg: str | None, limit: int | None, vectors: int,
              out_arg: str, train_options: set[str]) -> list[dict]:
    q = shlex.quote
    data = f" --data {q(data_arg)}" if data_arg else ""
    commands = []
    if run_arg is not None:
        train, notes = _train_command(config or {}, run_arg, train_options)
        commands.append({"figure": "training curves (metrics.json, curves.png)", "command": train,
                         "note": ("also set in the run, with no option: " + ", ".join(notes)) if notes else ""})
        commands.append({"figure": "the export (C, summary.json)",
                         "command": f"sbn-mcu export {q(str(Path(run_arg) / 'model.pt'))} --out {q(export_arg)} "
                                    f"--name {q(name)}" + (" --single-header" if single_header else ""),
                         "note": ""})
    commands.append({"figure": "layers and memory", "note": "",
                     "command": f"sbn-mcu summary {q(export_arg)}" + (f" --board {q(board)}" if board else "")})
    if board:
        commands.append({"figure": f"the firmware's memory on {board}", "note": "",
                         "command": f"sbn-mcu firmware {q(export_arg)} --board {q(board)} --out fw"})
    commands.append({"figure": "accuracy, per class, confusion matrix, mismatches",
                     "command": f"sbn-mcu verify {q(export_arg)} --host --json" + data
                                + (f" --limit {limit}" if limit else ""), "note": ""})
    if cores:
        commands.append({"figure": "instructions per inference, total and per layer",
                         "command": f"sbn-mcu bench {q(export_arg)} --cpu {q(','.join(cores))} "
                                    f"--vectors {vectors} --json" + data, "note": ""})
    report = [f"sbn-mcu report {q(export_arg)}"]
    if run_arg is not None:
        report.append(f"--run {q(run_arg)}")
    if cores:
        report.append(f"--bench {q(','.join(cores))}")
        if vectors != 10:
            report.append(f"--vectors {vectors}")
    if board:
        report.append(f"--board {q(board)}")
    if data_arg:
        report.append(f"--data {q(data_arg)}")
    if limit:
        report.append(f"--limit {limit}")
    report.append(f"--out {q(out_arg)}")
    commands.append({"figure": "this page", "command": " ".join(report), "note": ""})
    return commands


def check_out(out: Path) -> Path:
    """The page's path, refused early when it cannot be written."""
    out = Path(out)
    if out.is_dir():
        raise SbnError(f"--out {out} is a folder; give a file name such as {out / 'report.html'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SbnError(f"cannot create {out.parent}: {err.strerror}; choose a writable --out") from None
    return out


def write_report(export_dir: Path, out: Path, run_dir: Path | None = None, cores=(), board: str | None = None,
                 data_path: Path | None = None, limit: int | None = None, vectors: int = 10,
                 timeout_s: float = 300, step=None, progress: bool = False, host: dict | None = None,
                 train_options=frozenset()) -> dict:
    """Write the page for ``export_dir`` to ``out``; returns ``{"path", "bytes", "accuracy",
    "mismatches", "seconds"}``. ``step(text)`` hears of each step (the CLI prints it when
    interactive). Bad input is refused before anything runs; mismatches are shown on the
    page, and the caller decides what they mean. ``host``: a result of
    :func:`~sbn_mcu.verify.verify_host` on the same export and data, not run again.
    ``train_options``: the option names of ``sbn-mcu train``, to write the run's command
    (settings with no option become notes)."""
    from ..codegen import ExportFolder
    from ..targets import boards

    started = time.perf_counter()
    step = step or (lambda text: None)
    export_dir = Path(export_dir)
    # every bad input is one line before minutes of work
    if not export_dir.exists():
        raise SbnError(f"export folder {export_dir} does not exist; run `sbn-mcu export MODEL.pt --out "
                       f"{export_dir}` first")
    folder = ExportFolder.open(export_dir)
    cores = parse_cores(",".join(cores)) if cores else []
    if board is not None:
        boards.get(board)
    metrics = read_run(run_dir) if run_dir is not None else None
    out = check_out(out)
    plan_steps = 2 + (host is None) + bool(cores)
    count = iter(range(1, plan_steps + 1))

    step(f"[{next(count)}/{plan_steps}] reading {export_dir}")
    model = folder.model
    meta = dict(model.meta)
    summary = folder.summary
    found = None
    if metrics is None:
        found = find_run(export_dir, meta)
        if found is not None:
            metrics = read_run(found)
    run_used = run_dir if run_dir is not None else found
    record = meta.get("training") or {}
    curves = _curves(metrics) if metrics is not None else None
    run_mismatch = (metrics is not None and bool(record) and not _matches(metrics, record))

    if host is None:
        from ..verify import verify_host

        shown = f"the first {limit:,} test inputs" if limit else "the test split"
        step(f"[{next(count)}/{plan_steps}] verifying on the host (gcc, {shown})")
        host = verify_host(export_dir, data_path, limit, timeout_s, progress=progress)
    names = [model.spec.class_name(c) for c in range(model.num_classes)]

    bench_rows = []
    if cores:
        from ..bench import bench

        step(f"[{next(count)}/{plan_steps}] benchmarking in QEMU on {', '.join(cores)} ({vectors} golden vectors)")
        bench_rows = bench(export_dir, cores, vectors, data_path, timeout_s)
    fitting = [r for r in bench_rows if r["fits"]]

    config = metrics["config"] if metrics is not None else None
    training = {"arch": meta.get("arch") or (config or {}).get("arch") or "not recorded",
                "method": meta.get("method") or (config or {}).get("method") or "not recorded",
                "exported_epoch": record.get("epoch", curves["best_epoch"] if curves else None),
                "total_epochs": curves["total_epochs"] if curves else None,
                "planned_epochs": (config or {}).get("epochs"),
                "hard_accuracy": record.get("hard_accuracy")}
    context = {
        "version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "name": folder.name, "export_dir": str(export_dir), "single_header": folder.single_header,
        "input": _input(model.spec), "class_names": names, "data_text": _data_text(meta, data_path),
        "training": training,
        "summary": summary, "layers": [dict(r, output_text="x".join(map(str, r["output"]))) for r in summary["layers"]],
        "memory": _memory(summary, model, board),
        "curves": curves, "run": str(run_used) if run_used is not None else None,
        "run_found": found is not None, "run_mismatch": run_mismatch,
        "host": host, "limit": limit, "confusion_svg": svg.confusion_heatmap(host["confusion"], names),
        "cores": cores, "bench": bench_rows, "vectors": vectors,
        "layer_svg": svg.layer_bars(fitting),
        "commands": _commands(str(export_dir), folder.name, folder.single_header,
                              str(run_used) if run_used is not None else None, config, cores, board,
                              str(data_path) if data_path is not None else None, limit, vectors, str(out),
                              set(train_options)),
        "num": svg.number,
    }
    step(f"[{next(count)}/{plan_steps}] writing {out}")
    page = render_page(context)
    write_atomically(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return {"path": out, "bytes": len(page.encode("utf-8")), "accuracy": host["accuracy"], "n": host["n"],
            "mismatches": host["mismatches"], "seconds": round(time.perf_counter() - started, 2)}


def render_page(context: dict) -> str:
    """The page's HTML from the context :func:`write_report` gathers."""
    from ..codegen.environment import render

    return render(TEMPLATE, **context)
