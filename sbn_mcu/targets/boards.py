"""Boards that ``sbn-mcu firmware`` writes standalone projects for.

A board is a core (compiler flags), a memory map, a UART with its pins and
the register writes that bring it up on the chip's reset clock, a cycle
counter, and how to flash it. Everything else a project needs is shared.
The QEMU machines of :data:`sbn_mcu.targets.cores.CORES` are boards too: their
UART is emulated, so the serial protocol is tested against them.

Register values come from the chips' reference manuals (named per board in
``notes``). Only the reset clock is used (no PLL set-up), so a board runs
slower than it could but needs no clock-tree code that could be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SbnError
from .cores import CORES, Core

BAUD = 115200


@dataclass(frozen=True)
class RegisterWrite:
    """``*address = (*address & ~clear) | set``: one step of the bring-up."""

    address: int
    clear: int
    set: int
    why: str


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    core: str                 # -mcpu name; "cortex-m0plus" is not in cores.CORES
    cflags: tuple[str, ...]
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    clock_hz: int             # the reset clock the firmware runs on
    uart: str                 # driver: cmsdk, nrf, stm32v1 (SR/DR) or stm32v2 (ISR/RDR/TDR)
    uart_base: int
    uart_pins: str            # for the person wiring a USB-serial adapter
    cycle_counter: str        # dwt (CYCCNT) or systick
    nrf_pins: tuple[int, int] = (0, 0)  # nRF UART: (TX, RX) GPIO numbers
    init: tuple[RegisterWrite, ...] = ()
    qemu_machine: str | None = None
    pyocd_target: str | None = None
    openocd_configs: tuple[str, ...] = ()
    notes: str = ""

    @property
    def baud_divisor(self) -> int:
        """What the UART's baud register holds for :data:`BAUD` (nRF: a fixed code)."""
        if self.uart == "nrf":
            return 0x01D7E000  # BAUDRATE "Baud115200" in the nRF51/nRF52 manuals
        return round(self.clock_hz / BAUD)

    @property
    def uart_driver(self) -> str:
        """The driver's file under ``firmware/board/``."""
        return "uart_stm32.c" if self.uart.startswith("stm32") else f"uart_{self.uart}.c"

    def describe(self) -> str:
        return (f"{self.name:<16} {self.core:<14} {self.flash_bytes // 1024:>5} KB flash "
                f"{self.ram_bytes // 1024:>4} KB RAM  {self.title}")


def _qemu_board(core: Core, clock_hz: int, uart_base: int, uart: str = "cmsdk",
                pins: str = "UART0 (QEMU's first -serial)", **real_board) -> Board:
    """A QEMU machine; ``real_board`` gives the title and flashing of the board it models."""
    return Board(name=core.machine, title=real_board.pop("title", f"QEMU {core.machine} ({core.name})"),
                 core=core.name, cflags=core.cflags,
                 flash_origin=core.flash_origin, flash_bytes=core.flash_bytes,
                 ram_origin=core.ram_origin, ram_bytes=core.ram_bytes,
                 clock_hz=clock_hz, uart=uart, uart_base=uart_base, uart_pins=pins,
                 # QEMU models no DWT; its SysTick runs on the emulated clock.
                 cycle_counter="systick", qemu_machine=core.machine, **real_board)


_KB = 1024

# STM32 register addresses (RM0390 F446, RM0433 H743, RM0008 F103, RM0367 L053).
_F4_RCC, _F4_GPIOA = 0x40023800, 0x40020000
_H7_RCC, _H7_GPIOD = 0x58024400, 0x58020C00
_F1_RCC, _F1_GPIOA = 0x40021000, 0x40010800
_L0_RCC, _L0_GPIOA = 0x40021000, 0x50000000

