"""Camera RAW files, decoded through the preview the camera embedded: demosaicing the sensor data would be
far too slow for a scan, and the preview is the picture the camera showed. Only ``DecodeError`` leaves here,
as from ``core/decode.py``, whose helpers (EXIF, bombs, shrinking) this uses."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .decode import (_ROTATED, _TAG_ORIENTATION, ImageInfo, _camera, _check_bomb, _date_taken, _msg, _shrink,
                     _to_rgb)
from .errors import DecodeError
from .roots import open_regular


def _raw_or_tiff(path, raw_work, pillow_work):
    """Most RAW formats (DNG, NEF, CR2, ARW...) are TIFF files: when LibRaw cannot read one (or is missing)
    but Pillow reads its TIFF image, use that, still named by the RAW extension so it counts as a RAW."""
    try:
        return raw_work()
    except DecodeError as e:
        if "empty" in e.reason:
            raise
        try:
            with open(path, "rb") as fp:
                with Image.open(fp) as probe:
                    if probe.format != "TIFF":
                        raise e from None
                fp.seek(0)
                out = pillow_work(fp)
        except DecodeError:
            raise e from None
        except (OSError, SyntaxError, ValueError, UnidentifiedImageError):
            raise e from None
        info = out[1] if isinstance(out, tuple) else out
        info.format = Path(path).suffix.lstrip(".").upper()
        return out


# LibRaw's "flip" for orientations it knows; used when the embedded preview has no EXIF of its own.
_RAW_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _load_raw(source, max_side: int | None, want_pixels: bool) -> tuple[Image.Image | None, ImageInfo]:
    """Use the camera's embedded preview: demosaicing the sensor data would be far too slow."""
    try:
        import rawpy
    except ImportError:
        raise DecodeError(None, "camera RAW support (rawpy) is not installed") from None
    if isinstance(source, (str, os.PathLike)):
        # Let open() produce the precise not-found / permission / empty / not-a-file reasons.
        with open_regular(source) as fp:
            if os.fstat(fp.fileno()).st_size == 0:
                raise DecodeError(None, "empty file")
        fmt = Path(source).suffix.lstrip(".").upper()
        source = os.fspath(source)
    else:
        fmt = "RAW"
    try:
        with rawpy.imread(source) as raw:
            flip = raw.sizes.flip
            full = (raw.sizes.width, raw.sizes.height)
            thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        raise DecodeError(None, "camera RAW file has no embedded preview to decode") from None
    except rawpy.LibRawFileUnsupportedError:
        raise DecodeError(None, "not a camera RAW file or an unsupported camera") from None
    except rawpy.LibRawError as e:
        raise DecodeError(None, f"corrupt camera RAW file ({_msg(e)})") from None

    if thumb.format == rawpy.ThumbFormat.JPEG:
        preview = Image.open(io.BytesIO(thumb.data))
    else:
        preview = Image.fromarray(thumb.data)
    with preview:
        _check_bomb(preview.size)
        exif = preview.getexif()
        orientation = exif.get(_TAG_ORIENTATION, 1)
        # The preview's own EXIF wins; otherwise LibRaw's flip says how the camera was held.
        rotated = orientation in _ROTATED if orientation != 1 else flip in (5, 6)
        w, h = full if full[0] and full[1] else preview.size
        info = ImageInfo(width=h if rotated else w, height=w if rotated else h, format=fmt,
                         date_taken=_date_taken(exif), **_camera(exif))
        if not want_pixels:
            return None, info
        if max_side and preview.format == "JPEG":
            preview.draft("RGB", (max_side, max_side))
        preview.load()
        out = ImageOps.exif_transpose(preview)
        if orientation == 1 and flip in _RAW_FLIP:
            out = out.transpose(_RAW_FLIP[flip])
        out = _to_rgb(out)
    return _shrink(out, max_side), info
