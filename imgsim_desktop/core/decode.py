"""Turn any photo on disk (or in memory) into an RGB PIL image, or one typed DecodeError.

A scan meets every kind of broken file, so nothing but ``DecodeError`` may leave this module:
the scanner records the reason and goes on. JPEGs are decoded at reduced size through the
DCT scaling of draft mode, which is most of the cost of indexing a photo library.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DecodeError
from .jpeg_trace import JPEG_FORMATS, quality
from .roots import NotRegularFile, open_regular

# Pillow reports damaged metadata ("Corrupt EXIF data", "Truncated File Read") as warnings printed to stderr,
# with no file name, in the middle of a scan's progress. What matters is handled here: the photo decodes, or it
# is skipped with its reason.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

# Pillow's default (~89 MP) refuses some real panoramas; 200 MP still stops decompression bombs.
Image.MAX_IMAGE_PIXELS = 200_000_000

RAW_EXTENSIONS: frozenset[str] = frozenset(
    {".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw"}
)
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib",
        ".tif", ".tiff", ".heic", ".heif", ".hif", ".avif",
    }
) | RAW_EXTENSIONS

_EXIF_IFD = 0x8769
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 306
_TAG_DATETIME_ORIGINAL = 36867
_TAG_SUBSEC = 37520
_TAG_SUBSEC_ORIGINAL = 37521
_TAG_MAKE = 271
_TAG_MODEL = 272
_TAG_SOFTWARE = 305
_ROTATED = {5, 6, 7, 8}  # orientations that turn the image by 90/270 degrees

# A JPEG spends at least a few bits on every 8x8 block; even a flat progressive one holds < 1000 pixels per
# byte. One that claims far more (a 700-byte file "of" 14000x14000) is truncated or forged: libjpeg would
# pad it with grey, and its claimed size would make it look like the best copy of a photo.
_MAX_JPEG_PIXELS_PER_BYTE = 20_000


class _PixelBudget:
    """Bounds the pixels being decoded at once across all decoding threads (memory grows with pixels,
    not with file size: a 190 KB PNG can hold 200 megapixels). One image larger than the budget still
    decodes, alone."""

    def __init__(self, pixels: int):
        self.pixels = pixels
        self.used = 0
        self.peak = 0     # the most pixels ever held at once (for tests and benches)
        self._cond = threading.Condition()

    def hold(self, n: int):
        budget = self

        class _Held:
            def __enter__(self_inner):
                with budget._cond:
                    while budget.used and budget.used + n > budget.pixels:
                        budget._cond.wait()
                    budget.used += n
                    budget.peak = max(budget.peak, budget.used)

            def __exit__(self_inner, *exc):
                with budget._cond:
                    budget.used -= n
                    budget._cond.notify_all()
        return _Held()


# ~250 MP in flight: at most about 1 GB of decoded pixels and their RGB copies, whatever the worker count.
DECODE_BUDGET = _PixelBudget(int(os.environ.get("IMGSIM_DECODE_BUDGET_PIXELS", 250_000_000)))

_heif_lock = threading.Lock()
_heif_registered = False


@dataclass
class ImageInfo:
    """What the catalog stores about a photo: size after EXIF orientation, at full resolution."""

    width: int
    height: int
    format: str
    date_taken: str | None
    # Evidence of originality for the keeper rule (core/keeper.py): the camera that made the file and the
    # program that last wrote it, from EXIF.
    make: str | None = None
    model: str | None = None
    software: str | None = None
    # Share of the canvas the picture fills inside a uniform border, or on a screen-shaped canvas (1.0: no
    # border; a photo pasted on a phone screenshot is well below). Only known when pixels were decoded, hence
    # not compared.
    content_fraction: float | None = field(default=None, compare=False)
    # The JPEG save quality its luminance table is nearest to (None: not a JPEG): how hard it was compressed,
    # which the keeper compares instead of bytes (an exposure edit saved at 99 is twice its original's bytes).
    jpeg_quality: int | None = None
    # Pictures the file holds (a TIFF's pages, an animation's frames): only the first is indexed and compared,
    # so a file of several is never taken for a mere copy of its first.
    pictures: int = 1


# Formats whose further frames are pictures of their own; a camera JPEG's MPO preview or depth map is not.
MANY_PICTURES = {"TIFF", "GIF", "WEBP", "PNG", "HEIF", "AVIF"}


def _pictures(img: Image.Image) -> int:
    """Before the pixels are loaded (it seeks). A TIFF counts its full-resolution pages only: a thumbnail or
    reduced-resolution subfile (NewSubfileType bit 0) is not a picture of its own."""
    if img.format not in MANY_PICTURES:
        return 1
    try:
        n = int(getattr(img, "n_frames", 1) or 1)
        if img.format == "TIFF" and n > 1:
            full = 0
            for i in range(n):
                img.seek(i)
                full += not (int(img.tag_v2.get(254, 0) or 0) & 1)
            img.seek(0)
            n = full
        return max(1, n)
    except Exception:   # noqa: BLE001 - a damaged later frame: the first is what is indexed
        try:
            img.seek(0)
        except Exception:   # noqa: BLE001
            pass
        return 1


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the extension is one we decode (the scanner's cheap first filter)."""
    return is_image_name(os.path.basename(os.fspath(path)))


