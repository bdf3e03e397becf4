"""Verification of an export folder against the numpy reference: on the host
(gcc), in QEMU (golden vectors), and on a board over a serial line. Every
integer score must equal the reference's. Torch is not needed."""

from .host import host_scores, verify_host
from .qemu import verify_qemu
from .serial import verify_serial

__all__ = ["host_scores", "verify_host", "verify_qemu", "verify_serial"]
