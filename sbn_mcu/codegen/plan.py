"""The plan: a :class:`FrozenModel` lowered to kernel calls, buffers and scratch.

Each op lowers itself (:meth:`sbn_mcu.ops.Op.lower`) into a
:class:`~sbn_mcu.ops.lowering.Step`: packed constants, MACs, scratch and the C
call. The plan assigns the ping-pong buffers and lists the runtime files;
the templates only print it, and the summary reads the same plan, so its
bytes are the bytes in the C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.input_spec import InputSpec
from .. import runtime
from .. import runtime
from ..ir.model import FrozenModel
from ..ops.base import binary_layout
from ..ops.lowering import Site, Step
from ..ops.packing import words_for


TYPE_CODES = {"uint8": 0, "int8": 1, "int16": 2}  # SBN_INPUT_U8, _I8, _I16 of sbn_input_q.c
# Constant tables a kernel brings along, in bytes of flash: the largest, that of the cores with the
# DSP extension (sbn_dense_u8's byte-indexed masks, sbn_mask8.h; 64 bytes of nibble masks elsewhere).
KERNEL_TABLE_BYTES = {"dense_u8": 2048, "conv_bits_lut": 65536}


@dataclass
class InputStage:
    """``sbn_input_q``: the raw input to the integers ``q`` of the input spec, in the model's
    order, when the first kernel does not sum raw bytes itself."""

    geometry: dict  # the sbn_input struct's fields, in order
    multipliers: np.ndarray  # int32 a[c]
    offsets: np.ndarray  # int32 b[c]
    words: int  # int32 values of q: the input size

    @classmethod
    def of(cls, spec: InputSpec) -> "InputStage | None":
        if spec.is_plain_bytes:
            return None
        geometry = {"type": TYPE_CODES[spec.dtype], "channels": spec.channels, "positions": spec.positions,
                    "channels_last": int(spec.layout == "hwc")}
        return cls(geometry, spec.a.astype(np.int32), spec.b.astype(np.int32), spec.size)

    @property
    def flash_bytes(self) -> int:
        return 4 * (self.multipliers.size + self.offsets.size)


@dataclass
class Plan:
    steps: list[Step]
    buffers: list[int]  # words per ping-pong buffer
    scratch_words: int
    scratch_size: str  # the C expression of the largest scratch: its kernel's macro
    input_shape: tuple
    num_classes: int
    runtime: list[str]  # runtime files the calls need, in call order
    input_stage: InputStage | None = None
    options: dict[int, tuple[str, ...]] | None = None  # step index: the faster kernels it could take

    @property
    def wide(self) -> bool:
        """Whether a dense layer's sums can pass 32 bits (they then use 64)."""
        return any(s.bound >= 2 ** 31 for s in self.steps if s.threshold_type == "sbn_acc_t")

    def threshold_bytes(self, step: Step) -> int:
        if step.threshold_type == "int16_t":
            return 2
        return 8 if self.wide and step.threshold_type == "sbn_acc_t" else 4

    def step_flash_bytes(self, step: Step) -> int:
        """Packed weights and thresholds of one step: what the summary calls flash."""
        thresholds = 0 if step.thresholds is None else step.thresholds.size
        return 4 * step.weights.size + self.threshold_bytes(step) * thresholds + self.table_bytes(step)

    def table_bytes(self, step: Step) -> int:
        """The kernel's constant tables, counted once, with the first step that calls it."""
        first = next(s for s in self.steps if s.kernel == step.kernel)
        return KERNEL_TABLE_BYTES.get(step.kernel, 0) if first is step else 0

    @property
    def flash_bytes(self) -> int:
        stage = self.input_stage.flash_bytes if self.input_stage else 0
        return stage + sum(self.step_flash_bytes(s) for s in self.steps)

    @property
    def ram_bytes(self) -> int:
        stage = self.input_stage.words if self.input_stage else 0
        return 4 * (sum(self.buffers) + self.scratch_words + stage)


def plan(model: FrozenModel, kernels: dict | None = None) -> Plan:
    """The model's plan, with the kernels the export chose (``model.meta["kernels"]``: step index
    to kernel choice, see :mod:`sbn_mcu.codegen.planner`), or ``kernels`` instead."""
    choices = model.meta.get("kernels", {}) if kernels is None else kernels
    shapes = model.shapes()
    layers = model.layers
    stage = InputStage.of(model.spec)
    steps: list[Step] = []
    options: dict[int, tuple[str, ...]] = {}
    source = 0  # the index of the shape the next layer's C input is laid out as
    i = 0
    while i < len(layers):
        layer = layers[i]
        fused = layers[i + 1] if i + 1 < len(layers) and layer.fuses(layers[i + 1]) else None
        out_shape = shapes[i + 2] if fused else shapes[i + 1]
        reads_input = not steps
        site = Site(index=len(steps), in_shape=shapes[i], out_shape=out_shape, source_shape=shapes[source],
                    reads_input=reads_input, largest_input=model.spec.largest if reads_input else 1,
                    raw_bytes=reads_input and stage is None, fused=fused, kernel=choices.get(str(len(steps)), ""))
        step = layer.lower(site)
        if layer.kernels(site):
            options[site.index] = layer.kernels(site)
        i += 2 if fused else 1
        if step is None:  # free in C (flatten): the next op reads the producer's layout
            continue
        if step.scratch:  # the kernel file's macro, evaluated as the C will
            step.scratch_words = runtime.macro(step.source, step.scratch_macro, *step.scratch)
        if step.scratch:  # the kernel file's macro, evaluated as the C will
            step.scratch_words = runtime.macro(step.source, step.scratch_macro, *step.scratch)
        if step.thresholds is not None:
            positions, channels = binary_layout(out_shape)
            step.out_words = positions * words_for(channels)
        steps.append(step)
        source = i

    buffers = [0, 0]
    for step in steps:
        step.src, step.dst = (step.index + 1) % 2, step.index % 2
        buffers[step.dst] = max(buffers[step.dst], step.out_words)
    largest = max(steps, key=lambda s: s.scratch_words)  # one layer runs at a time
    files = list(dict.fromkeys([*(["sbn_input_q.c"] if stage else []), *(s.source for s in steps)]))
    return Plan(steps, [b for b in buffers if b], largest.scratch_words, largest.scratch_size,
                tuple(model.input_shape), model.num_classes, files, stage, options)
