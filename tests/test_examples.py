"""The examples a user copies must keep working."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_custom_cnn_example_trains_exports_and_verifies(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "custom_cnn.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "0 mismatches" in run.stdout
    assert (tmp_path / "export" / "custom.c").is_file()
    assert (tmp_path / "run" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
