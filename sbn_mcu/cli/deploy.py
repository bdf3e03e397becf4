"""``firmware`` and ``flash``."""

from __future__ import annotations

from pathlib import Path

import click

from .group import main


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path), required=False)
@click.option("--board", default=None, metavar="BOARD",
              help="The board, e.g. nucleo-f446re or mps2-an386 (--list-boards shows them all).")
@click.option("--out", "fw_dir", type=click.Path(path_type=Path), default=None,
              help="Project folder to write.")
@click.option("--list-boards", is_flag=True, help="Print the boards with their core and memory, and exit.")
def firmware(out_dir, board, fw_dir, list_boards):
    """Write a standalone firmware project for a board from an export folder.

    The project holds the model's C, startup code, a linker script, a UART
    driver on the chip's registers, a main that answers inference requests
    over the UART (a small framing protocol with a CRC), and a Makefile: it
    builds with arm-none-eabi-gcc alone. A model too big for the board is
    refused with the numbers.

    \b
      sbn-mcu firmware build/mlp --board nucleo-f446re --out fw
      make -C fw                       # build/firmware.elf .hex .bin
      sbn-mcu flash fw                 # or: make -C fw flash
      sbn-mcu verify build/mlp --serial /dev/ttyACM0
    QEMU machines are boards too: `make -C fw run` starts one with its UART
    on a pty, which `verify --serial` accepts.
    """
    from ..deploy import write_project
    from ..targets import boards

    if list_boards:
        for b in boards.BOARDS.values():
            click.echo(b.describe())
        return
    if out_dir is None or board is None or fw_dir is None:
        raise click.UsageError("give OUT_DIR, --board and --out (or --list-boards)")
    info = write_project(out_dir, board, fw_dir)
    b = boards.get(board)
    click.echo(f"wrote {fw_dir} for {b.title}: model {info['model']}, about {info['flash_estimate']:,} of "
               f"{b.flash_bytes:,} B flash and {info['ram_estimate']:,} of {b.ram_bytes:,} B RAM")
    click.echo(f"next: make -C {fw_dir} && " + (f"sbn-mcu flash {fw_dir}" if b.pyocd_target
                                                  else f"make -C {fw_dir} run"))


@main.command()
@click.argument("fw_dir", type=click.Path(path_type=Path))
@click.option("--tool", type=click.Choice(["pyocd", "openocd"]), default=None,
              help="Flashing tool [default: pyocd if installed, else openocd].")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True)
def flash(fw_dir, tool, timeout):
    """Build a firmware project and program the board through a debug probe.

    Runs the project's `make flash` with pyOCD or OpenOCD, whichever is
    installed, and says clearly when neither is, or when no probe answers.
    """
    from ..deploy import board_of, flash as run

    log = run(fw_dir, tool, timeout)
    click.echo(log.rstrip().splitlines()[-1] if log.strip() else "")
    click.echo(f"flashed {board_of(fw_dir).title}")
