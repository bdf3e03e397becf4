"""The main job end to end: train → export → verify on host gcc → verify in
QEMU Cortex-M4 → report. The CLI's ``demo`` command prints what it returns."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .codegen.summary import table
from .errors import SbnError
from .files import write_atomically
from .progress import interactive


def run(config, out: Path, vectors: int, show_result) -> dict:
    """Run every stage into ``out`` (``run/``, ``export/``, ``report.json``);
    ``show_result`` prints one verification result."""
    from .export import export
    from .training.loop import exported_record, train
    from .verify import verify_host, verify_qemu

    started = time.perf_counter()
    click.secho(f"[1/4] training {config.arch} on {config.data or config.dataset}", bold=True)
    train(config, out / "run")
    click.secho("[2/4] exporting C", bold=True)
    report = export(out / "run" / "model.pt", out / "export", "model", progress=interactive())
    click.echo(table(report))
    click.secho("[3/4] verifying on the host (gcc, whole test split)", bold=True)
    host = verify_host(out / "export", progress=interactive())
    show_result(host)
    click.secho("[4/4] verifying in QEMU (Cortex-M4, mps2-an386)", bold=True)
    qemu = verify_qemu(out / "export", "cortex-m4", vectors)
    show_result(qemu)
    result = {"hard_accuracy_torch": exported_record(out / "run")["hard_accuracy"], "host": host,
              "qemu": {k: v for k, v in qemu.items() if k != "passed"},
              "summary": report["total"], "seconds": round(time.perf_counter() - started, 1)}
    write_atomically(out / "report.json", lambda tmp: tmp.write_text(json.dumps(result, indent=2) + "\n"))
    from .cli.group import train_option_names
    from .report import write_report

    page = write_report(out / "export", out / "report.html", run_dir=out / "run", host=host,
                        train_options=train_option_names())
    click.secho("\nreport", bold=True)
    click.echo(f"  hard-binary accuracy (C, test set)  {100 * host['accuracy']:.2f}%")
    click.echo(f"  mismatches host / QEMU              {host['mismatches']} / {qemu['mismatches']}")
    click.echo(f"  instructions per inference (M4)     {qemu['instructions_per_inference']:,}")
    click.echo(f"  model flash / RAM (arm-none-eabi)   {qemu['model_flash_bytes']:,} B / "
               f"{qemu['model_ram_bytes']:,} B")
    click.echo(f"  total time                          {result['seconds']} s")
    click.echo(f"  files: {out}/run (model.pt, curves.png), {out}/export (C), {out}/report.json")
    click.echo(f"  report page: {page['path']}")
    if host["mismatches"] or qemu["mismatches"]:
        raise SbnError("mismatches found: the C does not agree with the reference")
    return result