def is_image_name(name: str) -> bool:
    """``is_image_path`` of a bare file name, in string operations (once per file of every rescan); the
    extension as ``os.path.splitext`` reads it (leading dots are not one)."""
    stem = name.lstrip(".")
    i = stem.rfind(".")
    return i > 0 and stem[i:].lower() in IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- public API


def load_image(path: str | os.PathLike, max_side: int | None = None) -> tuple[Image.Image, ImageInfo]:
    """Decode ``path`` to RGB, EXIF-transposed; with ``max_side`` the shorter side is about max_side."""
    if _is_raw(path):
        from .decode_raw import _load_raw, _raw_or_tiff

        return _one_picture(_guard(path, lambda: _raw_or_tiff(path, lambda: _load_raw(path, max_side,
                                                                                       want_pixels=True),
                                                              lambda fp: _decode(fp, max_side))))
    return _guard(path, lambda: _with_file(path, lambda fp: _decode(fp, max_side)))


def _one_picture(decoded: tuple[Image.Image, ImageInfo]) -> tuple[Image.Image, ImageInfo]:
    decoded[1].pictures = 1   # a camera RAW's TIFF chain holds its previews and thumbnail, not other photos
    return decoded


def load_image_bytes(data: bytes, max_side: int | None = None) -> tuple[Image.Image, ImageInfo]:
    """Same as :func:`load_image` for in-memory bytes (drag and drop, paste)."""

    def work():
        if not data:
            raise DecodeError(None, "empty file")
        try:
            return _decode(io.BytesIO(data), max_side)
        except DecodeError as e:
            if not e.reason.startswith("not an image"):
                raise
            from .decode_raw import _load_raw

            try:  # not something Pillow knows: it may still be a camera RAW with a preview
                return _load_raw(io.BytesIO(data), max_side, want_pixels=True)
            except DecodeError:
                raise e from None

    return _guard(None, work)


def read_info(path: str | os.PathLike) -> ImageInfo:
    """Size, format and date from the header only (pixels are not decoded; truncation goes unnoticed)."""
    if _is_raw(path):
        from .decode_raw import _load_raw, _raw_or_tiff

        info = _guard(path, lambda: _raw_or_tiff(path, lambda: _load_raw(path, None, want_pixels=False)[1],
                                                 _info_only))
        info.pictures = 1   # a camera RAW's TIFF chain holds its previews and thumbnail, not other photos
        return info
    return _guard(path, lambda: _with_file(path, _info_only))


# --------------------------------------------------------------------------- Pillow formats