_BOARDS = (
    # nRF51822: UART0 on P0.24 (TX) / P0.25 (RX), the micro:bit's USB serial.
    _qemu_board(CORES["cortex-m0"], 16_000_000, 0x40002000, uart="nrf", nrf_pins=(24, 25),
                pins="TX P0.24, RX P0.25 (USB serial through the interface chip)",
                title="BBC micro:bit v1 (nRF51822); QEMU microbit", pyocd_target="nrf51",
                openocd_configs=("interface/cmsis-dap.cfg", "target/nrf51.cfg")),
    _qemu_board(CORES["cortex-m3"], 25_000_000, 0x40004000),
    _qemu_board(CORES["cortex-m4"], 25_000_000, 0x40004000),
    _qemu_board(CORES["cortex-m7"], 25_000_000, 0x40004000),
    # AN505 boots in the Secure state: UART0 through its Secure alias.
    _qemu_board(CORES["cortex-m33"], 20_000_000, 0x50200000),
    _qemu_board(CORES["cortex-m55"], 32_000_000, 0x59303000),
    Board(name="nucleo-f446re", title="ST Nucleo-F446RE (STM32F446RE)", core="cortex-m4",
          cflags=CORES["cortex-m4"].cflags,
          flash_origin=0x08000000, flash_bytes=512 * _KB, ram_origin=0x20000000, ram_bytes=128 * _KB,
          clock_hz=16_000_000, uart="stm32v1", uart_base=0x40004400,
          uart_pins="USART2: TX PA2, RX PA3 (AF7), the ST-LINK virtual COM port",
          cycle_counter="dwt",
          init=(RegisterWrite(_F4_RCC + 0x30, 0, 1 << 0, "RCC_AHB1ENR: GPIOA clock"),
                RegisterWrite(_F4_RCC + 0x40, 0, 1 << 17, "RCC_APB1ENR: USART2 clock"),
                RegisterWrite(_F4_GPIOA + 0x00, 0xF << 4, 0xA << 4, "GPIOA_MODER: PA2, PA3 alternate"),
                RegisterWrite(_F4_GPIOA + 0x20, 0xFF << 8, 0x77 << 8, "GPIOA_AFRL: PA2, PA3 AF7")),
          pyocd_target="stm32f446retx", openocd_configs=("interface/stlink.cfg", "target/stm32f4x.cfg"),
          notes="HSI 16 MHz at reset (RM0390)."),
    Board(name="nucleo-h743zi", title="ST Nucleo-H743ZI (STM32H743ZI)", core="cortex-m7",
          cflags=CORES["cortex-m7"].cflags,
          # DTCM: usable at reset without enabling any SRAM clock.
          flash_origin=0x08000000, flash_bytes=2048 * _KB, ram_origin=0x20000000, ram_bytes=128 * _KB,
          clock_hz=64_000_000, uart="stm32v2", uart_base=0x40004800,
          uart_pins="USART3: TX PD8, RX PD9 (AF7), the ST-LINK virtual COM port",
          cycle_counter="dwt",
          init=(RegisterWrite(_H7_RCC + 0xE0, 0, 1 << 3, "RCC_AHB4ENR: GPIOD clock"),
                RegisterWrite(_H7_RCC + 0xE8, 0, 1 << 18, "RCC_APB1LENR: USART3 clock"),
                RegisterWrite(_H7_GPIOD + 0x00, 0xF << 16, 0xA << 16, "GPIOD_MODER: PD8, PD9 alternate"),
                RegisterWrite(_H7_GPIOD + 0x24, 0xFF, 0x77, "GPIOD_AFRH: PD8, PD9 AF7")),
          pyocd_target="stm32h743xx", openocd_configs=("interface/stlink.cfg", "target/stm32h7x.cfg"),
          notes="HSI 64 MHz at reset, USART3 kernel clock = PCLK1 (RM0433)."),
    Board(name="nrf52840dk", title="Nordic nRF52840-DK (nRF52840)", core="cortex-m4",
          cflags=CORES["cortex-m4"].cflags,
          flash_origin=0x00000000, flash_bytes=1024 * _KB, ram_origin=0x20000000, ram_bytes=256 * _KB,
          clock_hz=64_000_000, uart="nrf", uart_base=0x40002000,
          uart_pins="UART0: TX P0.06, RX P0.08, the J-Link virtual COM port", nrf_pins=(6, 8),
          cycle_counter="dwt",
          pyocd_target="nrf52840", openocd_configs=("board/nordic_nrf52_dk.cfg",),
          notes="HFINT 64 MHz; the legacy UART0 registers (nRF52840 PS v1.7)."),
    Board(name="bluepill-f103c8", title='STM32F103C8 "Blue Pill"', core="cortex-m3",
          cflags=CORES["cortex-m3"].cflags,
          flash_origin=0x08000000, flash_bytes=64 * _KB, ram_origin=0x20000000, ram_bytes=20 * _KB,
          clock_hz=8_000_000, uart="stm32v1", uart_base=0x40013800,
          uart_pins="USART1: TX PA9, RX PA10 (wire a 3.3 V USB-serial adapter)",
          cycle_counter="dwt",
          init=(RegisterWrite(_F1_RCC + 0x18, 0, (1 << 2) | (1 << 14), "RCC_APB2ENR: GPIOA, USART1 clocks"),
                RegisterWrite(_F1_GPIOA + 0x04, 0xFF << 4, 0x4B << 4,
                              "GPIOA_CRH: PA9 AF push-pull, PA10 floating input")),
          pyocd_target="stm32f103c8", openocd_configs=("interface/stlink.cfg", "target/stm32f1x.cfg"),
          notes="HSI 8 MHz at reset (RM0008)."),
    Board(name="nucleo-l053r8", title="ST Nucleo-L053R8 (STM32L053R8)", core="cortex-m0plus",
          cflags=("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
          flash_origin=0x08000000, flash_bytes=64 * _KB, ram_origin=0x20000000, ram_bytes=8 * _KB,
          clock_hz=2_097_152, uart="stm32v2", uart_base=0x40004400,
          uart_pins="USART2: TX PA2, RX PA3 (AF4), the ST-LINK virtual COM port",
          cycle_counter="systick",
          init=(RegisterWrite(_L0_RCC + 0x2C, 0, 1 << 0, "RCC_IOPENR: GPIOA clock"),
                RegisterWrite(_L0_RCC + 0x38, 0, 1 << 17, "RCC_APB1ENR: USART2 clock"),
                RegisterWrite(_L0_GPIOA + 0x00, 0xF << 4, 0xA << 4, "GPIOA_MODER: PA2, PA3 alternate"),
                RegisterWrite(_L0_GPIOA + 0x20, 0xFF << 8, 0x44 << 8, "GPIOA_AFRL: PA2, PA3 AF4")),
          pyocd_target="stm32l053r8tx", openocd_configs=("interface/stlink.cfg", "target/stm32l0.cfg"),
          notes="MSI 2.097 MHz at reset (RM0367): 115200 baud is 1.1% off, within the UART's tolerance."),
)

BOARDS: dict[str, Board] = {b.name: b for b in _BOARDS}


def get(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise SbnError(f"unknown board {name!r}; choose one of: {', '.join(BOARDS)} "
                       "(`sbn-mcu firmware --list-boards` shows them)") from None
