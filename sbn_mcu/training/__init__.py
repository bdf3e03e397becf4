"""Training, the only stage that imports torch: self-binarizing layers, the
binarizers (sbn / ste / float), architectures, the sharpening schedule, the
loop, checkpoints, data-parallel runs, plots, and freeze (torch → frozen IR).

The public API is loaded on first use, so that reading the options
(:mod:`.config`) costs no torch import::

    from sbn_mcu.training import TrainConfig, train
    model, metrics = train(TrainConfig(arch="mlp", epochs=15), "runs/mlp")
"""

from importlib import import_module

_API = {"TrainConfig": "config", "train": "loop", "exported_record": "loop", "load_checkpoint": "checkpoint",
        "save_checkpoint": "checkpoint", "freeze": "freeze"}


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
