"""C names: the model prefix every generated symbol and file carries."""

from __future__ import annotations

import keyword
import re

from ..errors import SbnError

C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary""".split())


RESERVED_PREFIX = "sbn"  # the runtime's and the harnesses' identifiers and header guards (sbn_*, SBN_*)
MAX_LENGTH = 64  # a prefix of every symbol: long ones pass C99's 31 significant external characters anyway


def check_name(name: str) -> str:
    """A model name must be a C identifier of at most MAX_LENGTH characters that is not a keyword
    and does not start with the runtime's prefix, so no generated name can collide with the runtime's.

    >>> check_name("fashion_mlp")
    'fashion_mlp'
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in C_KEYWORDS or keyword.iskeyword(name):
        raise SbnError(f"model name {name[:80]!r} is not a valid C identifier (letters, digits, _; not a keyword)")
    if len(name) > MAX_LENGTH:
        raise SbnError(f"model name is {len(name)} characters long; choose a --name of at most {MAX_LENGTH}")
    if name.lower().startswith(RESERVED_PREFIX):
        raise SbnError(f"model name {name!r} starts with {RESERVED_PREFIX!r}, which the C runtime's names and header "
                       "guards use (sbn_conv.h, SBN_INPUT_SIZE, ...); choose another --name")
    return name
