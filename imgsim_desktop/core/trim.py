"""Find the photo inside a screenshot or a padded canvas, cheaply, before it is signed (core/signature.py).

A phone screenshot puts the photo between a status bar, app chrome and plain background; all of those are
rows (and columns) that are nearly one colour, while a photo's rows are not. The photo is the longest run
of busy rows, then the longest run of busy columns inside it (columns first on a wide screen, where a
portrait photo fills few of a row's pixels). On a tall or wide screen, a smooth backdrop under the status bar
(the photo enlarged and blurred, a colour gradient) is set aside the same way, by fine detail rather than
colour. A busy backdrop (a wallpaper) defeats both, and then the whole canvas is used: the verifier still
locates the photo there.
"""

from __future__ import annotations

import numpy as np

TOL = 12            # grey levels (max over channels) from the line's median that still count as "the same"
UNIFORM = 0.80      # a line is plain when this share of its pixels is one colour
BORDER_TOL = 12     # grey levels: a bar or border of an ordinary picture is one colour within this, line to line
GAP = 1             # busy runs may bridge this many plain lines (a thin horizon, a flat stripe)
MIN_SHARE = 0.08    # a located photo smaller than this share of the canvas is not trusted...
MIN_SHARE_CANVAS = 0.04  # ...but on a screen, or framed on every side, a photo may fill only 5 %
MAX_SHARE = 0.92    # ...and one this large is just the photo
CANVAS_ASPECT = 1.6  # a tall or wide screen (phones are 16:9 to 19.5:9)
WINDOW_ASPECT = 1.45  # a desktop window or a landscape tablet may be as square as this...
WINDOW_BARS = 0.12   # ...and is told by its status bar: one colour on top, at most this share of its height
SHARP_TOL = 10.0    # grey levels off the 3x3 mean that make a pixel "fine detail"
SHARP_LINE = 0.15   # a line with less than this share of such pixels is backdrop...
SHARP_OUTSIDE = 0.05  # ...and a backdrop has less than this share of them all around the photo
EDGE_MARGIN = 2     # lines at the edge of the busy area that are not read for fine detail


def _plain(lines: np.ndarray) -> np.ndarray:
    """(n,) bool: which lines (n, m, 3) are nearly one colour."""
    med = np.median(lines, axis=1, keepdims=True)
    close = np.abs(lines.astype(np.int16) - med.astype(np.int16)).max(axis=2) <= TOL
    return close.mean(axis=1) >= UNIFORM


def _longest_busy_run(plain: np.ndarray) -> tuple[int, int]:
    best, start, gap = (0, 0), None, 0
    for i, p in enumerate(list(plain) + [True] * (GAP + 1)):
        if not p:
            if start is None:
                start = i
            gap = 0
            end = i + 1
            if end - start > best[1] - best[0]:
                best = (start, end)
        elif start is not None:
            gap += 1
            if gap > GAP:
                start, gap = None, 0
    return best


def photo_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the photo in an (h, w, 3) uint8 canvas; the whole canvas when nothing stands out."""
    h, w = rgb.shape[:2]
    whole = (0, 0, w, h)
    if h < 16 or w < 16:
        return whole
    canvas = is_screen(w, h)
    return _locate(rgb, canvas, across=canvas and w > h)  # wide screen: columns first (see _locate)


def window_box(rgb: np.ndarray, first: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """A 3:2 or 16:10 canvas read as a desktop window too (a portrait photo there can fill so few of a row's
    pixels that every row is plain; a smooth backdrop is set aside by fine detail): the photo, when that
    reading finds one with backdrop on all four sides inside what :func:`photo_box` found (``first``, in
    ``rgb``'s pixels) under a bar-thin plain band on top; else None."""
    h, w = rgb.shape[:2]
    if h < 16 or w < 16:
        return None
    x0, y0, x1, y1 = box = _locate(rgb, True, across=True)
    if x0 > 0 and y0 > 0 and x1 < w and y1 < h and _inside(box, first) and box != first \
            and (0 < _top_bar(rgb) <= WINDOW_BARS * h or _plain(rgb).all()):   # all plain: a narrow photo
        return box
    return None


def _top_bar(rgb: np.ndarray) -> int:
    """How many rows at the top are plain and of the first row's colour (a status bar; or a photo's sky)."""
    plain = _plain(rgb)
    med = np.median(rgb, axis=1).astype(np.int16)
    n = 0
    while n < len(plain) and plain[n] and np.abs(med[n] - med[0]).max() <= BORDER_TOL:
        n += 1
    return n


def _bars(band: np.ndarray) -> bool:
    """Is this band of lines (n, m, 3) made of bars, runs of lines of one colour each (within BORDER_TOL),
    rather than a colour drifting from line to line?"""
    med = np.median(band, axis=1).astype(np.int16)          # (n, 3): each line's colour
    start = 0
    for i in range(1, len(med) + 1):
        if i == len(med) or np.abs(med[i] - med[i - 1]).max() > BORDER_TOL:   # a bar ends
            run = med[start + 1:i - 1]   # its first and last line may blend into the next bar
            if len(run) and (run.max(axis=0) - run.min(axis=0)).max() > BORDER_TOL:
                return False
            start = i
    return True


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int], tol: int = 2) -> bool:
    return a[0] >= b[0] - tol and a[1] >= b[1] - tol and a[2] <= b[2] + tol and a[3] <= b[3] + tol


