"""Per-layer cost of an exported model, read off the code-generation plan."""

from __future__ import annotations

from .plan import Plan
from .planner import ESTIMATE_CORE, instructions


def summarise(plan: Plan, core: str = ESTIMATE_CORE) -> dict:
    """Bits, flash, RAM and MACs per kernel call, and in total; each call's kernel and its
    instructions on ``core``, estimated (:mod:`sbn_mcu.codegen.planner`)."""
    rows = []
    stage = plan.input_stage
    if stage is not None:  # sbn_input_q: a[c], b[c] in flash, q in RAM
        rows.append({"layer": "in", "operation": f"input to q, {stage.multipliers.size} channels",
                     "output": list(plan.input_shape), "parameters": 2 * stage.multipliers.size, "weight_bits": 0,
                     "flash_bytes": stage.flash_bytes, "ram_bytes": 4 * stage.words,
                     "binary_macs": 0, "integer_macs": 0, "kernel": "input_q", "instructions": None})
    for step in plan.steps:
        thresholds = 0 if step.thresholds is None else step.thresholds.size
        rows.append({
            "layer": step.index, "operation": step.title, "output": list(step.out_shape),
            "parameters": step.weight_bits + thresholds,
            "weight_bits": step.weight_bits,
            "flash_bytes": plan.step_flash_bytes(step),
            "ram_bytes": 4 * (step.out_words + step.scratch_words),
            "binary_macs": 0 if step.reads_input else step.macs,
            "integer_macs": step.macs if step.reads_input else 0,
            "kernel": step.kernel, "instructions": instructions(step, core),
        })
    total = {key: sum(r[key] for r in rows) for key in
             ("parameters", "weight_bits", "flash_bytes", "binary_macs", "integer_macs")}
    # ping-pong buffers and the convolution scratch row are the real RAM
    total["ram_bytes"] = plan.ram_bytes
    total["instructions"] = sum(r["instructions"] or 0 for r in rows)
    return {"layers": rows, "total": total, "instructions_core": core}


def table(summary: dict) -> str:
    """The summary as a fixed-width text table."""
    core = summary.get("instructions_core", ESTIMATE_CORE).removeprefix("cortex-").upper()
    head = ("#", "operation", "output", "params", "flash B", "RAM B", "binary MACs", "int MACs", "kernel",
            f"{core} instr (est.)")
    lines = [[str(r["layer"]), r["operation"], "x".join(map(str, r["output"])), f"{r['parameters']:,}",
              f"{r['flash_bytes']:,}", f"{r['ram_bytes']:,}", f"{r['binary_macs']:,}",
              f"{r['integer_macs']:,}", r.get("kernel", ""),
              "-" if r.get("instructions") is None else f"{r['instructions']:,}"] for r in summary["layers"]]
    t = summary["total"]
    lines.append(["", "total", "", f"{t['parameters']:,}", f"{t['flash_bytes']:,}", f"{t['ram_bytes']:,}",
                  f"{t['binary_macs']:,}", f"{t['integer_macs']:,}", "", f"{t.get('instructions', 0):,}"])
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    fmt = lambda row: "  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule, *map(fmt, lines[:-1]), rule, fmt(lines[-1])])
