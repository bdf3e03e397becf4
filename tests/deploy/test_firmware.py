"""Board firmware projects: every board builds within its memory, and the
serial protocol runs end to end against QEMU machines standing in for boards.

The model is a 784-256-256-10 MLP with random weights, so its scores are
varied; the images are the real Fashion-MNIST test split.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from support import randomize
from sbn_mcu.targets import boards
from sbn_mcu import codegen
from sbn_mcu.deploy import project as firmware
from sbn_mcu.training import freeze
from sbn_mcu.training import architectures as models
from sbn_mcu.verify import protocol
from sbn_mcu.ir import reference
from sbn_mcu import toolchain
from sbn_mcu.cli import main
from sbn_mcu.errors import SbnError
from sbn_mcu.codegen import ExportFolder
from sbn_mcu.ir.model import SUFFIX
from sbn_mcu.verify import verify_serial


def write_export(path: Path, widths=(784, 256, 256, 10), seed: int = 0) -> Path:
    frozen = freeze.freeze(randomize(models.mlp((widths[0],), widths[-1], widths[1:-1]), np.random.default_rng(seed)), (1, 28, 28),
                           meta={"dataset": "fashion-mnist"})
    return codegen.ExportFolder.create(path, frozen, "fm", False).path


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("export") / "fm")


def build(export_dir: Path, board: str, fw_dir: Path) -> Path:
    firmware.write_project(export_dir, board, fw_dir)
    subprocess.run(["make", "-s", "-C", str(fw_dir)], check=True, capture_output=True, text=True)
    return fw_dir / "build" / "firmware.elf"


@contextlib.contextmanager
def qemu_board(elf: Path, machine: str, tcp: bool = False):
    """Run a board firmware in QEMU; yield the PORT that `verify --serial` takes."""
    if tcp:
        with socket.socket() as s:  # a free port for QEMU to listen on
            s.bind(("127.0.0.1", 0))
            tcp_port = s.getsockname()[1]
        serial = f"tcp:127.0.0.1:{tcp_port},server=on,wait=off"
    else:
        serial = "pty"
    proc = subprocess.Popen([toolchain.require("qemu-system-arm"), "-M", machine, "-display", "none",
                             "-monitor", "none", "-serial", serial, "-kernel", str(elf)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if tcp:
            port = f"socket://127.0.0.1:{tcp_port}"
            for _ in range(100):  # until QEMU listens
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", tcp_port), 0.1):
                    break
                time.sleep(0.05)
        else:
            line = proc.stdout.readline()
            found = re.search(r"(/dev/pts/\d+)", line)
            assert found, f"QEMU did not announce its pty: {line!r}"
            port = found.group(1)
        yield port
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def an386(export_dir, tmp_path_factory):
    """One mps2-an386 board for the tests that only talk to it."""
    elf = build(export_dir, "mps2-an386", tmp_path_factory.mktemp("an386") / "fw")
    with qemu_board(elf, "mps2-an386") as port:
        yield port


# --------------------------------------------------------------------------
# Projects


def test_list_boards_shows_every_board_with_core_and_memory():
    result = CliRunner().invoke(main, ["firmware", "--list-boards"])
    assert result.exit_code == 0
    for board in boards.BOARDS.values():
        line = next(line for line in result.output.splitlines() if line.startswith(board.name + " "))
        assert board.core in line and f"{board.flash_bytes // 1024} KB flash" in line


@pytest.mark.parametrize("board", list(boards.BOARDS))
def test_every_board_builds_within_its_memory(export_dir, tmp_path, board):
    elf = build(export_dir, board, tmp_path / "fw")
    spec = boards.get(board)
    used = toolchain.size(elf)
    assert used["flash_bytes"] <= spec.flash_bytes
    assert used["ram_bytes"] + firmware.STACK_BYTES <= spec.ram_bytes
    info = firmware.write_project(export_dir, board, tmp_path / "fw")  # again: replaces the folder
    assert info["flash_estimate"] >= used["flash_bytes"], "CODE_BYTES is too small a bound"
    assert info["ram_estimate"] >= used["ram_bytes"] + firmware.STACK_BYTES
    assert not (tmp_path / "fw" / "build").exists()  # a rewrite starts from a clean project
    nm = subprocess.run([toolchain.require("arm-none-eabi-nm"), "-u", str(elf)], capture_output=True, text=True)
    assert nm.stdout.strip() == "", f"undefined symbols: {nm.stdout}"


STRICT = "-Wall -Wextra -pedantic -Werror -Wconversion -Wshadow -Wstrict-prototypes -Wmissing-prototypes"


@pytest.mark.parametrize("board", ["mps2-an386", "microbit", "bluepill-f103c8", "nucleo-l053r8"])
def test_firmware_sources_are_clean_under_strict_flags_and_cppcheck(export_dir, tmp_path, board):
    """One board per UART driver (CMSDK, nRF, STM32 v1 and v2) and cycle counter."""
    fw = tmp_path / "fw"
    firmware.write_project(export_dir, board, fw)
    cflags = f"$(CPUFLAGS) -O2 -std=c99 -ffreestanding {STRICT} -Isrc -Imodel"
    run = subprocess.run(["make", "-C", str(fw), f"CFLAGS={cflags}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    # startup.c is left out: cppcheck cannot know that the linker's symbols bound one region.
    sources = [str(p) for p in sorted((fw / "src").glob("*.c")) if p.name != "startup.c"]
    check = subprocess.run(["cppcheck", "--enable=warning,style,performance,portability", "--std=c99",
                            "--error-exitcode=1", "--quiet", f"-I{fw / 'src'}", f"-I{fw / 'model'}", *sources],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_project_has_what_a_board_needs(export_dir, tmp_path):
    firmware.write_project(export_dir, "nucleo-f446re", tmp_path / "fw")
    header = (tmp_path / "fw" / "src" / "board.h").read_text()
    assert "0x40004400u" in header and "SBN_CYCLES_DWT" in header and "fm_infer" in header
    readme = (tmp_path / "fw" / "README.md").read_text()
    assert "PA2" in readme and "0x08000000" in readme and "CRC-16/CCITT-FALSE" in readme
    assert sorted(p.name for p in (tmp_path / "fw" / "model").iterdir()) == ["fm.c", "fm.h"]


def test_a_project_builds_anywhere_with_make_and_the_cross_compiler_alone(export_dir, tmp_path, monkeypatch):
    firmware.write_project(export_dir, "nrf52840dk", tmp_path / "fw")
    moved = shutil.move(tmp_path / "fw", tmp_path / "elsewhere")  # no path back to the package
    monkeypatch.setenv("PATH", _tool_dir(tmp_path, {}))
    run = subprocess.run(["make", "-C", str(moved)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert all((Path(moved) / "build" / f"firmware.{ext}").stat().st_size > 0 for ext in ("elf", "hex", "bin"))


def test_a_model_too_big_for_the_board_is_refused_with_the_numbers(tmp_path):
    big = write_export(tmp_path / "big", widths=(784, 1024, 10))
    result = CliRunner().invoke(main, ["firmware", str(big), "--board", "bluepill-f103c8",
                                       "--out", str(tmp_path / "fw")])
    assert result.exit_code == 1
    assert "does not fit bluepill-f103c8" in result.output and "65,536 B" in result.output
    model = ExportFolder.open(big).model
    assert f"{codegen.plan(model).flash_bytes:,} B of weights and thresholds" in result.output
    assert not (tmp_path / "fw").exists()
    # The same model fits a board with more flash.
    firmware.write_project(big, "nucleo-f446re", tmp_path / "fw")


def test_ram_is_checked_too(export_dir):
    model = ExportFolder.open(export_dir).model
    tiny = dataclasses.replace(boards.get("nucleo-l053r8"), ram_bytes=1024)
    with pytest.raises(SbnError, match=r"needs about [\d,]+ B of RAM .* has 1,024 B"):
        firmware.check_fits(tiny, codegen.plan(model), model.input_size)


def test_single_header_exports_build_too(export_dir, tmp_path):
    single = ExportFolder.create(tmp_path / "single", ExportFolder.open(export_dir).model, "fm", True).path
    assert build(single, "mps2-an386", tmp_path / "fw").is_file()


# --------------------------------------------------------------------------
# The serial protocol, end to end in QEMU


@pytest.mark.parametrize("board", [b.name for b in boards.BOARDS.values() if b.qemu_machine])
def test_verify_serial_matches_the_reference_on_every_qemu_board(export_dir, tmp_path, board):
    elf = build(export_dir, board, tmp_path / "fw")
    with qemu_board(elf, boards.get(board).qemu_machine) as port:
        result = verify_serial(export_dir, port, vectors=8)
    assert result["board"] == board
    assert result["n"] == 8 and result["mismatches"] == 0
    assert result["cycles_per_inference"] > 0 and result["inferences_per_second"] > 0


def test_verify_serial_cli_over_a_pty(export_dir, an386):
    result = CliRunner().invoke(main, ["verify", str(export_dir), "--serial", an386, "--vectors", "30"])
    assert result.exit_code == 0, result.output
    assert "30 inputs, 0 mismatches" in result.output and "inferences/s" in result.output


def test_verify_serial_over_tcp(export_dir, tmp_path):
    elf = build(export_dir, "mps2-an386", tmp_path / "fw")
    with qemu_board(elf, "mps2-an386", tcp=True) as port:
        assert verify_serial(export_dir, port, vectors=5)["mismatches"] == 0


def test_the_board_scores_are_the_reference_scores(export_dir, an386):
    model = ExportFolder.open(export_dir).model
    images = np.random.default_rng(7).integers(0, 256, (6, model.input_size), dtype=np.uint8)
    expected = reference.run(model, images)
    with protocol.Link(an386) as link:
        for image, want in zip(images, expected):
            result = link.infer(image.tobytes(), model.num_classes)
            assert result.scores.tolist() == want.tolist()
            assert result.predicted == int(np.argmax(want))


def test_a_board_running_another_model_is_refused(an386, tmp_path):
    other = write_export(tmp_path / "other", seed=1)
    with pytest.raises(SbnError, match="runs another model"):
        verify_serial(other, an386, vectors=1)


@pytest.mark.parametrize("frame, reason", [
    (protocol.encode(protocol.INFER, bytes(784))[:-1] + b"\x00", "bad checksum"),
    (protocol.encode(protocol.INFER, bytes(10)), "wrong length"),
    (protocol.encode(0x33, b"abc"), "unknown frame type"),
    (protocol.encode(protocol.INFER, bytes(784))[:100], "timeout"),
])
def test_bad_frames_get_an_error_frame_and_the_board_goes_on(export_dir, an386, frame, reason):
    model = ExportFolder.open(export_dir).model
    with protocol.Link(an386, timeout_s=15) as link:
        link.send(frame)
        with pytest.raises(protocol.BoardError, match=reason):
            link.receive()
        image = np.arange(784, dtype=np.uint8)  # wraps around: varied bytes
        assert link.infer(image.tobytes(), 10).scores.tolist() == reference.run(model, image[None])[0].tolist()


# --------------------------------------------------------------------------
# The host side alone


def test_crc_is_crc16_ccitt_false():
    assert protocol.crc16(b"123456789") == 0x29B1  # the catalogue's check value


def test_no_answer_times_out_with_a_clear_error(export_dir):
    controller, device = os.openpty()  # a port with nothing behind it
    try:
        result = CliRunner().invoke(main, ["verify", str(export_dir), "--serial", os.ttyname(device),
                                           "--timeout", "0.5"])
    finally:
        os.close(controller)
        os.close(device)
    assert result.exit_code == 1
    assert "no answer from" in result.output and "within 0.5 s" in result.output
    assert "Traceback" not in result.output


def test_a_missing_port_is_a_clear_error(export_dir):
    result = CliRunner().invoke(main, ["verify", str(export_dir), "--serial", "/dev/nonexistent-tty"])
    assert result.exit_code == 1 and "cannot open serial port /dev/nonexistent-tty" in result.output


def test_corrupt_and_unexpected_frames_from_the_board():
    with protocol.Link("loop://", timeout_s=0.5) as link:
        good = protocol.encode(protocol.RESULT, bytes(48))
        link.port.write(good[:-2] + bytes([good[-2] ^ 1, good[-1]]))
        with pytest.raises(SbnError, match="corrupt frame"):
            link.receive()
        # loop:// echoes the request: an INFO frame where an INFO_REPLY belongs.
        with pytest.raises(SbnError, match="unexpected frame type 0x01"):
            link.info()
        link.port.write(b"FAULT HardFault pc=0x00000123\n")
        with pytest.raises(SbnError, match="it printed: FAULT HardFault"):
            link.receive()


# --------------------------------------------------------------------------
# Flashing, with stand-ins for the probe tools


def _tool_dir(tmp_path: Path, scripts: dict[str, str]) -> str:
    """A PATH with make, the cross compiler, and the given fake tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "arm-none-eabi-gcc", "arm-none-eabi-objcopy", "arm-none-eabi-size", "sh", "mkdir"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    for name, body in scripts.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / name).chmod(0o755)
    return str(bin_dir)


