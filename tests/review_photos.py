"""The copies people really make of one camera photo, written as real files for the keeper/review tests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from PIL import Image

from photos import photo


def camera_jpeg(path: Path, seed: int, size=(800, 600), make="Canon", model="Canon EOS 80D",
                software: str | None = None, img: Image.Image | None = None) -> Path:
    """A JPEG as a camera writes it: EXIF Make, Model and DateTimeOriginal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = img or photo(seed, size)
    exif = Image.Exif()
    exif[271], exif[272] = make, model
    if software:
        exif[305] = software
    exif.get_ifd(0x8769)[36867] = "2021:05:01 10:00:00"
    img.save(path, quality=92, exif=exif)
    return path


def copies(root: Path, seed: int = 1) -> dict[str, Path]:
    """camera original, exact backup, PNG export, WhatsApp re-encode, phone screenshot, Lightroom export."""
    src = photo(seed, (800, 600))
    out = {"camera": camera_jpeg(root / "camera-import" / "IMG_0001.jpg", seed, img=src)}
    time.sleep(0.01)  # the backup is made after the original (later mtime), as in life
    out["backup"] = root / "backup" / "camera" / "IMG_0001.jpg"
    out["backup"].parent.mkdir(parents=True)
    shutil.copy(out["camera"], out["backup"])
    out["png"] = root / "exports" / "IMG_0001.png"
    out["png"].parent.mkdir(parents=True)
    src.save(out["png"])
    out["whatsapp"] = root / "whatsapp" / "IMG-20210502-WA0003.jpg"
    out["whatsapp"].parent.mkdir(parents=True)
    src.resize((480, 360)).save(out["whatsapp"], quality=60)
    out["screenshot"] = root / "phone" / "IMG_4821.png"
    out["screenshot"].parent.mkdir(parents=True)
    canvas = Image.new("RGB", (1080, 2340), (18, 18, 18))
    canvas.paste(src.resize((1080, 810)), (0, 760))
    canvas.save(out["screenshot"])
    out["lightroom"] = camera_jpeg(root / "edits" / "IMG_0001-2.jpg", seed, img=src.resize((1600, 1200)),
                                   software="Adobe Photoshop Lightroom Classic 12.0 (Windows)")
    return out


def fake_raw(path: Path, img: Image.Image) -> Path:
    """A TIFF-structured RAW stand-in (DNG is TIFF): decoded through Pillow when LibRaw refuses it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="TIFF")
    return path
