"""The host's half of the serial protocol of ``firmware/board/main.c``.

docs/protocol.md describes the frames, once, for both halves;
``firmware/board/protocol.h`` is the firmware's half. The CRC is
``binascii.crc_hqx`` from 0xFFFF.

The port is opened with pyserial's ``serial_for_url``, so PORT is a device
(``/dev/ttyACM0``, a pty such as ``/dev/pts/3``) or a URL such as
``socket://localhost:4321`` (QEMU's ``-serial tcp:...``).
"""

from __future__ import annotations

import binascii
import struct
import time
from dataclasses import dataclass

import numpy as np

from ..errors import SbnError

SYNC = 0xA5
INFO, INFER = 0x01, 0x02
INFO_REPLY, RESULT, ERROR = 0x81, 0x82, 0xEE
ERRORS = {1: "bad checksum", 2: "wrong length", 3: "timeout part way through the frame", 4: "unknown frame type"}
COUNTERS = {0: "DWT CYCCNT", 1: "SysTick"}


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def encode(kind: int, payload: bytes = b"") -> bytes:
    """One frame.

    >>> encode(INFO).hex()
    'a5010000acfb'
    """
    body = struct.pack("<BH", kind, len(payload)) + bytes(payload)
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


@dataclass
class BoardInfo:
    input_size: int
    num_classes: int
    model_id: int
    clock_hz: int
    counter: str
    board: str


@dataclass
class Result:
    predicted: int
    cycles: int
    scores: np.ndarray


class BoardError(SbnError):
    """The board answered with an error frame."""


class Link:
    """Frames to and from a board; every failure is an SbnError with one line."""

    def __init__(self, port: str, baud: int = 115200, timeout_s: float = 5.0):
        import serial  # pyserial: only the serial path needs it

        self.port_name, self.timeout_s = port, timeout_s
        try:
            self.port = serial.serial_for_url(port, baudrate=baud, timeout=0.05)
        except (serial.SerialException, ValueError, OSError) as err:
            raise SbnError(f"cannot open serial port {port}: {err}") from None

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, raw: bytes) -> None:
        """Raw bytes, for well-formed frames from :func:`encode` and for tests of bad ones."""
        self.port.reset_input_buffer()
        self.port.write(raw)
        self.port.flush()

    def _read(self, n: int, deadline: float, skipped: bytearray) -> bytes:
        got = bytearray()
        while len(got) < n:
            chunk = self.port.read(n - len(got))
            got += chunk
            if not chunk and time.monotonic() > deadline:
                text = skipped.decode("ascii", "replace").strip()
                said = f"; it printed: {text[:200]}" if text else ""
                raise SbnError(f"no answer from {self.port_name} within {self.timeout_s:g} s "
                               f"(is the sbn-mcu firmware running, at the same baud rate?){said}")
        return bytes(got)

    def receive(self) -> tuple[int, bytes]:
        """The next frame's type and payload. Text before it (a fault report) is kept for the error."""
        deadline = time.monotonic() + self.timeout_s
        skipped = bytearray()
        while (byte := self._read(1, deadline, skipped)) != bytes([SYNC]):
            skipped = (skipped + byte)[-400:]  # the last of what it printed is enough
        header = self._read(3, deadline, skipped)
        kind, length = struct.unpack("<BH", header)
        payload = self._read(length, deadline, skipped)
        (crc,) = struct.unpack("<H", self._read(2, deadline, skipped))
        if crc != crc16(header + payload):
            raise SbnError(f"corrupt frame from {self.port_name}: checksum {crc:#06x}, "
                           f"computed {crc16(header + payload):#06x} (noise on the line, or a wrong baud rate?)")
        if kind == ERROR and len(payload) == 2:
            raise BoardError(f"the board rejected the frame: {ERRORS.get(payload[0], f'error {payload[0]}')}")
        return kind, payload

    def request(self, kind: int, payload: bytes, reply: int) -> bytes:
        self.send(encode(kind, payload))
        got, answer = self.receive()
        if got != reply:
            raise SbnError(f"unexpected frame type {got:#04x} from {self.port_name} (expected {reply:#04x})")
        return answer

    def info(self) -> BoardInfo:
        answer = self.request(INFO, b"", INFO_REPLY)
        if len(answer) < 13:
            raise SbnError(f"INFO reply of {len(answer)} bytes from {self.port_name} is too short")
        input_size, classes, model_id, clock, counter = struct.unpack("<HHIIB", answer[:13])
        return BoardInfo(input_size, classes, model_id, clock, COUNTERS.get(counter, f"counter {counter}"),
                         answer[13:].decode("ascii", "replace"))

    def infer(self, image: bytes, num_classes: int) -> Result:
        answer = self.request(INFER, bytes(image), RESULT)
        if len(answer) != 8 + 4 * num_classes:
            raise SbnError(f"RESULT of {len(answer)} bytes from {self.port_name}, expected {8 + 4 * num_classes}")
        predicted, cycles = struct.unpack("<iI", answer[:8])
        return Result(predicted, cycles, np.frombuffer(answer[8:], dtype="<i4").astype(np.int64))