def _locate(rgb: np.ndarray, canvas: bool, across: bool) -> tuple[int, int, int, int]:
    """photo_box for one reading of the canvas: a screen or not, rows or columns first (``across``: a portrait
    photo on a wide screen fills few of a row's pixels)."""
    h, w = rgb.shape[:2]
    whole = (0, 0, w, h)
    box = _busy_box(rgb, _plain, across)
    if box is None:
        return whole
    if canvas and box[1] > 0:
        # a phone's or a desktop's screen under a status bar: inside the chrome, a smooth backdrop (the photo
        # enlarged and blurred, a colour gradient) is not the photo either. Only such canvases are tried: an
        # ordinary photo's smooth sky is part of it.
        box = _sharp_box(rgb, box, across) or box
    x0, y0, x1, y1 = box
    share = (x1 - x0) * (y1 - y0) / float(w * h)
    framed = canvas or (x0 > 0 and y0 > 0 and x1 < w and y1 < h)  # backdrop on every side
    if not (MIN_SHARE_CANVAS if framed else MIN_SHARE) <= share <= MAX_SHARE:
        return whole
    if not canvas and not ((y0 > 0 and y1 < h) or (x0 > 0 and x1 < w)):
        # plain on one side only is a photo's own sky or floor, not a padded copy's border (that has two): cut
        # it away and the same photo turned grey or re-exposed is cut elsewhere, and no longer matches
        return whole
    bands = (rgb[:y0], rgb[y1:], rgb[:, :x0].transpose(1, 0, 2), rgb[:, x1:].transpose(1, 0, 2))
    if not canvas and not all(_bars(band) for band in bands if band.size):
        # a padded copy's border, a window's bars, are each one colour throughout; a blurred photo's sky and
        # snow are plain line by line but drift from line to line (cut, a blurred copy no longer matched its
        # sharp original)
        return whole
    return box


def is_screen(w: int, h: int) -> bool:
    """A tall or wide canvas: the shape of a phone's or a desktop's screen rather than a camera's frame."""
    return max(w, h) >= CANVAS_ASPECT * min(w, h)


def _busy_box(rgb: np.ndarray, plain_of, across: bool = False) -> tuple[int, int, int, int] | None:
    """The longest run of busy rows, then of busy columns inside it (``across``: columns, then rows); None
    when there is none."""
    if across:
        box = _busy_box(rgb.transpose(1, 0, 2), plain_of)
        return None if box is None else (box[1], box[0], box[3], box[2])
    y0, y1 = _longest_busy_run(plain_of(rgb))
    if y1 - y0 < 4:
        return None
    x0, x1 = _longest_busy_run(plain_of(rgb[y0:y1].transpose(1, 0, 2)))
    if x1 - x0 < 4:
        return None
    return (x0, y0, x1, y1)


