"""The C runtime: real ``.c``/``.h`` files, one kernel per file.

``sbn_port.h`` chooses the instruction-set path once; every kernel includes
what it needs and compiles on its own. A generated ``NAME.c`` stays one
dependency-free file: :func:`paste` inlines the kernels it calls, each
included file once, in include order. A kernel that needs scratch memory
defines its size as a macro beside it (the CMSIS-NN pattern); the planner
evaluates that same macro with :func:`macro`, so the size is written once.
"""

from __future__ import annotations

import ast
import operator
import re
from functools import lru_cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
PUBLIC_HEADER = "sbn_kernels.h"  # the library's prototypes: never pasted, a model's kernels are static
_LOCAL_INCLUDE = re.compile(r'^#include "(sbn_[a-z0-9_]+\.[ch])"\n', re.M)
_SYSTEM_INCLUDE = re.compile(r"^#include <[a-z]+\.h>\n", re.M)


def files() -> list[str]:
    """Every runtime file, by name."""
    return sorted(p.name for p in FOLDER.iterdir() if p.suffix in (".c", ".h"))


@lru_cache(maxsize=None)
def text(name: str) -> str:
    return (FOLDER / name).read_text()


def paste(names) -> str:
    """The runtime files ``names`` with everything they include, once each and
    dependencies first, as one text without ``#include`` lines."""
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for dependency in _LOCAL_INCLUDE.findall(text(name)):
            if dependency != PUBLIC_HEADER:
                visit(dependency)
        done.append(name)

    for name in names:
        visit(name)
    pasted = "\n".join(_SYSTEM_INCLUDE.sub("", _LOCAL_INCLUDE.sub("", text(n))) for n in done)
    return re.sub(r"\n{3,}", "\n\n", pasted)


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.floordiv}


def macro(file: str, name: str, *args: int) -> int:
    """Evaluate the function-like macro ``name`` of a runtime file on unsigned ints.

    >>> macro("sbn_conv_bits.c", "SBN_CONV_BITS_SCRATCH_WORDS", 32, 3, 3, 4)
    76
    """
    m = re.search(rf"#define {name}\(([^)]*)\)\s*\\?\n?(.*?)(?<!\\)\n", text(file), re.S)
    if m is None:
        raise KeyError(f"{file} defines no macro {name}")
    params = [p.strip() for p in m.group(1).split(",")]
    body = re.sub(r"(\d+)u\b", r"\1", m.group(2).replace("\\\n", " "))
    values = dict(zip(params, args, strict=True))

    def evaluate(node):
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        raise ValueError(f"{name} in {file} is not plain unsigned arithmetic")

    return evaluate(ast.parse(body.strip(), mode="eval").body)
