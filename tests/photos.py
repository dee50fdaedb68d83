"""Real photo-like test images: smooth random colour fields with a few shapes, written as real files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(base, "RGB").resize(size, Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(img)
    w, h = size
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=colour)
    return img


def write_photo(path: Path, seed: int, size: tuple[int, int] = (320, 240), quality: int = 90, **kw) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = photo(seed, size)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, quality=quality, **kw)
    else:
        img.save(path, **kw)
    return path


def save_jpeg(img: Image.Image, path, quality: int = 85) -> str:
    """Write ``img`` (a JPEG by its suffix) and return its path as a string."""
    img.save(path, quality=quality)
    return str(path)


def write_photos(folder: Path, n: int, size: tuple[int, int] = (320, 240), prefix: str = "p") -> list[Path]:
    """``n`` distinct photos p0.jpg.. (seeds 0..n-1) in ``folder``."""
    return [write_photo(Path(folder) / f"{prefix}{i}.jpg", seed=i, size=size) for i in range(n)]


def scene(seed: int, size=(480, 360), dark: bool = False) -> Image.Image:
    """A photo-like picture with detail at several scales: smooth colour, shapes, lines and grain."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.zeros((h, w, 3), np.float32)
    for cells in (4, 12, 40):
        layer = Image.fromarray((rng.random((cells * h // w + 1, cells, 3)) * 255).astype(np.uint8), "RGB")
        base += np.asarray(layer.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 3
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        x1, y1 = x0 + int(rng.integers(6, w // 4)), y0 + int(rng.integers(6, h // 4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            d.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind == 1:
            d.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            d.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(1, 5)))
    a = np.asarray(img, np.float32) + rng.normal(0, 4, (h, w, 3))
    if dark:
        a = a * 0.07  # a night shot: everything under ~20 grey levels
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def burst(folder, seed: int = 300) -> dict[str, str]:
    """A photo, a second shot of it from a camera that moved a little (near things shift against far ones:
    parallax), a grey copy of the first, and an unrelated photo; the first is the largest and oldest file."""
    import cv2

    first = scene(seed, (720, 480))
    a = np.asarray(first)
    ys, xs = np.mgrid[0:480, 0:720].astype(np.float32)
    near = np.sin(np.pi * ys / 480) * np.sin(np.pi * xs / 720)
    second = Image.fromarray(cv2.remap(a, xs + 4.5 * near, ys + 2.2 * near, cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REFLECT)).resize((600, 400), Image.Resampling.LANCZOS)
    paths = {"first": folder / "first.jpg", "second": folder / "second.jpg", "grey": folder / "grey.png",
             "other": folder / "other.jpg"}
    first.save(paths["first"], quality=92)
    second.save(paths["second"], quality=92)
    first.convert("L").resize((480, 320), Image.Resampling.LANCZOS).convert("RGB").save(paths["grey"])
    scene(seed + 50, (480, 320)).save(paths["other"], quality=92)
    for i, p in enumerate(paths.values()):
        os.utime(p, (1_600_000_000 + i * 3600,) * 2)
    return {k: str(p) for k, p in paths.items()}
