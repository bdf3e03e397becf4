"""C names: the model prefix every generated symbol and file carries."""

from __future__ import annotations

import keyword
import re

from ..errors import SbnError

C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary""".split())


def check_name(name: str) -> str:
    """A model name must be a C identifier that is not a keyword.

    >>> check_name("fashion_mlp")
    'fashion_mlp'
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in C_KEYWORDS or keyword.iskeyword(name):
        raise SbnError(f"model name {name!r} is not a valid C identifier (letters, digits, _; not a keyword)")
    return name
