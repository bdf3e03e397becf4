"""The lowering's types: where an op sits in the model (:class:`Site`), and the kernel call it
lowers to (:class:`Step`), which the plan (:mod:`sbn_mcu.codegen.plan`) lays out and renders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Shape = tuple[int, ...]


@dataclass
class Site:
    """Where an op sits in the model, as the plan lowers it."""

    index: int  # the kernel call's index (steps so far)
    in_shape: Shape
    out_shape: Shape  # after any fused op
    source_shape: Shape  # the producer's shape before any flatten (its C layout)
    reads_input: bool  # the op reads the model's input: raw bytes, or the integers q of sbn_input_q
    largest_input: int  # the largest |value| the op reads: the input spec's where it reads the input, else 1
    raw_bytes: bool = False  # the op reads the input's raw uint8 bytes (q = 2r - 255) itself
    fused: "Op | None" = None  # the op after this one that the kernel computes too
    kernel: str = ""  # the planner's choice among the op's kernels (:meth:`Op.kernels`); "" the smallest


@dataclass
class Step:
    """One kernel call of the generated C, as an op lowers it.

    A kernel has one name: ``kernel``, whose C function is ``sbn_<kernel>``
    in the runtime file ``sbn_<kernel>.c``. ``args`` are the call's
    arguments: ints, or the names ``in``, ``out``, ``weights``,
    ``thresholds``, ``geometry``, ``scratch`` and ``scores``, which the
    template binds to this step's arrays.
    """

    index: int
    kernel: str
    args: list
    title: str
    weights: np.ndarray  # packed uint32 words
    thresholds: np.ndarray | None
    threshold_type: str  # the C type of the thresholds
    out_shape: Shape
    macs: int
    reads_input: bool  # the layer reads the model's input (its MACs are integer ones)
    weight_bits: int
    bound: int  # the largest |acc| the layer can produce
    geometry: tuple[str, dict] | None = None  # a struct of constants: C type and fields in order
    scratch: tuple[int, ...] | None = None  # the arguments of the kernel file's macro SBN_<KERNEL>_SCRATCH_WORDS
    word_loop: str | None = None  # the kernel's loop over weight words (marked in the runtime)
    choice: str = ""  # the site's kernel choice that gave this step ("" the smallest)
    scratch_words: int = 0  # the scratch macro's value; set by the plan
    out_words: int = 0  # words of packed output (0 for scores); set by the plan
    src: int = 0  # ping-pong buffers; set by the plan
    dst: int = 0

    @property
    def function(self) -> str:
        return f"sbn_{self.kernel}"

    @property
    def source(self) -> str:
        """The runtime file that defines the kernel."""
        return f"sbn_{self.kernel}.c"

    @property
    def scratch_macro(self) -> str:
        """The kernel file's macro of the words of scratch it needs."""
        return f"SBN_{self.kernel.upper()}_SCRATCH_WORDS"

    @property
    def scratch_size(self) -> str:
        """The scratch macro as a C expression, for sizing the scratch buffer."""
        return "0" if self.scratch is None else f"{self.scratch_macro}({', '.join(f'{a}u' for a in self.scratch)})"
