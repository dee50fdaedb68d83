"""What a JPEG's own numbers say about where it came from, for the keeper of same-size copies.

Without EXIF, rotated, mirrored and re-encoded copies tie with their original on every rule but the file
time; copied with their times kept (``cp -p``, a backup, an archive) they tie on that too. Two traces tell
them apart without a second file:

- the **quality** a JPEG was saved at, read from its quantisation table (the header, no decoding). An edit
  re-saves its copy at the editor's setting; a camera writes its photo at high quality.
- a **re-save at a higher quality than an earlier save**: a decoded JPEG's block DCT coefficients sit on
  that save's quantisation lattice; saved again with a finer table on the same 8-pixel grid, they still sit
  on the coarser one, so in the new file's own units whole values are missing (the histogram of a
  frequency's coefficients has empty bins below full ones, which a photo compressed once never shows: its
  histograms fall off from zero). This is the double-quantisation trace of JPEG forensics. A rotation or
  mirror of a photo whose sides are not multiples of 8 moves the grid and leaves no trace; nor does an edit
  of the pixel values.
Measured on 400 photos of ``../shared/datasets`` shrunk (to erase the data sets' own JPEG history) and saved
at quality 70-96 (``scripts/verifier_checks/resaves.py`` builds a bench of such copies): compressed once, no
photo had 30 % of its tested frequencies with a gap (the highest: 1 of 292 at 10 %); re-saved 2-8 quality
points higher, 72 % did; re-saved at the same quality or lower, none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

TRACE_VERSION = "jpegtrace-2"   # the cache key (``photo_signatures``); bump when the measurement changes
GAP_SHARE = 0.3     # a file re-saved over a coarser JPEG: at least this share of its tested frequencies has a gap
MIN_TESTED = 5      # frequencies with enough coefficients to tell; fewer (a tiny or flat picture): no verdict
FREQS = 20          # the lowest AC frequencies in zigzag order: the ones a photo has coefficients in
MIN_BIN = 30        # coefficients in the full bin above a gap
GAP_BELOW = 0.3     # a gap: a bin holding less than this share of the next one up
MAX_BLOCKS = 65536  # blocks read from the centre of a larger picture (4 megapixels)
SOURCE_BELOW = 0.4  # a table explains a re-save's gaps below this score (see ``source_score``)
MAX_PIXELS = 64_000_000  # larger pictures give their quality only: decoding one whole costs 3 bytes a pixel

JPEG_FORMATS = frozenset({"JPEG", "JPG", "MPO"})

# The IJG (libjpeg) example luminance table, which most encoders scale by their quality setting.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], float)
_DCT = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
                 for u in range(8)])
_ZIGZAG = sorted(((u, v) for u in range(8) for v in range(8)),
                 key=lambda t: (t[0] + t[1], t[0] if (t[0] + t[1]) % 2 else t[1]))


@dataclass(frozen=True)
class Trace:
    quality: int | None = None    # the IJG quality whose luminance table is closest to the file's (1-100)
    gaps: int = 0                 # tested frequencies with an empty bin below a full one
    tested: int = 0
    table: tuple = ()             # the luminance table (64, row by row), when read
    hist: tuple = ()              # FREQS x 8 counts of |coefficient| in the file's own units (7: 7 or more)

    @property
    def resaved(self) -> bool:
        """Re-saved over an earlier, coarser JPEG compression."""
        return self.tested >= MIN_TESTED and self.gaps >= GAP_SHARE * self.tested

    def to_array(self) -> np.ndarray:
        head = [-1 if self.quality is None else self.quality, self.gaps, self.tested, len(self.table), len(self.hist)]
        return np.array(head + list(self.table) + list(self.hist), np.float32)

    @classmethod
    def from_array(cls, a) -> "Trace":
        a = np.asarray(a, np.float32)
        q, g, t = (int(x) for x in a[:3])
        nt, nh = (int(x) for x in a[3:5]) if len(a) >= 5 else (0, 0)
        table = tuple(int(x) for x in a[5:5 + nt])
        hist = tuple(int(x) for x in a[5 + nt:5 + nt + nh])
        return cls(None if q < 0 else q, g, t, table, hist)


NO_TRACE = Trace()


def _ijg_table(q: int) -> np.ndarray:
    scale = 5000 / q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)


_IJG = np.stack([_ijg_table(q) for q in range(1, 101)])
_LOG_IJG = np.log(_IJG)   # quality() runs once per JPEG a scan reads


def quality(table) -> int | None:
    """The quality setting whose scaled IJG table is nearest (a camera's own table gets its nearest one)."""
    t = np.asarray(list(table), float)
    if t.size != 64:
        return None
    return int(np.argmin(np.abs(_LOG_IJG - np.log(np.maximum(t, 1))).sum(axis=1))) + 1


def _luma(img: Image.Image) -> np.ndarray | None:
    """The decoded luminance (uint8), without a round trip through RGB (which would blur the lattice by a
    level)."""
    if img.mode == "L":
        return np.asarray(img)
    if img.mode not in ("RGB", "YCbCr"):
        return None   # CMYK, YCCK: no luminance plane to read
    img.draft("YCbCr", img.size)
    img = img if img.mode == "YCbCr" else img.convert("YCbCr")
    return np.asarray(img.getchannel(0))


def _coefficients(y: np.ndarray) -> np.ndarray:
    """Block DCT (JPEG's, orthonormal) on the file's own 8-pixel grid, of at most MAX_BLOCKS central blocks
    (cut before the float copy: a 50-megapixel photo's plane would be 200 MB as floats)."""
    bh, bw = y.shape[0] // 8, y.shape[1] // 8
    side = int(np.sqrt(MAX_BLOCKS))
    if bh * bw > MAX_BLOCKS:
        nh, nw = min(bh, side), min(bw, MAX_BLOCKS // min(bh, side))
        oy, ox = (bh - nh) // 2, (bw - nw) // 2
        y, bh, bw = y[oy * 8:(oy + nh) * 8, ox * 8:(ox + nw) * 8], nh, nw
    b = (y[:bh * 8, :bw * 8].astype(np.float32) - 128.0).reshape(bh, 8, bw, 8).transpose(0, 2, 1, 3)
    return _DCT @ b.reshape(-1, 8, 8).astype(np.float64) @ _DCT.T


def histograms(y: np.ndarray, table: np.ndarray) -> np.ndarray:
    """FREQS x 8 counts of |coefficient| in units of the file's own table (the last bin: 7 or more)."""
    if y.shape[0] < 8 or y.shape[1] < 8:
        return np.zeros((FREQS, 8), np.int64)
    k = np.abs(np.rint(_coefficients(y) / table.reshape(8, 8))).astype(np.int64)
    return np.stack([np.bincount(np.minimum(k[:, u, v], 7), minlength=8) for u, v in _ZIGZAG[1:FREQS + 1]])


def gaps(hist: np.ndarray) -> tuple[int, int]:
    """(frequencies with an empty bin below a full one, frequencies tested)."""
    found = tested = 0
    for h in hist:
        full = [j for j in range(1, 6) if h[j + 1] >= MIN_BIN]
        if not full:
            continue
        tested += 1
        found += any(h[j] < GAP_BELOW * h[j + 1] for j in full)
    return found, tested


def _reachable(r: float) -> set[int]:
    """The bins a coarser lattice (r of this file's steps) lands in."""
    return {int(np.floor(j * r + 0.5)) for j in range(int(7 / r) + 2)}


def source_score(copy: Trace, source: Trace) -> float | None:
    """How far ``copy``'s coefficients are from having been saved before with ``source``'s table: per
    frequency where that table is coarser, the mean count in the bins its lattice cannot reach over the mean
    in those it reaches (about 0.2 for the table it was saved with, the decoded pixels' rounding spilling
    into the empty bins; near 1 or more for another table), the median over frequencies, the better of the
    table as it is and turned (a rotation by 90 degrees turns the blocks). None: nothing to tell by."""
    if len(copy.table) != 64 or len(source.table) != 64 or len(copy.hist) != FREQS * 8:
        return None
    ty = np.asarray(copy.table, float).reshape(8, 8)
    hist = np.asarray(copy.hist, float).reshape(FREQS, 8)
    best = None
    tx = np.asarray(source.table, float).reshape(8, 8)
    for tx in (tx, tx.T):
        scores = []
        for h, (u, v) in zip(hist, _ZIGZAG[1:FREQS + 1]):
            r = tx[u, v] / ty[u, v]
            if r < 1.2 or h[1:7].sum() < 100:
                continue
            reach = _reachable(r)
            empty = [h[b] for b in range(1, 7) if b not in reach]
            full = [h[b] for b in range(1, 7) if b in reach]
            if empty and full:
                scores.append(np.mean(empty) / max(np.mean(full), 1e-9))
        if len(scores) >= 3:
            s = float(np.median(scores))
            best = s if best is None else min(best, s)
    return best


def sources(traces: list[Trace]) -> set[int]:
    """Which of these same-size files another one was re-saved from: for each re-saved file, the file of a
    lower quality whose table best explains its gaps (every file with that table, when several share it).
    On the resaves bench, 65 of 66 re-saved copies picked their original over the group's other copies."""
    out: set[int] = set()
    for i, y in enumerate(traces):
        if not y.resaved or y.quality is None:
            continue
        scored = [(source_score(y, x), j) for j, x in enumerate(traces)
                  if j != i and x.quality is not None and x.quality < y.quality]
        scored = [(s, j) for s, j in scored if s is not None and s < SOURCE_BELOW]
        if scored:
            low = min(s for s, _ in scored)
            best = [j for s, j in scored if s == low]
            out.update(j for j, x in enumerate(traces) if x.table and x.table == traces[best[0]].table)
    return out


def read_trace(path: str) -> Trace:
    """The file's trace; NO_TRACE for anything that is not a readable 8-bit JPEG (never raises)."""
    try:
        with Image.open(path) as img:
            if (img.format or "").upper() not in JPEG_FORMATS:
                return NO_TRACE
            tables = getattr(img, "quantization", None) or {}
            if 0 not in tables:
                return NO_TRACE
            table = np.asarray(list(tables[0]), float)
            q = quality(table)
            if img.width * img.height > MAX_PIXELS:
                return Trace(q)
            y = _luma(img)
        if y is None or table.size != 64:
            return Trace(q)
        hist = histograms(y, table)
        g, t = gaps(hist)
        return Trace(q, g, t, tuple(int(x) for x in table), tuple(int(x) for x in hist.ravel()))
    except (OSError, ValueError, SyntaxError, MemoryError, Image.DecompressionBombError) as exc:
        log.info("no JPEG trace for %s (%s)", path, exc)
        return NO_TRACE
