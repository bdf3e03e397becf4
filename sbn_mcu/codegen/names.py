"""C names: the model prefix every generated symbol and file carries."""

from __future__ import annotations

import keyword
import re
from functools import lru_cache

from .. import runtime
from ..errors import SbnError
from ..files import resource_dir

C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary""".split())


RESERVED_PREFIX = "sbn"  # the runtime's and the harnesses' identifiers and header guards (sbn_*, SBN_*)
MAX_LENGTH = 64  # a prefix of every symbol: long ones pass C99's 31 significant external characters anyway


@lru_cache(maxsize=None)
def harness_headers() -> frozenset[str]:
    """The headers that the runtime, the firmware and the harnesses have or include, by stem,
    lowercased (``console``, ``golden``, ``board``, ...): a model's ``NAME.h`` of such a stem,
    on the same include path, would be read in their place."""
    c_files = [path for folder in (runtime.FOLDER, resource_dir("firmware")) for path in folder.rglob("*")
               if {".c", ".h"} & set(path.suffixes)]
    stems = {path.name.split(".")[0] for path in c_files if ".h" in path.suffixes}
    for path in [*c_files, *resource_dir("templates").glob("*.j2")]:  # the model's templates' own names are free
        stems.update(re.findall(r'#include "(\w+)\.h"', path.read_text()))
    return frozenset(stem.lower() for stem in stems)


def check_name(name: str) -> str:
    """A model name must be a C identifier of at most MAX_LENGTH characters that is not a keyword,
    does not start with the runtime's prefix and is not the stem of a header of the firmware, so no
    generated name or file can collide with the runtime's or the harnesses'.

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
    if name.lower() in harness_headers():
        raise SbnError(f"model name {name!r} is taken: the firmware includes a header {name.lower()}.h, which "
                       "the model's header would replace; choose another --name")
    return name
