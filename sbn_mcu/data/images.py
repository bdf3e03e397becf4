"""Folders of images: ``PATH/train/<class>/*.png`` (and optional ``PATH/val/<class>/``, ``PATH/test/<class>/``).

The class names are the training subfolders' names, sorted. Images are
png, jpg, jpeg or bmp, 8 bits a channel, and must all have one size unless
``image_size=(H, W)`` resizes them (bilinear). ``color`` is ``gray`` or
``rgb``; by default rgb if any image has colour (a pixel whose channels
differ), else gray. Gray images are ``(N, 1, H, W)`` ``chw``, rgb images
``(N, H, W, 3)`` ``hwc``: interleaved, the way camera frames arrive
(``input_layout`` swaps either). Pillow is imported only here, and only when
images are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SbnError
from .dataset import Parts, Source

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
COLORS = ("gray", "rgb")
SPLIT_FOLDERS = ("train", "val", "test")


def pillow():
    """The PIL.Image module, or one line saying how to get it."""
    try:
        from PIL import Image
    except ImportError:
        raise SbnError("reading images needs Pillow: pip install pillow") from None
    return Image


def read_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file as uint8 ``(H, W, 3)``, resized to ``size`` ``(H, W)`` if given; one line if it is broken."""
    Image = pillow()
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                raise SbnError(f"{path} is a {img.mode} image (16-bit or float); save it with 8 bits a channel")
            rgb = img.convert("RGB")
    except SbnError:
        raise
    except Exception as err:  # Pillow raises many kinds for a broken file  # noqa: BLE001
        reason = " ".join(str(err).split()) or type(err).__name__
        raise SbnError(f"cannot read the image {path} ({reason}); the file is corrupt or not an image, "
                       "replace or delete it") from None
    if size is not None and rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` as ``(H, W)`` luma, by Pillow's own RGB -> L conversion (so prediction matches training)."""
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0].copy()
    return np.asarray(pillow().fromarray(rgb, "RGB").convert("L"), dtype=np.uint8)


def has_colour(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any())


def detect(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / "train").is_dir()


def _classes(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _size(options: dict):
    size = options.get("image_size")
    if size is None:
        return None
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise SbnError(f"image size {size!r} must be two whole numbers, height and width, e.g. 28 28") from None
    if h < 1 or w < 1 or (h, w) != tuple(size):
        raise SbnError(f"image size {tuple(size)} must be two positive whole numbers, height and width")
    return h, w


def read(path: Path, options: dict) -> Parts:
    """A folder with ``train/`` (and ``val/``, ``test/``), or, as test data, a folder of class folders."""
    root = Path(path)
    if not root.is_dir():
        raise SbnError(f"{root} is not a folder; give a folder of images PATH/train/<class>/*.png")
    color = options.get("color")
    if color is not None and color not in COLORS:
        raise SbnError(f"color {color!r} is not supported; choose one of {', '.join(COLORS)}")
    if options.get("input_shape") is not None:
        raise SbnError("--input-shape reshapes flat features; images keep their own shape (use --image-size "
                       "to resize them)")
    size = _size(options)
    # PATH/train/<class>/ (and val/, test/); as test data also PATH/test/<class>/ or PATH/<class>/
    subfolders = {p.name for p in _classes(root)}
    split_mode = (root / "train").is_dir() or (subfolders and subfolders <= set(SPLIT_FOLDERS))
    folders = {s: root / s for s in SPLIT_FOLDERS if (root / s).is_dir()} if split_mode else {"train": root}
    splits, where, names, first = {}, {}, None, None
    for split, folder in folders.items():
        stray = _images(folder)
        if stray:
            raise SbnError(f"{stray[0]} is not in a class folder; put each image in {folder}/<class name>/")
        classes = _classes(folder)
        if split == "train" or names is None:
            if not classes:
                raise SbnError(f"{folder} holds no class folders; put the images in {folder}/<class name>/")
            names = tuple(c.name for c in classes)
        pixels, labels = [], []
        for cls in classes:
            files = _images(cls)
            if not files and split == "train":
                raise SbnError(f"{cls} holds no images ({', '.join(SUFFIXES)}); add some or remove the folder")
            for file in files:
                rgb = read_rgb(file, size)
                if first is None:
                    first = (file, rgb.shape)
                elif rgb.shape != first[1]:
                    raise SbnError(f"{file} is {rgb.shape[1]}x{rgb.shape[0]} pixels but {first[0]} is "
                                   f"{first[1][1]}x{first[1][0]}; every image needs the same size, or give "
                                   "--image-size H W to resize them")
                pixels.append(rgb)
                labels.append(cls.name)
        shape = first[1] if first is not None else (0, 0, 3)
        splits[split] = (np.stack(pixels) if pixels else np.zeros((0, *shape), np.uint8), np.array(labels, dtype=str))
        where[split] = str(folder)
    return Parts(splits, where, names, kind_hint="image",
                 missing_test_hint=f"{root} has no test/ folder (test/<class>/*.png)")


def settle(all_parts: list, options: dict) -> None:
    """Decide gray or rgb over every split of every part, then arrange the arrays for the layout."""
    color = options.get("color")
    if color is None:
        coloured = any(has_colour(x) for parts in all_parts for x, _ in parts.splits.values() if x.size)
        color = "rgb" if coloured else "gray"
    layout = options.get("input_layout")
    if layout not in (None, "chw", "hwc"):
        raise SbnError(f"images take --input-layout chw or hwc, not {layout}")
    for parts in all_parts:
        for split, (x, y) in parts.splits.items():
            if color == "gray":
                x = np.stack([to_gray(img) for img in x]) if len(x) else x[..., 0]
                x = x[..., None] if layout == "hwc" else x[:, None]
            elif layout == "chw":
                x = x.transpose(0, 3, 1, 2)
            parts.splits[split] = (np.ascontiguousarray(x), y)
        parts.layout = "hwc" if layout == "hwc" or (color == "rgb" and layout is None) else "chw"


SOURCE = Source("images", detect, read, "a folder of images PATH/train/<class>/*.png", settle)
