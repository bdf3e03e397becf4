"""The C runtime: real ``.c``/``.h`` files, one kernel per file.

``sbn_port.h`` chooses the instruction-set path once; every kernel includes
what it needs and compiles on its own. A generated ``NAME.c`` stays one
dependency-free file: :func:`paste` inlines the kernels it calls, each
included file once, in include order; every file keeps its include guard, so
two models pasted into one translation unit share one copy. A model whose
dense sums can pass 32 bits takes the 64-bit copies of the files that depend
on the accumulator width (:func:`widen`), under names of their own, so its
width is its own and not the translation unit's. ``--runtime shared`` writes
the whole runtime once instead, as a library (:func:`library`). A kernel that
needs scratch memory defines its size as a macro beside it (the CMSIS-NN
pattern); the planner evaluates that same macro with :func:`macro`, so the
size is written once.
"""

from __future__ import annotations

import ast
import operator
import re
from functools import lru_cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
PUBLIC_HEADER = "sbn_kernels.h"  # the library's prototypes: never pasted, a model's kernels are static
PORT = "sbn_port.h"  # defines the accumulator types
MODES = ("pasted", "shared")  # --runtime: the kernels inside NAME.c, or once in LIBRARY.c beside it
LIBRARY = "sbn_runtime"  # --runtime shared: LIBRARY.c and LIBRARY.h beside the model
WIDE_TYPES = {"sbn_acc_t": "int64_t", "sbn_sum_t": "uint64_t"}  # the accumulators of widened code
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")
_CODE_WORD = re.compile(r"/\*.*?\*/|\b[A-Za-z_]\w*\b", re.S)  # a comment, kept whole, or an identifier
_GUARD = re.compile(r"^#ifndef (\w+)\n#define \1\n", re.M)
_MACRO = re.compile(r"^#define (\w+)(.*?)(?<!\\)\n", re.M | re.S)
_DEFINITION = re.compile(r"^(?:[A-Za-z_]\w*[ \t*]+)+(sbn_[a-z0-9_]+)\s*[(\[]", re.M)  # a function or table
_TYPE = re.compile(r"^(?:typedef [^;{]*|\} )\b(sbn_[a-z0-9_]+)\s*;", re.M)
_PROTOTYPE = re.compile(r"^void (sbn_\w+)\(.*?\);\n", re.M | re.S)
_SCRATCH_MACRO = re.compile(r"^#define SBN_\w+_SCRATCH_WORDS\(.*?(?<!\\)\n", re.M | re.S)
_LOCAL_INCLUDE = re.compile(r'^#include "(sbn_[a-z0-9_]+\.[ch])"\n', re.M)
_SYSTEM_INCLUDE = re.compile(r"^#include <[a-z]+\.h>\n", re.M)


def files() -> list[str]:
    """Every runtime file, by name."""
    return sorted(p.name for p in FOLDER.iterdir() if p.suffix in (".c", ".h"))


@lru_cache(maxsize=None)
def text(name: str) -> str:
    return (FOLDER / name).read_text()


def closure(names) -> list[str]:
    """The runtime files ``names`` with everything they include, once each and dependencies first."""
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
    return done


def _joined(texts) -> str:
    """Runtime texts as one, without their ``#include`` lines."""
    pasted = "\n".join(_SYSTEM_INCLUDE.sub("", _LOCAL_INCLUDE.sub("", t)) for t in texts)
    return re.sub(r"\n{3,}", "\n\n", pasted)


def paste(names, wide: bool = False) -> str:
    """The runtime files ``names`` with everything they include, once each and
    dependencies first, as one text without ``#include`` lines; with ``wide``,
    the files of :func:`width_files` come as their 64-bit copies."""
    return _joined(widen(text(n)) if wide and n in width_files() else text(n) for n in closure(names))


@lru_cache(maxsize=None)
def width_files() -> frozenset[str]:
    """The files whose code depends on the accumulator width: they name ``sbn_acc_t`` or
    ``sbn_sum_t`` or include such a file (the port, which defines them, and the public header aside)."""
    found: set[str] = set()
    for name in closure(files()):  # dependencies first: one pass sees every include's verdict
        code = _COMMENT.sub("", text(name))
        if name not in (PORT, PUBLIC_HEADER) and (set(_IDENTIFIER.findall(code)) & set(WIDE_TYPES)
                                                  or set(_LOCAL_INCLUDE.findall(code)) & found):
            found.add(name)
    return frozenset(found)


@lru_cache(maxsize=None)
def _wide_names() -> dict[str, str]:
    """What :func:`widen` renames: the accumulator types, and the guards, functions and tables of
    :func:`width_files`, and their macros whose meaning the renaming changes (the others are
    identical redefinitions, which C allows)."""
    names = dict(WIDE_TYPES)
    macros: dict[str, str] = {}
    for name in width_files():
        code = _COMMENT.sub("", text(name))
        names.update({guard: guard + "_WIDE" for guard in _GUARD.findall(code)})
        names.update({function: function + "_wide" for function in _DEFINITION.findall(code) + _TYPE.findall(code)})
        macros.update(_MACRO.findall(code))
    changed = True
    while changed:
        changed = False
        for macro, body in macros.items():
            if macro not in names and _rename(body, names) != body:
                names[macro], changed = macro + "_WIDE", True
    return names


def _rename(code: str, names: dict[str, str]) -> str:
    """``code`` with ``names`` renamed outside its comments."""
    return _CODE_WORD.sub(lambda m: names.get(m.group(0), m.group(0)), code)


def widen(code: str) -> str:
    """``code`` (a runtime file, a kernel's name, a C type) as the 64-bit copy names it.

    >>> widen("sbn_dense_q"), widen("sbn_acc_t"), widen("sbn_conv_u8")
    ('sbn_dense_q_wide', 'int64_t', 'sbn_conv_u8')
    """
    return _rename(code, _wide_names())


def library() -> dict[str, str]:
    """``--runtime shared``: the whole runtime as ``{"h": ..., "c": ...}``, the bodies of
    ``LIBRARY.h`` (every kernel's prototype and scratch macro, the 64-bit copies' prototypes) and
    ``LIBRARY.c`` (every kernel, public, and the 64-bit copies). The same for every model, so that
    models exported apart link against one copy."""
    declared = list(_PROTOTYPE.finditer(text(PUBLIC_HEADER)))
    kernels = [m.group(1) + ".c" for m in declared]  # one kernel per file, named after it
    header = closure([PUBLIC_HEADER])
    prototypes = "".join(widen(m.group(0)) for m in declared if widen(m.group(1)) != m.group(1))
    scratch = "".join(m.group(0) for n in kernels for m in _SCRATCH_MACRO.finditer(text(n)))
    h = _joined([*(text(n) for n in header), scratch, prototypes])
    c = _joined([*(text(n) for n in closure(kernels) if n not in header),
                 *(widen(text(n)) for n in closure(kernels) if n in width_files())])
    return {"h": h, "c": c}


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