@pytest.fixture
def project(export_dir, tmp_path):
    firmware.write_project(export_dir, "nucleo-f446re", tmp_path / "fw")
    return tmp_path / "fw"


def test_flash_without_any_tool_says_how_to_install_one(project, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _tool_dir(tmp_path, {}))
    result = CliRunner().invoke(main, ["flash", str(project)])
    assert result.exit_code == 1
    assert "neither pyOCD nor OpenOCD" in result.output and "pip install pyocd" in result.output
    make = subprocess.run(["make", "-C", str(project), "flash"], capture_output=True, text=True)
    assert make.returncode != 0 and "neither pyocd nor openocd" in make.stderr


def test_flash_without_a_probe_says_so(project, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _tool_dir(tmp_path, {
        "openocd": 'echo "Error: open failed" >&2; exit 1'}))
    result = CliRunner().invoke(main, ["flash", str(project)])
    assert result.exit_code == 1 and "found no debug probe" in result.output


def test_flash_runs_pyocd_on_the_built_firmware(project, tmp_path, monkeypatch):
    log = tmp_path / "pyocd-args"
    monkeypatch.setenv("PATH", _tool_dir(tmp_path, {"pyocd": f'echo "$@" > {log}', "openocd": "exit 1"}))
    result = CliRunner().invoke(main, ["flash", str(project)])
    assert result.exit_code == 0, result.output
    assert log.read_text().split() == ["flash", "--target", "stm32f446retx", "build/firmware.elf"]
    assert (project / "build" / "firmware.elf").is_file()


