"""Checkpoints: the exported network (``model.pt``) and the whole training
state after each epoch (``training.pt``, for ``--resume``).

A checkpoint carries its architecture as plain data (:mod:`.architectures`),
its options and metrics, so that export needs nothing else. Files are written
atomically: a crash or a full disk never leaves a half-written checkpoint.
"""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import SbnError
from ..files import write_atomically
from . import architectures
from .binarizers import METHODS
from .config import RESUME_FIELDS, TrainConfig, plain
from .layers import set_method, set_weight_norm
from ..ir.input_spec import InputSpec

CHECKPOINT_FORMAT = "sbn-mcu-checkpoint"
CHECKPOINT_VERSION = 2  # 2: the input spec and the data's source and hash
TRAINING_STATE = "training.pt"  # the run's state after its last finished epoch, for --resume


def save_checkpoint(path: Path, model: nn.Module, config: TrainConfig, metrics: list[dict], spec: InputSpec,
                    data_record: dict | None = None, best_epoch: int | None = None) -> None:
    """Write atomically: a crash never leaves a half-written checkpoint.

    ``metrics`` is the history of the saved network, so its last record (which
    export copies into the frozen model) describes that network. ``spec`` is
    the input the model takes, and ``data_record`` the data's ``source`` and
    ``digest``, so that later commands check on the run's own test split.
    """
    state = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "architecture": architectures.describe(model), "input": spec.to_dict(), "data": data_record or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "arch": config.arch, "method": config.method, "weight_norm": config.weight_norm, "metrics": metrics,
        "best_epoch": best_epoch if best_epoch is not None else len(metrics),
    }
    save(path, state)


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """The model (float32, soft mode) and the checkpoint's other fields."""
    path = Path(path)
    if path.is_dir():
        raise SbnError(f"checkpoint {path} is a directory; give the model.pt file inside a run folder")
    if not path.is_file():
        raise SbnError(f"checkpoint {path} does not exist; train one with `sbn-mcu train`")
    try:
        state = _quiet_load(path)
    except Exception as err:  # torch raises many types for a damaged file
        raise SbnError(f"checkpoint {path} is corrupt or truncated ({type(err).__name__}); "
                       "train again or restore it") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise SbnError(f"{path} is not an sbn-mcu checkpoint; export needs a model.pt "
                       "written by `sbn-mcu train` (or sbn_mcu.training.save_checkpoint)")
    if state.get("version") != CHECKPOINT_VERSION:
        raise SbnError(f"{path} has checkpoint version {state.get('version')}, from another sbn-mcu; this one "
                       f"reads version {CHECKPOINT_VERSION}: train the model again")
    missing = [k for k in ("architecture", "input", "state_dict") if k not in state]
    if missing:
        raise SbnError(f"checkpoint {path} lacks {', '.join(missing)}; it was not written by sbn-mcu")
    state["spec"] = InputSpec.from_dict(state["input"])
    model = architectures.build(state["architecture"])
    if state.get("method", "sbn") not in METHODS:
        raise SbnError(f"checkpoint {path} names an unknown training method {state.get('method')!r}")
    set_method(model, state.get("method", "sbn"))
    set_weight_norm(model, state.get("weight_norm", False))
    try:
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, KeyError) as err:
        detail = " ".join(str(err).split())
        raise SbnError(f"checkpoint {path} does not match its architecture: {detail[:300]}") from None
    return model, state


def load_training_state(path: Path, config: TrainConfig) -> dict:
    if not path.is_file():
        raise SbnError(f"nothing to resume: {path} does not exist; train without --resume first")
    try:
        state = _quiet_load(path)
    except Exception as err:  # torch raises many types for a damaged file
        raise SbnError(f"{path} is corrupt or truncated ({type(err).__name__}); train without --resume") from None
    saved = state.get("config", {}) if isinstance(state, dict) else {}
    changed = [k for k in RESUME_FIELDS if saved.get(k) != plain(config).get(k)]
    if changed:
        raise SbnError(f"--resume needs the options of the interrupted run; {', '.join('--' + k.replace('_', '-') for k in changed)} "
                       "differ")
    return state




def _quiet_load(path: Path):
    """``torch.load`` without its multi-line warnings: a foreign file is one line of ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


def save(path: Path, state: dict) -> None:
    """``torch.save`` atomically; a failure is one line and leaves the earlier file.

    A full disk surfaces from torch's zip writer as a RuntimeError about an
    unexpected position; the line says what it is, and advises ``--resume``
    only where a training state is there to resume from.
    """
    path = Path(path)
    try:
        write_atomically(path, lambda tmp: torch.save(state, tmp))
    except (OSError, RuntimeError) as err:
        text = str(err)
        full = getattr(err, "errno", None) == errno.ENOSPC or "unexpected pos" in text or "No space left" in text
        why = "the disk is full" if full else getattr(err, "strerror", None) or text.splitlines()[0]
        again = ("run again with --resume" if (path.parent / TRAINING_STATE).is_file()
                 else "train again (no epoch was saved to resume from)")
        raise SbnError(f"cannot write {path}: {why}; free disk space and {again}") from None