def _with_file(path, fn):
    """Open the file ourselves so missing/unreadable/empty files get precise reasons (a FIFO never blocks)."""
    with open_regular(path) as fp:
        if os.fstat(fp.fileno()).st_size == 0:
            raise DecodeError(path, "empty file")
        return fn(fp)


def _open(fp: BinaryIO) -> Image.Image:
    _register_heif()
    try:
        img = Image.open(fp)
    except UnidentifiedImageError:
        fp.seek(0)
        head = fp.read(512)
        if _looks_like_text(head):
            raise DecodeError(None, "not an image (looks like text)") from None
        raise DecodeError(None, "not an image or unsupported format") from None
    _check_bomb(img.size)
    if img.format in ("JPEG", "MPO"):
        n = _stream_size(fp)
        if n and img.width * img.height > n * _MAX_JPEG_PIXELS_PER_BYTE:
            raise DecodeError(None, f"claims {img.width}x{img.height} pixels but holds only {n} bytes "
                                    "(truncated or forged)")
    return img


def _stream_size(fp: BinaryIO) -> int:
    try:
        here = fp.tell()
        end = fp.seek(0, os.SEEK_END)
        fp.seek(here)
        return int(end)
    except (OSError, ValueError):
        return 0


def _info_only(fp: BinaryIO) -> ImageInfo:
    with _open(fp) as img:
        if img.format == "PNG" and "exif" not in img.info:
            # Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the
            # pixels; those are rare, and read_info must stay cheap.
            return ImageInfo(img.width, img.height, "PNG", None, pictures=_pictures(img))
        return _info(img, img.size, img.format or "unknown")


def _decode(fp: BinaryIO, max_side: int | None) -> tuple[Image.Image, ImageInfo]:
    with _open(fp) as img:
        full_size = img.size
        if max_side and img.format in ("JPEG", "MPO"):
            # A square request makes Pillow pick the largest DCT scale (1/2, 1/4, 1/8) that keeps
            # *both* sides >= max_side, i.e. the shorter side >= max_side whatever the orientation.
            img.draft("RGB", (max_side, max_side))
        pictures = _pictures(img)   # seeks: before the pixels are loaded
        with DECODE_BUDGET.hold(img.width * img.height):  # the size actually decoded (after draft)
            img.load()  # inside the caller's try: truncated data fails here, not later
            info = _info(img, full_size, img.format or "unknown", pictures)
            out = ImageOps.exif_transpose(img)
            out = _to_rgb(_reduce_early(out, max_side))
            out = _shrink(out, max_side)
    info.content_fraction = min(content_fraction(out), screen_fraction(out))
    return out, info


def _info(img: Image.Image, full_size: tuple[int, int], fmt: str, pictures: int | None = None) -> ImageInfo:
    """Build ImageInfo from an opened (not necessarily loaded) image and its full-resolution size."""
    w, h = full_size
    exif = img.getexif()
    if exif.get(_TAG_ORIENTATION) in _ROTATED:
        w, h = h, w
    return ImageInfo(width=w, height=h, format=fmt, date_taken=_date_taken(exif), **_camera(exif),
                     jpeg_quality=_jpeg_quality(img), pictures=_pictures(img) if pictures is None else pictures)


def _jpeg_quality(img: Image.Image) -> int | None:
    """From the header's luminance table (parsed at open: no pixels)."""
    if (img.format or "").upper() not in JPEG_FORMATS:
        return None
    try:
        tables = getattr(img, "quantization", None) or {}
        return quality(tables[0]) if 0 in tables else None
    except Exception:  # an odd table must not cost us the image
        return None


def _exif_text(exif: Image.Exif, tag: int) -> str | None:
    value = exif.get(tag)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = " ".join(value.replace("\x00", " ").split())
    return value[:100] or None


