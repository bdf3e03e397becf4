"""The examples a user copies must keep working: each trains, exports and verifies with 0 mismatches."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_example(script: str, *args) -> str:
    run = subprocess.run([sys.executable, str(ROOT / "examples" / script), *map(str, args)],
                         capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout


def verified(stdout: str) -> list[str]:
    """The verification lines (host and each QEMU core), each with 0 mismatches."""
    lines = re.findall(r"^(?:host|qemu:\S+): .*$", stdout, re.M)
    assert lines and all(", 0 mismatches," in line for line in lines), lines
    return lines


def test_custom_cnn_example_trains_exports_and_verifies(tmp_path):
    stdout = run_example("custom_cnn.py", tmp_path)
    assert "0 mismatches" in stdout
    assert (tmp_path / "export" / "custom.c").is_file()
    assert (tmp_path / "run" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digits_from_an_npz(tmp_path):
    lines = verified(run_example("digits.py", tmp_path))
    assert [line.split(":")[0] for line in lines] == ["host", "qemu", "qemu"]
    header = (tmp_path / "export" / "digits.h").read_text()
    assert "typedef uint8_t digits_input_t;" in header and "per channel" in header


def test_rgb_image_folder(tmp_path):
    lines = verified(run_example("rgb_images.py", tmp_path))
    assert len(lines) == 3
    header = (tmp_path / "export" / "shapes.h").read_text()
    assert "H, W, C (interleaved) 16x16x3" in header and "SHAPES_CLASS_RED_SQUARE = 2" in header


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_int8_sensor_windows(tmp_path, arch):
    stdout = run_example("sensor_int8.py", tmp_path, arch)
    assert len(verified(stdout)) == 3
    header = (tmp_path / "export" / "imu.h").read_text()
    assert "typedef int8_t imu_input_t;" in header and "C, L 3x64" in header
    assert re.search(r"cortex-m0 .*\d", stdout) and re.search(r"cortex-m4 .*\d", stdout)
