"""pytest's hooks for the whole suite: each test module's marker.

Helpers that tests import live in ``support.py``, random draws in
``strategies.py``; pyproject.toml puts ``tests/`` on the path, so a test in
any folder imports them by name.
"""

import pytest


# Each test module's layer, for `pytest -m LAYER` (pyproject.toml lists the markers):
# unit needs only Python and the host gcc; cross needs the Arm cross compiler or QEMU;
# train runs training; chain runs whole train -> export -> verify jobs.
LAYERS = {
    "cross": ("test_bench", "test_c_quality", "test_firmware", "test_golden", "test_kernels_qemu", "test_runtime",
              "test_summary", "test_toolchain", "test_without_torch"),
    "train": ("test_train", "test_distributed", "test_cli", "test_robustness", "test_packaging"),
    "chain": ("test_chain", "test_examples", "test_own_data", "test_report"),
}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.path.stem
        layer = next((name for name, modules in LAYERS.items() if module in modules), "unit")
        if not any(item.get_closest_marker(name) for name in ("unit", *LAYERS)):  # a test may mark its own
            item.add_marker(getattr(pytest.mark, layer))
