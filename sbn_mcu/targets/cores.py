"""The Cortex-M cores sbn-mcu builds for, each as one QEMU 7.2 machine emulates it.

Data only: no numpy, no tools. The CLI's choices, the golden harness, bench
and the QEMU boards all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import SbnError


@dataclass(frozen=True)
class Core:
    """One Cortex-M core as emulated by one QEMU 7.2 machine.

    ``flash_*`` and ``ram_*`` describe the memory the firmware is linked into
    (``firmware/ld/<machine>.ld`` holds the same numbers, and a test checks that
    they agree). On the mps2/mps3 boards "flash" is the SRAM that QEMU loads
    the code into.
    """

    name: str
    machine: str
    cflags: tuple[str, ...]
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    linker_script: str  # in firmware/ld


def _core(name: str, machine: str, cflags: Sequence[str], flash: tuple[int, int],
          ram: tuple[int, int]) -> Core:
    return Core(name=name, machine=machine, cflags=tuple(cflags),
                flash_origin=flash[0], flash_bytes=flash[1],
                ram_origin=ram[0], ram_bytes=ram[1],
                linker_script=f"{machine}.ld")


_K = 1024
_M = 1024 * 1024


class _CoreTable(dict):
    """A dict keyed by core name that also answers to the QEMU machine name.

    Iterating gives each core once; ``CORES["mps2-an386"]`` is
    ``CORES["cortex-m4"]``.
    """

    def __missing__(self, key: str) -> Core:
        for core in self.values():
            if core.machine == key:
                return core
        raise KeyError(key)


# Hard-float ABI with the FPU each QEMU core has: models are integer-only,
# but the firmware should link with the float code of a real application.
CORES: dict[str, Core] = _CoreTable({
    c.name: c for c in (
        _core("cortex-m0", "microbit",
              ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
              (0x00000000, 256 * _K), (0x20000000, 16 * _K)),
        _core("cortex-m3", "mps2-an385",
              ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m4", "mps2-an386",
              ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m7", "mps2-an500",
              ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m33", "mps2-an505",
              ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
              (0x10000000, 4 * _M), (0x38000000, 4 * _M)),
        _core("cortex-m55", "mps3-an547",
              ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-mfpu=auto"],
              (0x00000000, 512 * _K), (0x20000000, 512 * _K)),
    )
})


def resolve_core(core: "str | Core") -> Core:
    """A Core from a core name (``cortex-m4``) or a QEMU machine (``mps2-an386``)."""
    if isinstance(core, Core):
        return core
    try:
        return CORES[core]
    except KeyError:
        known = ", ".join(f"{c.name} ({c.machine})" for c in CORES.values())
        raise SbnError(f"unknown core {core!r}; choose one of: {known}") from None


NAMES = tuple(CORES)  # the CLI's choices, in order
