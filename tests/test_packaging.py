"""A non-editable install carries its templates and firmware: export and
verify work from the wheel alone, far from the checkout."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_install_exports_and_verifies(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(wheel_dir.glob("sbn_mcu-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SBN_MCU_FIRMWARE", None)

    def sbn(*args):
        run = subprocess.run([sys.executable, "-m", "sbn_mcu", *map(str, args)], cwd=work, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        return run.stdout

    where = subprocess.run([sys.executable, "-c", "import sbn_mcu; print(sbn_mcu.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))  # the installed copy, not the checkout
    sbn("train", "--limit", 300, "--epochs", 1, "--out", "run")
    sbn("export", "run/model.pt", "--out", "export", "--name", "fm")
    assert (work / "export" / "fm.c").is_file()
    assert "0 mismatches" in sbn("verify", "export", "--host", "--limit", 200)
    assert "0 mismatches" in sbn("verify", "export", "--qemu", "cortex-m4", "--vectors", 2)
    sbn("firmware", "export", "--board", "nucleo-l053r8", "--out", "fw")
    assert subprocess.run(["make", "-s", "-C", str(work / "fw")], capture_output=True).returncode == 0