def test_flash_refuses_a_qemu_machine(export_dir, tmp_path):
    firmware.write_project(export_dir, "mps2-an386", tmp_path / "fw")
    result = CliRunner().invoke(main, ["flash", str(tmp_path / "fw")])
    assert result.exit_code == 1 and "QEMU machine" in result.output and "run" in result.output


def test_verify_serial_carries_int16_inputs(tmp_path):
    """An int16 model: INFER frames carry two little-endian bytes per value, and every score matches."""
    from sbn_mcu import data
    from sbn_mcu.ir.input_spec import InputSpec

    rng = np.random.default_rng(3)
    x = rng.integers(-32768, 32768, (40, 3, 20)).astype(np.int16)
    y = np.arange(40) % 4
    np.savez(tmp_path / "w.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    spec = InputSpec((3, 20), "int16", "cl", class_names=("a", "b", "c", "d"))
    model = randomize(models.build_arch("dense:24", spec.shape, 4), rng)
    frozen = freeze.freeze(model, spec, meta={"data": {"source": data.open(tmp_path / "w.npz").source}})
    export = codegen.ExportFolder.create(tmp_path / "export", frozen, "wave", False).path
    elf = build(export, "mps2-an386", tmp_path / "fw")
    with qemu_board(elf, "mps2-an386") as port:
        result = verify_serial(export, port, vectors=6)
    assert result["n"] == 6 and result["mismatches"] == 0
