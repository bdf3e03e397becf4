"""Model names that would collide with the runtime or the harnesses are refused, with one line.

The names the C uses are read from its files here, independently of
``check_name``: every header (and every quoted include), and every macro,
function and type that the runtime and the firmware define. The names a
model generates are read from the C rendered for a placeholder name.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from support import expect_error
from sbn_mcu import codegen, ops
from sbn_mcu.codegen.names import check_name
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.verify.golden_files import golden_files

ROOT = Path(__file__).resolve().parents[2]
C_FILES = sorted(path for folder in (ROOT / "sbn_mcu" / "runtime", ROOT / "firmware") for path in folder.rglob("*")
                 if {".c", ".h"} & set(path.suffixes))
TEMPLATES = sorted((ROOT / "templates").glob("*.j2"))


def headers() -> set[str]:
    names = {path.name.split(".")[0] for path in C_FILES if ".h" in path.suffixes}
    for path in C_FILES + TEMPLATES:
        names.update(re.findall(r'#include\s+"(\w+)\.h"', path.read_text()))
    return names


def defined() -> set[str]:
    """Macros, functions, types and file-scope variables of the runtime and the firmware."""
    names = set()
    for path in C_FILES:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", path.read_text(), flags=re.S)
        names.update(re.findall(r"^\s*#\s*define\s+(\w+)", text, re.M))
        names.update(re.findall(r"^[A-Za-z_][\w \t*]*?\b(\w+)\s*[(\[=;]", text, re.M))  # at column 0: file scope
        names.update(re.findall(r"\}\s*(\w+)\s*;", text))  # typedef struct {...} name;
    return names - {"const", "void", "static", "return"}


def model_files(name: str) -> dict[str, str]:
    """Every C file a model's export and its golden vectors generate."""
    dense = ops.Dense(weights=np.ones((3, 8), np.int8), thresholds=None)
    model = FrozenModel((8,), [dense])
    files = {**codegen.model_sources(model, name), **codegen.model_sources(model, name, single_header=True),
             **golden_files(name, np.zeros((1, 8), np.uint8), np.zeros((1, 3), np.int32))}
    return {f: text for f, text in files.items() if f.endswith((".c", ".h"))}


def generated_suffixes() -> set[str]:
    """What follows the model's name in the identifiers of its C (``_infer``, ``_H``, ...)."""
    code = re.sub(r"/\*.*?\*/|//[^\n]*|\"[^\"\n]*\"", " ", "\n".join(model_files("zq").values()), flags=re.S)
    return set(re.findall(r"\b(?:zq|ZQ)(\w*)", code))


def test_the_files_give_the_names_the_check_is_about():
    assert {"console", "golden", "board", "ticks", "sbn_conv", "sbn_port", "sbn_bits"} <= headers()
    assert {"sbn_input_q", "sbn_puts", "SBN_CONV_H", "main"} <= defined()
    assert {"_infer", "_H", "_INPUT_SIZE", "_golden_check"} <= generated_suffixes()
    assert {"zq.h", "zq_golden.h"} <= set(model_files("zq"))


@pytest.mark.parametrize("header", sorted(headers()))
def test_every_header_of_the_runtime_and_the_harnesses_is_refused(header):
    for name in {header, header.upper(), header.capitalize()}:
        expect_error("choose another --name", check_name, name)


def test_no_generated_header_can_be_a_header_of_the_harnesses():
    # a model's headers are NAME.h and NAME_SUFFIX.h: a harness header NAME_SUFFIX.h needs NAME refused too
    suffixes = {f[2:-2] for f in model_files("zq") if f.endswith(".h")} - {""}
    assert suffixes
    assert not [h for h in headers() for s in suffixes if h.lower().endswith(s.lower())]


def test_no_generated_name_is_a_name_of_the_runtime_or_the_harnesses():
    suffixes = generated_suffixes()
    assert "" not in suffixes  # the model's name alone names nothing in its C
    clashes = []
    for taken in sorted(defined()):
        for suffix in suffixes:
            name = taken[:len(taken) - len(suffix)]
            if not taken.lower().endswith(suffix.lower()) or not re.fullmatch(r"[A-Za-z_]\w*", name):
                continue
            try:
                check_name(name)
            except SbnError:
                continue
            clashes.append(f"--name {name} would generate {name}{suffix}, which the C defines as {taken}")
    assert not clashes, "\n".join(clashes)
