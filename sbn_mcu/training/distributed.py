"""Devices and data-parallel runs under torchrun."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..errors import SbnError


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (an error without a GPU) or ``auto`` (cuda when there is one)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SbnError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise SbnError(f"unknown device {name!r}; choose cpu, cuda or auto")
    return torch.device(name)


@dataclass
class Ranks:
    """This process's place in a data-parallel run (torchrun sets RANK, WORLD_SIZE, LOCAL_RANK)."""

    rank: int = 0
    world: int = 1
    local: int = 0
    started_group: bool = False  # whether train() initialised the process group and must end it

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def distributed_ranks() -> Ranks:
    """The torchrun environment, or a single process without it."""
    try:
        return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                     int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise SbnError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (run under torchrun)") from None


def start_group(ranks: Ranks, device: torch.device, batch_size: int) -> torch.device:
    """Join the torchrun process group: gloo on the CPU, NCCL with one GPU per process."""
    if ranks.world == 1:
        return device
    if batch_size % ranks.world:
        raise SbnError(f"--batch-size {batch_size} does not split evenly over {ranks.world} processes; "
                       "choose a multiple of --nproc_per_node")
    if device.type == "cuda":
        if ranks.local >= torch.cuda.device_count():
            raise SbnError(f"process {ranks.local} has no GPU of its own ({torch.cuda.device_count()} visible); "
                           "use --nproc_per_node <= the number of GPUs")
        device = torch.device("cuda", ranks.local)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        ranks.started_group = True
    return device