def _sharp_box(rgb: np.ndarray, box: tuple[int, int, int, int], across: bool) -> tuple[int, int, int, int] | None:
    """The photo inside ``box`` when the rest of it is a smooth backdrop: the run of rows and columns with
    fine detail, kept only when what lies outside it has almost none (a dark or misty photo has little
    detail anywhere, and is left alone)."""
    x0, y0, x1, y1 = box
    sharp = _sharp_pixels(rgb[y0:y1, x0:x1])
    m = EDGE_MARGIN   # the box's own edge against the chrome (a bar's border, JPEG ringing) is not the photo
    sharp[:m], sharp[-m:], sharp[:, :m], sharp[:, -m:] = 0, 0, 0, 0
    inner = _busy_box(sharp[..., None], lambda lines: lines[..., 0].mean(axis=1) < SHARP_LINE, across)
    if inner is None:
        return None
    xa, ya, xb, yb = inner
    h, w = sharp.shape   # a run that reaches the unread margin goes on to the edge
    xa, ya = (0 if xa <= m else xa), (0 if ya <= m else ya)
    xb, yb = (w if xb >= w - m else xb), (h if yb >= h - m else yb)
    outside = sharp.sum() - sharp[ya:yb, xa:xb].sum()
    n_out = sharp.size - (yb - ya) * (xb - xa)
    if n_out <= 0 or outside > SHARP_OUTSIDE * n_out or sharp[ya:yb, xa:xb].mean() < 3 * SHARP_OUTSIDE:
        return None
    return (x0 + xa, y0 + ya, x0 + xb, y0 + yb)


def _sharp_pixels(rgb: np.ndarray) -> np.ndarray:
    """(h, w) float: 1 where a pixel differs from its 3x3 neighbourhood's mean by more than SHARP_TOL."""
    g = rgb.astype(np.float32)
    h, w = g.shape[:2]
    pad = np.pad(g, ((1, 1), (1, 1), (0, 0)), mode="edge")
    mean = sum(pad[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0
    return (np.abs(g - mean).max(axis=2) > SHARP_TOL).astype(np.float32)


def trimmed(img, work_side: int = 64):
    """The PIL image cut to :func:`photo_box` (found on a copy at most ``work_side`` pixels long, which is
    plenty for a signature and keeps this well under a millisecond; twice that on a screen or a window, where
    the photo may fill a small part), and the share of the canvas it fills."""
    found = located(img, work_side)
    if found is None:
        return img, 1.0
    box, share = found
    return img.crop(box), share


def located(img, work_side: int = 64) -> tuple[tuple[int, int, int, int], float] | None:
    """The photo's box in the PIL image's own pixels and the share of the canvas it fills, as
    :func:`trimmed` cuts it; None when the whole picture is the photo."""
    w, h = img.size
    screen = is_screen(w, h)
    small = _small(img, work_side * 2 if screen else work_side)
    sw, sh = small.shape[1], small.shape[0]
    x0, y0, x1, y1 = photo_box(small)
    box = (x0 * w / sw, y0 * h / sh, x1 * w / sw, y1 * h / sh)
    if not screen and w >= WINDOW_ASPECT * h:
        # read at the screens' finer scale: the ordinary reading keeps its own (a photo's plain sky and
        # snow read differently at 128 px than at 64)
        small = _small(img, work_side * 2)
        s2w, s2h = small.shape[1], small.shape[0]
        first = (round(x0 * s2w / sw), round(y0 * s2h / sh), round(x1 * s2w / sw), round(y1 * s2h / sh))
        win = window_box(small, first)
        if win is not None:
            sw, sh = s2w, s2h
            x0, y0, x1, y1 = win
            box = (x0 * w / sw, y0 * h / sh, x1 * w / sw, y1 * h / sh)
    if (x0, y0, x1, y1) == (0, 0, sw, sh):
        return None
    box = (int(box[0]), int(box[1]), int(round(box[2])), int(round(box[3])))
    return box, (x1 - x0) * (y1 - y0) / float(sw * sh)


def _small(img, side: int) -> np.ndarray:
    """(h, w, 3) uint8 copy at most ``side`` long, resized first (nearest: plain lines stay plain), then RGB."""
    w, h = img.size
    s = min(1.0, side / max(w, h))
    if s < 1.0:
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), 0)
    return np.asarray(img.convert("RGB"))
