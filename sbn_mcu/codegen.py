"""C code generation: a :class:`FrozenModel` becomes ``NAME.h`` and ``NAME.c``.

:func:`plan` lowers the model to kernel calls with packed constants and
buffer assignments; the Jinja templates in ``templates/`` only print it. The
summary reads the same plan, so its bytes are the bytes in the C.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from . import __version__, frozen
from .errors import SbnError
from .packing import pack, words_for
from .resources import resource_dir

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


@dataclass
class Step:
    """One kernel call: a binary layer, with any max pooling fused into it."""

    index: int
    kernel: str  # template file in templates/kernels
    title: str
    weights: np.ndarray  # uint32 words
    thresholds: np.ndarray | None
    outputs: int  # output channels
    n: int = 0  # dense: number of inputs
    words: int = 0  # dense_bits: words per weight row
    conv: dict | None = None
    out_shape: tuple = ()
    out_words: int = 0  # words of packed output (0 for scores)
    src: int = 0
    dst: int = 0
    macs: int = 0
    scratch: int = 0  # words of per-position scratch a convolution needs
    integer_input: bool = False
    weight_bits: int = 0
    bound: int = 0  # the largest |acc| the layer can produce


@dataclass
class Plan:
    steps: list[Step]
    buffers: list[int]  # words per ping-pong buffer
    scratch_words: int
    input_shape: tuple
    num_classes: int
    kernels: list[str] = field(default_factory=list)

    @property
    def wide(self) -> bool:
        """Whether a dense layer's sums can pass 32 bits (they then use 64)."""
        return any(s.bound >= 2 ** 31 for s in self.steps if not s.conv)

    def threshold_bytes(self, step: Step) -> int:
        return 8 if self.wide and not step.conv else 4

    def step_flash_bytes(self, step: Step) -> int:
        """Packed weights and thresholds of one step: what the summary calls flash."""
        thresholds = 0 if step.thresholds is None else step.thresholds.size
        return 4 * step.weights.size + self.threshold_bytes(step) * thresholds

    @property
    def flash_bytes(self) -> int:
        return sum(self.step_flash_bytes(s) for s in self.steps)

    @property
    def ram_bytes(self) -> int:
        return 4 * (sum(self.buffers) + self.scratch_words)


def _binary_layout(shape: tuple) -> tuple[int, int]:
    """(positions, channels) of a binary tensor in C: pixels × channels, or 1 × n."""
    return (shape[1] * shape[2], shape[0]) if len(shape) == 3 else (1, shape[0])


def plan(model: frozen.FrozenModel) -> Plan:
    shapes = model.shapes()
    steps: list[Step] = []
    layers = model.layers
    i = 0
    while i < len(layers):
        layer, in_shape = layers[i], shapes[i]
        first = not steps
        if isinstance(layer, (frozen.Flatten, frozen.MaxPool2d)):
            i += 1  # flatten is free in the pixel-major layout; pools are fused below
            continue
        pool = layers[i + 1] if i + 1 < len(layers) and isinstance(layers[i + 1], frozen.MaxPool2d) else None
        out_shape = shapes[i + 2] if pool else shapes[i + 1]
        w = layer.weights
        if isinstance(layer, frozen.Dense):
            if first:
                packed = pack(w[:, None, :])
                kernel, extra = "dense_u8.c", {"n": w.shape[1]}
            else:
                j = i
                while j > 0 and isinstance(layers[j - 1], frozen.Flatten):
                    j -= 1  # the producer's layout, before any flatten
                positions, channels = _binary_layout(shapes[j])
                # torch flattens C, H, W; the C stores pixel by pixel
                ordered = w.reshape(w.shape[0], channels, positions).transpose(0, 2, 1)
                packed = pack(ordered)
                kernel = "dense_bits.c"
                extra = {"n": w.shape[1], "words": positions * words_for(channels)}
            title = f"dense {w.shape[1]} -> {w.shape[0]}"
            macs = w.size
        else:
            c, h, wd = in_shape
            k = layer.kernel_size
            conv_h, conv_w = shapes[i + 1][1:]
            geometry = {"in_c": c, "in_h": h, "in_w": wd, "out_c": w.shape[0], "k": k,
                        "stride": layer.stride, "pad": layer.padding,
                        "pool": pool.kernel_size if pool else 1, "pool_stride": pool.stride if pool else 1,
                        "out_h": out_shape[1], "out_w": out_shape[2]}
            window = pool.kernel_size ** 2 if pool else 1
            if first:
                packed = _byte_masks(w)
                kernel = "conv_u8.c"  # per window position: pixels, valid lanes, count
                scratch = window * (2 * packed.shape[1] + 1)
            else:
                packed = pack(w.reshape(w.shape[0], c, k * k).transpose(0, 2, 1))
                kernel = "conv_bits.c"  # per window position: input row, outside taps, count
                scratch = window * (packed.shape[1] + k * k + 1)
            extra = {"conv": geometry, "scratch": scratch}
            title = (f"conv {k}x{k}/{layer.stride} pad {layer.padding}, {c} -> {w.shape[0]} channels"
                     + (f", max pool {pool.kernel_size}/{pool.stride}" if pool else ""))
            macs = conv_h * conv_w * w[0].size * w.shape[0]
        thresholds = None if layer.thresholds is None else layer.thresholds.astype(np.int64)
        out_words = 0
        if thresholds is not None:
            positions, channels = _binary_layout(out_shape)
            out_words = positions * words_for(channels)
        steps.append(Step(index=len(steps), kernel=kernel, title=title, weights=packed.reshape(-1),
                          thresholds=thresholds, outputs=w.shape[0], out_shape=out_shape,
                          out_words=out_words, macs=macs, integer_input=first,
                          weight_bits=w.size, bound=frozen.accumulator_bound(layer, first), **extra))
        i += 2 if pool else 1

    buffers = [0, 0]
    for step in steps:
        step.src, step.dst = (step.index + 1) % 2, step.index % 2
        buffers[step.dst] = max(buffers[step.dst], step.out_words)
    scratch_words = max((s.scratch for s in steps), default=0)  # one layer runs at a time
    # kernel files in dependency order; the score layer needs only the sums
    used = {s.kernel for s in steps if s.thresholds is not None}
    needed = {"conv.h": any(s.conv for s in steps),
              "xor_bytesum.c": any(s.kernel == "dense_u8.c" for s in steps)}
    kernels = [k for k in ("conv.h", "xor_bytesum.c", "dense_u8.c", "dense_bits.c", "conv_u8.c", "conv_bits.c")
               if needed.get(k) or k in used]
    return Plan(steps, [b for b in buffers if b], scratch_words, tuple(model.input_shape),
                model.num_classes, kernels)


