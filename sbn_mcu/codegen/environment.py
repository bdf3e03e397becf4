"""The one Jinja environment of every C template: the model's, the golden
vectors' and the board projects'.

Undefined names are errors (StrictUndefined), and the filters are plain
functions with doctests. Templates live in ``templates/`` and ``firmware/``,
which ship inside the wheel; in a checkout they sit beside the package.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from ..files import resource_dir

def c_words(values, per_line: int = 6) -> str:
    """uint32 words as C hex literals, six to a line.

    >>> c_words([1, 255])
    '    0x00000001u, 0x000000ffu,'
    """
    items = [f"0x{int(v):08x}u" for v in values]
    return "\n".join("    " + ", ".join(items[j:j + per_line]) + "," for j in range(0, len(items), per_line))


def c_int(value) -> str:
    """An integer as a C literal; INT32_MIN spelled so that it is not an overflow. Below it
    (a 64-bit threshold) the literal is long enough already.

    >>> c_int(-5), c_int(-2 ** 31), c_int(-3 * 10 ** 9)
    ('-5', '(-2147483647 - 1)', '-3000000000')
    """
    value = int(value)
    return str(value) if value != -2 ** 31 else "(-2147483647 - 1)"


def c_ints(values, per_line: int = 10) -> str:
    """int32 values as C literals, ten to a line.

    >>> c_ints([3, -2 ** 31])
    '    3, (-2147483647 - 1),'
    """
    items = [c_int(v) for v in values]
    return "\n".join("    " + ", ".join(items[j:j + per_line]) + "," for j in range(0, len(items), per_line))


def c_unsigned(value) -> str:
    """An unsigned C literal.

    >>> c_unsigned(7)
    '7u'
    """
    return f"{int(value)}u"


def c_string(text) -> str:
    """A C string literal: printable ASCII as is, everything else as octal escapes of its UTF-8.

    >>> print(c_string('Ankle "boot" é'))
    "Ankle \\"boot\\" \\303\\251"
    """
    out = []
    for byte in str(text).encode():
        char = chr(byte)
        out.append("\\" + char if char in '"\\?' else char if 32 <= byte < 127 else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_identifiers(names) -> list[str]:
    """Upper-case C identifier parts for ``names``, unique (a clash takes its index).

    >>> c_identifiers(["T-shirt/top", "0", "t shirt top", ""])
    ['T_SHIRT_TOP', '0', 'T_SHIRT_TOP_2', '3']
    """
    parts: list[str] = []
    for i, name in enumerate(names):
        part = "_".join("".join(c if c.isascii() and c.isalnum() else " " for c in str(name)).upper().split())
        part = part or str(i)
        parts.append(f"{part}_{i}" if part in parts else part)
    return parts


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The environment; templates are named by folder: ``templates/model.c.j2``,
    ``firmware/harness/golden.h.j2``, ``firmware/board/Makefile.j2``."""
    loader = jinja2.PrefixLoader({folder: jinja2.FileSystemLoader(str(resource_dir(folder)))
                                  for folder in ("templates", "firmware")}, delimiter="/")
    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters.update(c_words=c_words, c_ints=c_ints, c_int=c_int, c_unsigned=c_unsigned, c_string=c_string,
                       c_identifiers=c_identifiers)
    return env


def render(template: str, **context) -> str:
    """Render one template, named as in :func:`environment`."""
    return environment().get_template(template).render(**context)
