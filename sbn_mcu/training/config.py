"""The training options and their defaults, written once: the CLI derives its
options' defaults from :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

# The architectures and methods, with the one line the CLI's help gives each;
# architectures.PRESETS and binarizers.BINARIZERS implement them.
ARCHITECTURES = {
    "mlp": "dense:256,dense:256",
    "cnn": "conv3x3:32,pool2,conv3x3:64,pool2 (conv3:32,... on 1-D data)",
    "cnn-large": "conv3x3:32,conv3x3:32,pool2,conv3x3:64,conv3x3:64,pool2,dense:512",
}
METHODS = {
    "sbn": "tanh(v*x) sharpened to sign",
    "ste": "BinaryNet: sign with a straight-through gradient, latent weights in [-1, 1]",
    "float": "ReLU, float weights; not exportable",
}


@dataclass
class TrainConfig:
    dataset: str = "fashion-mnist"  # one of data.DATASETS, when no `data` path is given
    data: Path | None = None  # the user's data: an .npz, a .csv, an image folder or a folder of IDX files
    test_data: Path | None = None  # the test split, where `data` has none
    test_split: float | None = None  # or a seeded fraction of `data` held out as the test split
    input_type: str | None = None  # uint8, int8 or int16; by default from the data
    input_layout: str | None = None  # hwc: examples are (H, W, C)
    image_size: tuple[int, int] | None = None  # image folders: resize to (H, W)
    color: str | None = None  # image folders: gray or rgb
    label_column: str | None = None  # CSV: the label's column name or index
    input_shape: tuple[int, ...] | None = None  # reshape flat features to (C, L) or (C, H, W)
    normalize: str = "range"  # range, or per-channel (ir.input_spec)
    arch: str = "mlp"  # a preset of ARCHITECTURES, or a layer spec (training.layer_spec)
    method: str = "sbn"  # one of binarizers.METHODS: sbn, or the ste / float baselines
    epochs: int = 15
    data_dir: Path | None = None
    limit: int | None = None
    seed: int = 0
    batch_size: int = 128
    lr: float = 3e-3
    device: str = "cpu"  # cpu, cuda, or auto (cuda when there is one)
    v_start: float = 1.0
    v_end: float = 100.0  # chosen on validation: see docs/training.md
    v_shape: str = "exponential"
    weight_norm: bool = True  # sbn: tanh(s * v * w / mean|w|) per output channel; see docs/training.md
    weight_v_scale: float = 0.3  # s: weights sharpen from 0.3 to 30 while activations go from 1 to 100
    weight_v_fan_in: float = 0.0  # R: layers of fan-in F < R sharpen sqrt(R / F) times faster; 0: off (probe)
    grad_v_max: float = 3.0  # sbn: gradients of tanh(min(v, G) * x); 0: of tanh(v * x); see docs/training.md
    sign_finish: float | None = None  # sbn: the last steps' share that forwards sign; None: SIGN_FINISH
    teacher: Path | None = None  # a float run's model.pt on the same data: distil its soft scores
    teacher_weight: float = 0.5  # the share of the teacher's term in the loss
    augment: int = 0  # move each training input by up to this many positions per axis; 0: off
    flip: bool = False  # mirror half the training inputs along their last axis
    grad_clip: float = 0.0  # largest gradient norm per step; 0: no clipping (see docs/training.md)
    calibration_images: int = 10000
    val_images: int = 5000  # held out of the training split to pick the best epoch; 0: keep the last


DEFAULTS = TrainConfig()

# The default sign finish, by the model's layers: a convolution's hard network learns mostly after
# v reaches its end, and needs a longer finish than dense layers do (measured: docs/training.md).
SIGN_FINISH = {"convolutional": 0.5, "dense": 0.2}

# Options that must equal the interrupted run's for --resume.
RESUME_FIELDS = ("dataset", "data", "test_data", "test_split", "input_type", "input_layout", "image_size", "color",
                 "label_column", "input_shape", "normalize", "arch", "method", "epochs", "limit", "seed", "batch_size", "lr", "v_start", "v_end",
                 "v_shape", "weight_norm", "weight_v_scale", "weight_v_fan_in", "grad_v_max",
                 "sign_finish", "teacher", "teacher_weight", "augment", "flip", "grad_clip", "val_images")


DATA_FIELDS = ("data_dir", "test_data", "test_split", "input_type", "input_layout", "image_size", "color",
               "label_column", "input_shape")  # passed to data.open as they are


def plain(config: TrainConfig) -> dict:
    """The options as JSON-friendly values."""
    def value(v):
        return str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v

    return {f.name: value(getattr(config, f.name)) for f in fields(config)}