def _camera(exif: Image.Exif) -> dict:
    """EXIF Make, Model and Software as clean one-line strings (None when missing)."""
    try:
        return {"make": _exif_text(exif, _TAG_MAKE), "model": _exif_text(exif, _TAG_MODEL),
                "software": _exif_text(exif, _TAG_SOFTWARE)}
    except Exception:  # odd EXIF must not cost us the image
        return {}


def screen_fraction(img: Image.Image) -> float:
    """Share of a phone- or screen-shaped canvas that the photo on it fills, as core/trim.py locates it (1.0:
    not such a canvas, or no photo found on it). A status bar and a navigation bar of other colours, or a
    blurred backdrop, leave no uniform border for :func:`content_fraction` to measure."""
    from .trim import is_screen, located

    if not is_screen(*img.size):
        return 1.0
    found = located(img)
    return 1.0 if found is None else round(float(found[1]), 4)


def content_fraction(img: Image.Image, tolerance: int = 12) -> float:
    """Share of the canvas inside a uniform border: the four corners agree on one colour, and whole rows and
    columns of that colour around the picture are border (a screenshot or padded copy of a photo)."""
    import numpy as np

    w, h = img.size
    if w < 4 or h < 4:
        return 1.0
    px = [img.getpixel(xy) for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    px = [p if isinstance(p, tuple) else (p, p, p) for p in px]
    if max(abs(int(a) - int(b)) for p in px[1:] for a, b in zip(p[:3], px[0][:3])) > tolerance:
        return 1.0  # most photos: the corners differ, no border to look for
    small = img if max(img.size) <= 256 else img.resize(
        (max(1, img.width * 256 // max(img.size)), max(1, img.height * 256 // max(img.size))),
        Image.Resampling.NEAREST)
    a = np.asarray(small.convert("RGB"), dtype=np.int16)
    h, w = a.shape[:2]
    if h < 4 or w < 4:
        return 1.0
    corners = np.stack([a[0, 0], a[0, -1], a[-1, 0], a[-1, -1]])
    if np.abs(corners - corners[0]).max() > tolerance:
        return 1.0
    off = np.abs(a - corners[0]).max(axis=2) > tolerance  # pixels that are not border colour
    rows, cols = np.flatnonzero(off.any(axis=1)), np.flatnonzero(off.any(axis=0))
    if not len(rows):
        return 1.0  # a blank picture: nothing framed
    inside = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    return round(float(inside) / (h * w), 4)


def _date_taken(exif: Image.Exif) -> str | None:
    """EXIF DateTimeOriginal, else DateTime, as ISO-8601, to the millisecond where the camera wrote the fraction
    beside it (SubSecTimeOriginal, SubSecTime: the frames of a burst share their second); None when missing or
    nonsense."""
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
        candidates = [(ifd.get(_TAG_DATETIME_ORIGINAL), ifd.get(_TAG_SUBSEC_ORIGINAL)),
                      (exif.get(_TAG_DATETIME), ifd.get(_TAG_SUBSEC))]
    except Exception:  # a broken Exif IFD must not cost us the image
        candidates = [(exif.get(_TAG_DATETIME), None)]
    for value, sub in candidates:
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if not isinstance(value, str):
            continue
        try:
            when = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        if 1826 <= when.year <= datetime.now().year + 1:   # a camera clock never set reads 0001-01-01
            ms = _milliseconds(sub)
            return when.isoformat() if ms is None else when.replace(microsecond=ms * 1000).isoformat("T", "milliseconds")
    return None


def _milliseconds(sub) -> int | None:
    """SubSecTime's digits ("12" is 0.12 s; "00" a frame on the second) as whole milliseconds; None when absent or
    not digits."""
    if isinstance(sub, bytes):
        sub = sub.decode("ascii", "replace")
    digits = sub.strip("\x00 ")[:9] if isinstance(sub, str) else ""
    if not (digits.isascii() and digits.isdigit()):
        return None
    return min(round(int(digits) * 1000 / 10 ** len(digits)), 999)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode to RGB: transparency goes onto white, 16-bit and float data are rescaled, not clipped."""
    if img.mode == "RGB" and not img.has_transparency_data:
        return img
    if img.mode.startswith("I") or img.mode == "F":
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = arr / 257.0
        elif img.mode == "F" and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.has_transparency_data:  # RGBA, LA, PA, and P/L/RGB with a transparent colour
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB...


def _reduce_early(img: Image.Image, max_side: int | None) -> Image.Image:
    """Box-reduce a huge image in its own mode before the RGB copy: a 200 MP 1-bit PNG would otherwise
    become an 800 MB RGB image only to be shrunk to a thumbnail. The final resize is still _shrink's."""
    if not max_side or img.mode not in ("1", "L", "RGB"):
        return img
    factor = min(img.size) // (2 * max_side)
    if factor < 2:
        return img
    if img.mode == "1":
        img = img.convert("L")
    return img.reduce(factor)


def _shrink(img: Image.Image, max_side: int | None) -> Image.Image:
    """Bring the shorter side down to max_side (never up); reduce() first keeps it fast and clean."""
    if not max_side:
        return img
    w, h = img.size
    short = min(w, h)
    if short <= max_side:
        return img
    scale = max_side / short
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _check_bomb(size: tuple[int, int]) -> None:
    """Refuse huge images before decoding (Pillow itself only warns between 1x and 2x the limit)."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = size[0] * size[1]
    if limit and pixels > limit:
        raise DecodeError(None, f"image too large: {pixels / 1e6:.0f} megapixels")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:  # the cut at 512 bytes may split a character
        if e.start < len(head) - 4:
            return False
    return True


def _register_heif() -> None:
    """pillow-heif is slow to import, so its opener is registered on first use, once."""
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if not _heif_registered:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
            except ImportError:
                pass  # HEIC files then report "unsupported format"
            _heif_registered = True


# --------------------------------------------------------------------------- camera RAW


def _is_raw(path) -> bool:
    return Path(path).suffix.lower() in RAW_EXTENSIONS


# --------------------------------------------------------------------------- error boundary


def _guard(path, work):
    """Run ``work`` and translate whatever it raises into one DecodeError carrying ``path``."""
    try:
        return work()
    except DecodeError as e:
        if e.path is None and path is not None:
            raise DecodeError(path, e.reason) from e.__cause__
        raise
    except NotRegularFile as e:
        reason = e.strerror
    except FileNotFoundError:
        reason = "file not found"
    except PermissionError:
        reason = "permission denied"
    except IsADirectoryError:
        reason = "is a directory, not a file"
    except Image.DecompressionBombError as e:
        reason = _bomb_reason(e)
    except Image.DecompressionBombWarning as e:  # when warnings are turned into errors
        reason = _bomb_reason(e)
    except UnidentifiedImageError:
        reason = "not an image or unsupported format"
    except MemoryError:
        reason = "not enough memory to decode this image"
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:
        # Pillow reports truncation as OSError ("image file is truncated", "broken data stream")
        # and malformed headers as SyntaxError/ValueError and friends.
        if isinstance(e, OSError) and e.errno is not None:
            reason = f"cannot read file ({e.strerror or e})"
        elif "unsupported" in str(e).lower() or "not supported" in str(e).lower():
            reason = f"unsupported image variant ({_msg(e)})"
        else:
            reason = "truncated or corrupt image data"
    except Exception as e:  # a plugin bug must not stop a whole scan
        reason = f"cannot decode image ({type(e).__name__}: {_msg(e)})"
    raise DecodeError(path, reason) from None


def _bomb_reason(e: Exception) -> str:
    import re

    m = re.search(r"\((\d+) pixels\)", str(e))
    if m:
        return f"image too large: {int(m.group(1)) / 1e6:.0f} megapixels"
    return "image too large"


def _msg(e: Exception) -> str:
    text = e.args[0] if e.args else str(e)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text)