def _byte_masks(weights: np.ndarray) -> np.ndarray:
    """First-convolution weights as byte masks (255 for +1, 0 for -1).

    Per output channel: for each input channel and kernel row, ``(k + 3) // 4``
    little-endian words with one byte lane per kernel column; lanes past the
    kernel width are 0.

    >>> _byte_masks(np.array([[[[1, -1], [-1, 1]]]])).tolist()
    [[255, 65280]]
    """
    out_c, in_c, k, _ = weights.shape
    lanes = np.zeros((out_c, in_c, k, 4 * ((k + 3) // 4)), dtype=np.uint32)
    lanes[..., :k] = np.where(weights > 0, 255, 0)
    lanes = lanes.reshape(out_c, -1, 4)
    return (lanes[..., 0] | lanes[..., 1] << 8 | lanes[..., 2] << 16 | lanes[..., 3] << 24).astype(np.uint32)


def _c_words(values, per_line: int = 6) -> str:
    """uint32 words as C hex literals, six to a line.

    >>> _c_words([1, 255])
    '    0x00000001u, 0x000000ffu,'
    """
    items = [f"0x{int(v):08x}u" for v in values]
    return "\n".join("    " + ", ".join(items[j:j + per_line]) + "," for j in range(0, len(items), per_line))


def _c_ints(values, per_line: int = 10) -> str:
    """int32 values as C literals; INT32_MIN spelled so that it is not an overflow."""
    items = [f"{int(v)}" if int(v) > -2 ** 31 else "(-2147483647 - 1)" for v in values]
    return "\n".join("    " + ", ".join(items[j:j + per_line]) + "," for j in range(0, len(items), per_line))


def environment(folder: Path | None = None) -> jinja2.Environment:
    """The Jinja environment of the C templates (``templates/``, or ``folder``)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder or resource_dir("templates"))),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["c_words"] = _c_words
    env.filters["c_ints"] = _c_ints
    return env


def render(model: frozen.FrozenModel, name: str, single_header: bool = False,
           the_plan: Plan | None = None) -> dict[str, str]:
    """``{"NAME.h": ..., "NAME.c": ...}``; deterministic for a given model.

    With ``single_header`` the implementation goes into ``NAME.h`` behind
    ``NAME_IMPLEMENTATION`` and there is no ``NAME.c``. ``the_plan`` saves
    planning again when the caller has it.
    """
    check_name(name)
    the_plan = the_plan or plan(model)
    shape = the_plan.input_shape
    layout = ("C, H, W order: " + "x".join(map(str, shape))) if len(shape) == 3 else "a flat vector"
    context = {
        "name": name, "NAME": name.upper(), "version": __version__,
        "description": " -> ".join(s.title for s in the_plan.steps),
        "summary_line": (f"Constants: {the_plan.flash_bytes} bytes of flash. "
                         f"Activations: {the_plan.ram_bytes} bytes of RAM."),
        "input_size": math.prod(shape), "input_layout": layout, "num_classes": the_plan.num_classes,
        "ram_bytes": the_plan.ram_bytes, "steps": the_plan.steps, "buffers": the_plan.buffers,
        "scratch_words": the_plan.scratch_words, "wide": the_plan.wide, "kernels": the_plan.kernels,
        "single_header": single_header,
    }
    env = environment()
    if single_header:
        return {f"{name}.h": env.get_template("single.h.j2").render(context)}
    return {f"{name}.h": env.get_template("model.h.j2").render(context),
            f"{name}.c": env.get_template("model.c.j2").render(context)}


def build_fragments(name: str, single_header: bool = False) -> dict[str, str]:
    """``NAME.cmake`` and ``NAME.mk``: drop the export folder into a CMake or make project."""
    env = environment()
    context = {"name": name, "NAME": name.upper(), "single_header": single_header}
    return {f"{name}.cmake": env.get_template("model.cmake.j2").render(context),
            f"{name}.mk": env.get_template("model.mk.j2").render(context)}


def model_sources(out_dir: Path, name: str, scratch_dir: Path) -> list[Path]:
    """The C files that build an export: ``NAME.c``, or for a single header a
    one-line file in ``scratch_dir`` that defines ``NAME_IMPLEMENTATION``."""
    source = Path(out_dir) / f"{name}.c"
    if source.is_file():
        return [source]
    stub = Path(scratch_dir) / f"{name}_impl.c"
    stub.write_text(implementation_stub(name))
    return [stub]


def implementation_stub(name: str) -> str:
    """The one C file that compiles a single-header export's implementation."""
    return f'#define {name.upper()}_IMPLEMENTATION\n#include "{name}.h"\n'
