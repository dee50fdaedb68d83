"""Was this JPEG compressed from that lossless file? Then the lossless file is the master.

The keeper prefers a camera's container (RAW, HEIC, JPEG) over a conversion (PNG, TIFF): a PNG export of a
camera JPEG is larger and no better. A scanner works the other way: it writes a TIFF master, and the JPEG beside
it is compressed from it (an outside try: six scans, every TIFF offered for the trash as "re-saved or
retouched" and 16 MB of masters lost to "all but keeper"). Two files of one size tell which way it went:

- a file decoded from a JPEG keeps that JPEG's quantisation lattice: its block DCT coefficients sit on
  multiples of the JPEG's table (up to the pixels' rounding). A master the JPEG was made from does not;
- and the JPEG is the master compressed: saved again with the JPEG's own tables, the master gives (nearly) the
  JPEG's pixels. A PNG edited after it was decoded (brightened, retouched) gives another picture.

Both must hold. A high-quality JPEG (steps under 3 in all but the rarest frequencies) leaves nothing to tell by:
then nothing changes, the JPEG stays the keeper.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from .jpeg_trace import JPEG_FORMATS, _ZIGZAG, _coefficients, _luma

log = logging.getLogger(__name__)

LOSSLESS_FORMATS = frozenset({"PNG", "TIFF", "BMP"})
MIN_STEP = 3          # frequencies whose table step is at least this can show a lattice over the pixels' rounding
MIN_COEFFS = 50       # ...with this many coefficients at least half a step from zero
NEAR = 0.2            # a coefficient within this share of a step from a multiple of it sits on the lattice
ON_LATTICE = 0.6      # share on the lattice (median over frequencies): decoded JPEGs ~0.9, other pictures ~0.4
MIN_FREQS = 3
SAME_PIXELS = 1.0     # mean |luma difference| between the JPEG and the master compressed again: a JPEG made from it
MAX_PIXELS = 40_000_000


def lattice_share(y: np.ndarray, table) -> float | None:
    """The median share of coefficients on the table's lattice, over the frequencies that can tell; None when
    fewer than MIN_FREQS can."""
    if y.shape[0] < 8 or y.shape[1] < 8:
        return None
    c = _coefficients(y)
    t = np.asarray(list(table), float).reshape(8, 8)
    shares = []
    for u, v in _ZIGZAG[1:]:
        q = t[u, v]
        if q < MIN_STEP:
            continue
        x = c[:, u, v] / q
        x = x[np.abs(x) >= 0.5]
        if x.size >= MIN_COEFFS:
            shares.append(float(np.mean(np.abs(x - np.rint(x)) < NEAR)))
    return float(np.median(shares)) if len(shares) >= MIN_FREQS else None


def made_from(master_path: str, jpeg_path: str) -> bool:
    """The JPEG at ``jpeg_path`` was compressed from the lossless file at ``master_path`` (never raises)."""
    try:
        with Image.open(jpeg_path) as j:
            if (j.format or "").upper() not in JPEG_FORMATS or 0 not in (getattr(j, "quantization", None) or {}):
                return False
            tables = dict(j.quantization)
            from PIL import JpegImagePlugin
            sampling = JpegImagePlugin.get_sampling(j)
            size = j.size
            if size[0] * size[1] > MAX_PIXELS:
                return False
            jy = _luma(j)
        with Image.open(master_path) as m:
            if (m.format or "").upper() not in LOSSLESS_FORMATS or m.size != size or getattr(m, "n_frames", 1) > 1:
                return False
            rgb = m.convert("RGB")
        if jy is None:
            return False
        share = lattice_share(np.asarray(rgb.convert("YCbCr").getchannel(0)), tables[0])
        if share is None or share >= ON_LATTICE:
            return False   # nothing to tell by, or decoded from a JPEG with this table: a conversion
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", qtables=tables, subsampling=sampling if sampling >= 0 else 2)
        with Image.open(buf) as again:
            ry = _luma(again)
        return ry is not None and float(np.abs(ry.astype(np.int16) - jy.astype(np.int16)).mean()) < SAME_PIXELS
    except (OSError, ValueError, SyntaxError, MemoryError, Image.DecompressionBombError) as exc:
        log.info("could not compare %s with %s (%s)", master_path, jpeg_path, exc)
        return False
