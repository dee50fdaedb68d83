"""Which photo of a duplicate group to keep: the original, and a sentence saying why.

Resolution and file size alone keep the wrong file: a PNG export of a camera JPEG is larger, a screenshot
of a photo can have more pixels than the photo, a backup copy ties with the original. So evidence that a
file *is* the original comes first (camera EXIF, the camera's container, the full frame, not a screenshot,
not re-saved by an editor), and only then resolution, size within one format (only a much smaller file
loses), and the earliest date.
Two edits inflate those last two: a copy stretched along one axis has more pixels than the photo it was made
from, added noise makes the largest JPEG. So a member whose picture is stretched against most of its group
(``not_stretched``), or that carries noise another member of its size lacks (``not_noisy``), loses first.
A copy pulled down to near black (``not_darkened``, after the editing tag: a dark camera original with its
brightened edit is told by EXIF first) is never kept over the photo it hides, whatever its file time says.
Same-size JPEG copies (turned, mirrored, re-encoded) that tie on everything, file times included when they
were copied with them, are told by the JPEG's own traces (core/jpeg_trace.py): the file whose table a
re-saved copy's coefficients still carry is the one it was made from (``earlier_save``), a file re-saved
over a coarser compression is a copy (``not_resaved``), then the higher save quality wins (``quality``).
They come after the date, since none proves which file came first: a photo that is itself a re-save (saved
at 95 over a download's 92) shows the trace, and its copies saved at 92 restore that table and show none.

A scanner works the other way round from a camera: its TIFF is the master and the JPEG beside it compressed
from it; a lossless file a JPEG member was made from (core/lossless_master.py) ranks over it (``master``).
What only a group's files show (traces, masters, read-only folders) is read by core/keeper_choice.py.

A photo in a reference folder is always the keeper. The rule order is a setting (``RULES`` is the default);
evidence a group-former adds per member (``GroupMember.match``: ``inset_fraction``, ``crop_fraction``) is
used when present, file-level evidence (EXIF, format, screen-sized canvas, uniform border) otherwise.
"""

from __future__ import annotations

import time

import hashlib
import math
import os
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from .decode import RAW_EXTENSIONS

# Default order; a library may store its own (Library.set_keeper_rules).
RULES: tuple[str, ...] = ("camera", "container", "full_frame", "not_screenshot", "not_edited", "not_darkened",
                          "not_stretched",
                          "resolution", "not_noisy", "size", "date", "earlier_save", "not_resaved", "quality")
SIZE_CLOSE = 0.5      # files of one format and size at least this share of the largest one's bytes tie on size,
                      # then the oldest wins: a re-save at a higher JPEG quality, or with noise, is larger than
                      # its original (a quality-92 photo re-saved at 97: 1.67x; 2/3 kept that re-save in a
                      # real-window try); a file under half the bytes is a harder-compressed copy
QUALITY_BELOW = 10    # between JPEGs of one size whose save quality is known, that quality decides instead of bytes:
                      # saved this many points under the best is the harder-compressed copy (a re-encode at 85 of
                      # a 95 photo); closer, they tie (an exposure edit saved at 99 has twice the bytes of its
                      # quality-93 original, which bytes would have called the harder-compressed one)
STRETCH_SAME = 0.05   # |log| apart, two members show the picture in one shape (affine fits wobble by ~2 %)

RAW_FORMATS = frozenset(e.lstrip(".").upper() for e in RAW_EXTENSIONS) | {"RAW"}
_CONTAINER = {**{f: 3 for f in RAW_FORMATS}, "HEIC": 2, "HEIF": 2, "HIF": 2, "JPEG": 1, "MPO": 1}
MASTER = 1.5   # a lossless master ranks over the JPEG compressed from it, under a camera's HEIC or RAW

# Programs that re-save photos (EXIF Software); a camera's firmware or a phone's OS version is not one.
EDITORS = ("photoshop", "lightroom", "gimp", "snapseed", "affinity", "capture one", "darktable", "rawtherapee",
           "luminar", "pixelmator", "paint.net", "paintshop", "picasa", "acdsee", "digikam", "shotwell",
           "imagemagick", "graphicsmagick", "facetune", "vsco", "picsart", "canva", "photoscape", "polarr",
           "fotor", "corel", "skylum", "dxo", "photodirector", "krita", "photo editor", "photos app",
           "instagram", "whatsapp", "meitu", "lensa", "remini", "pillow", "python")

# Phone screens (short side in pixels) and common desktop screens, for telling screenshots.
_PHONE_WIDTHS = {640, 720, 750, 828, 1080, 1125, 1170, 1179, 1242, 1284, 1290, 1440, 1536, 1600}
_DESKTOP = {(1366, 768), (1280, 800), (1440, 900), (1536, 864), (1600, 900), (1680, 1050), (1920, 1080),
            (1920, 1200), (2560, 1440), (2560, 1600), (2880, 1800), (3024, 1964), (3456, 2234), (3840, 2160)}
_SCREENSHOT_NAME = re.compile(r"screen ?shot|screen_?capture|bildschirmfoto|captura de pantalla|"
                              r"capture d.[ée]cran|schermata", re.I)

PADDED_BELOW = 0.95  # a picture inside a frame filling less of its canvas is a screenshot or padded copy (a
                     # caption bar of 10 % of the photo's height leaves it 0.91 of the canvas)
CROP_BELOW = 0.95    # showing less of the other photo than this is a crop


@dataclass
class Evidence:
    """What one file shows about being the original (from the catalog record and the group's match)."""

    path: str
    format: str
    reference: bool
    camera: str | None        # "Canon EOS 80D", "camera RAW", "date taken 2021-05-01T10:00:00"
    camera_score: int         # 2: make/model or RAW, 1: only a date taken, 0: none
    container: int            # 3 RAW, 2 HEIC, 1 JPEG, 0 a conversion (PNG, WebP, TIFF...)
    crop: bool
    screenshot: str | None    # why it looks like a screenshot or padded copy
    edited_by: str | None
    pixels: int
    bytes: int
    date_key: tuple
    width: int | None
    height: int | None
    content: str = ""         # content hash: identical copies share it
    stretch: float = 1.0      # picture widened against its height, relative to the group's reference
    stretched: bool = False   # ...and unlike most of its group (set per group by ``choose_keepers``)
    noisy: bool = False       # carries noise a member of its size lacks
    darkened: bool = False    # near black where another member is not (an exposure pulled down to a few percent)
    quality: int | None = None  # the JPEG save quality (catalog ``jpeg_quality``, read from the header at scan)
    resaved: bool = False     # re-saved over an earlier, coarser JPEG compression
    earlier: bool = False     # the file (its table) a re-saved member of its size was made from
    master: bool = False      # a lossless file a JPEG member was compressed from (core/lossless_master.py)
    locked: bool = False      # in a folder that cannot be written (a read-only drive): it cannot go anyway


def _name(text: str | None) -> str:
    """An EXIF make or model as a name, or "" for junk bytes (b"\\xff\\xfe" decodes to "ÿþ": no camera)."""
    text = (text or "").strip().strip("\x00").strip()
    ok = text.isprintable() and sum(c.isascii() and c.isalnum() for c in text) >= 2
    return text if ok else ""


def camera_label(make: str | None, model: str | None) -> str | None:
    make, model = _name(make), _name(model)
    if model and make and not model.lower().startswith(make.split()[0].lower()):
        return f"{make} {model}"
    return model or make or None


def editor(software: str | None) -> str | None:
    s = (software or "").lower()
    return software if s and any(e in s for e in EDITORS) else None


def short_software(software: str) -> str:
    """"Adobe Photoshop Lightroom Classic 12.0 (Windows)" -> "Adobe Photoshop Lightroom Classic"."""
    s = re.sub(r"\s*\(.*?\)", "", software).strip()
    return re.sub(r"(\s+v?[\d][\w.]*)+$", "", s).strip() or software


def screen_sized(w: int | None, h: int | None) -> bool:
    if not w or not h:
        return False
    short, long = min(w, h), max(w, h)
    return (short in _PHONE_WIDTHS and long / short >= 1.9) or (long, short) in _DESKTOP


def screenshot_reason(rec, fmt: str, has_camera: bool, match: dict) -> str | None:
    inset = match.get("inset_fraction")
    if inset is not None and inset < PADDED_BELOW:
        return f"the photo fills {inset:.0%} of the canvas"
    if _SCREENSHOT_NAME.search(os.path.basename(str(rec.path))):
        return "named as a screenshot"
    cf = getattr(rec, "content_fraction", None)
    # the trim's guess from the file alone, where no verifier compared it with a copy: a plain sky along the
    # top reads as a border to it, and every copy of that photo then "fills 80 % of its canvas"
    if cf is not None and cf < PADDED_BELOW and "inset_fraction" not in match:
        return f"the picture fills {cf:.0%} of its canvas (a border or a screen around it)"
    if not has_camera and screen_sized(rec.width, rec.height):
        return f"screen-sized {fmt or 'image'} ({rec.width}×{rec.height}) without camera EXIF"
    return None


def plausible_date(date: str | None) -> bool:
    """A date a camera could have written: from the first photographs (1826) to next year. A clock never set
    reads 0001-01-01 and won "earliest date" over the real original (a date of catalogs made earlier, too)."""
    if not date:
        return False
    try:
        year = int(str(date)[:4])
    except ValueError:
        return False
    return 1826 <= year <= time.gmtime().tm_year + 1


def evidence(rec, reference: bool = False, match: dict | None = None) -> Evidence:
    """``rec``: a catalog FileRecord (or anything with its fields); ``match``: the group-former's evidence."""
    match = match or {}
    fmt = (rec.format or "").upper()
    make, model = getattr(rec, "camera_make", None), getattr(rec, "camera_model", None)
    cam = camera_label(make, model)
    if cam:
        score = 2
    elif fmt in RAW_FORMATS:
        cam, score = "camera RAW", 2
    elif plausible_date(rec.date_taken):
        cam, score = f"date taken {rec.date_taken}", 1
    else:
        score = 0
    crop = match.get("crop_fraction")
    size = rec.size if hasattr(rec, "size") else getattr(rec, "bytes", 0)
    return Evidence(
        path=str(rec.path), format=fmt, reference=reference, camera=cam, camera_score=score,
        container=_CONTAINER.get(fmt, 0), crop=crop is not None and crop < CROP_BELOW,
        screenshot=screenshot_reason(rec, fmt, score == 2, match),
        edited_by=editor(getattr(rec, "software", None)),
        pixels=(rec.width or 0) * (rec.height or 0), bytes=size or 0,
        # to the second: a copy that lost the camera's fraction is not earlier than its original
        date_key=(rec.date_taken[:19] if plausible_date(rec.date_taken) else "9999", getattr(rec, "mtime_ns", 0) or 0),
        width=rec.width, height=rec.height, content=getattr(rec, "hash", None) or f"path:{rec.path}",
        stretch=float(match.get("stretch", 1.0) or 1.0),
        noisy=bool(match.get("noise")), quality=getattr(rec, "jpeg_quality", None),
        darkened=bool(match.get("darkened")))


def mark_group_evidence(group: Sequence[Evidence], matches: Sequence[dict]) -> None:
    """Evidence only the whole group shows. Stretched: a member whose picture's shape is not the one most of
    the group shares (with two members neither is a majority: no one is). Noisy: the group's reference
    carries noise some member lacks (each member's own match says whether it carries noise over the
    reference). A grey copy is not marked: a black-and-white original and its tinted copy read the other way."""
    logs = [math.log(max(e.stretch, 1e-6)) for e in group]
    best = max(([j for j, y in enumerate(logs) if abs(y - x) <= STRETCH_SAME] for x in logs), key=len, default=[])
    if 2 * len(best) > len(group):
        for j, e in enumerate(group):
            e.stretched = j not in best
    for e, m in zip(group, matches):
        if m.get("reference") and any(o.get("keeper_noise") for o in matches):
            e.noisy = True
        if m.get("reference") and any(o.get("keeper_darkened") for o in matches):
            e.darkened = True


def _size_share(e: Evidence, group: Sequence[Evidence]) -> float:
    """File size relative to the largest file of the same format and pixel count: bytes compare only between
    such files (a screenshot's canvas holds more than the photo), and not with a noisy or stretched copy's
    (their bytes are what made them large), nor with a re-save over a coarser JPEG. Between JPEGs whose
    save quality is known the quality stands for the bytes: within QUALITY_BELOW of the best they tie (1.0),
    further under it the share falls below SIZE_CLOSE with the gap."""
    peers = [g for g in group if g.format == e.format and g.pixels == e.pixels
             and not (g.noisy or g.stretched or g.resaved)]
    if e.quality is not None and peers and all(g.quality is not None for g in peers):
        gap = max(g.quality for g in peers) - e.quality
        return 1.0 if gap < QUALITY_BELOW else SIZE_CLOSE * (1.0 - gap / 100.0)
    top = max((g.bytes for g in peers), default=0)
    return e.bytes / top if top else 0.0


def _rule_key(rule: str, e: Evidence, group: Sequence[Evidence]):
    """Lower is better."""
    if rule == "camera":
        return -e.camera_score
    if rule == "container":
        return -(MASTER if e.master else e.container)
    if rule == "full_frame":
        return int(e.crop)
    if rule == "not_screenshot":
        return int(e.screenshot is not None)
    if rule == "not_edited":
        return int(e.edited_by is not None)
    if rule == "not_darkened":
        return int(e.darkened)
    if rule == "earlier_save":
        return -int(e.earlier)
    if rule == "not_resaved":
        return int(e.resaved)
    if rule == "not_stretched":
        return int(e.stretched)
    if rule == "resolution":
        return -e.pixels
    if rule == "not_noisy":
        return int(e.noisy)
    if rule == "size":
        share = _size_share(e, group)
        return -1.0 if share >= SIZE_CLOSE else -share
    if rule == "date":
        return e.date_key
    if rule == "quality":
        return -(e.quality or 0)
    raise ValueError(f"unknown keeper rule {rule!r}; choose from {', '.join(RULES)}")


def check_rules(rules: Iterable[str] | None) -> tuple[str, ...]:
    """A valid rule order: known names, no repeats; rules left out keep their default place at the end."""
    if not rules:
        return RULES
    out = []
    for r in rules:
        r = r.strip().replace("-", "_")
        if r not in RULES:
            raise ValueError(f"unknown keeper rule {r!r}; choose from {', '.join(RULES)}")
        if r not in out:
            out.append(r)
    return tuple(out) + tuple(r for r in RULES if r not in out)


_BACKUP_WORDS = ("backup", "back-up", "back up", "sicherung", "copy", "copies", "archive", "old phone", ".bak")


def where_kept(path: str) -> int:
    """Among identical files: 0 in a camera's folder (DCIM), 2 in one named like a backup or a copy, else 1. A
    backup with its original's file time took the keeper from the camera folder by a shorter path."""
    folders = [p.lower() for p in os.path.dirname(str(path)).replace("\\", "/").split("/") if p]
    if "dcim" in folders:
        return 0
    return 2 if any(w in f for f in folders for w in _BACKUP_WORDS) else 1


def rank(group: Sequence[Evidence], rules: Sequence[str] = RULES) -> list[Evidence]:
    """Best first. A reference photo always comes first; of copies no rule tells apart, one that cannot be
    trashed (an outside try: two drives tied, and the read-only one's files were offered, then failed), then
    where a file lies, then the path, so the order is stable."""
    return sorted(group, key=lambda e: (not e.reference, *[_rule_key(r, e, group) for r in rules],
                                        not e.locked, where_kept(e.path), len(e.path), e.path))


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _why(rule: str, k: Evidence, group: Sequence[Evidence]) -> str:
    if rule == "camera":
        return "camera original: RAW" if k.camera == "camera RAW" else f"camera original: EXIF {k.camera}"
    if rule == "container":
        if k.master:
            return f"the {k.format} master the JPEG was compressed from"
        return f"original container: {k.format}, the others are conversions" if k.container < 3 \
            else f"original container: {k.format} (RAW)"
    if rule == "full_frame":
        return "full frame, the others are crops"
    if rule == "not_screenshot":
        return "the photo itself, not a screenshot or padded copy"
    if rule == "not_edited":
        return "unedited: no editing-software tag"
    if rule == "not_darkened":
        return "not darkened: another copy is near black"
    if rule == "earlier_save":
        return "the JPEG the other copies were re-saved from (they carry its compression)"
    if rule == "not_resaved":
        return "not re-saved: another copy carries an earlier, coarser JPEG compression"
    if rule == "not_stretched":
        return "its picture's shape is the one the other copies share (a stretched copy has more pixels)"
    if rule == "resolution":
        return f"highest resolution: {k.width}×{k.height}"
    if rule == "not_noisy":
        return "without the noise a copy of its size carries"
    if rule == "size":
        if k.quality is not None:
            return f"the least compressed {k.format or 'file'} (JPEG quality {k.quality})"
        return f"largest {k.format or 'file'} ({_fmt_bytes(k.bytes)})"
    if rule == "date":
        return f"earliest date ({k.date_key[0]})" if k.date_key[0] != "9999" else "oldest file"
    if rule == "quality":
        return f"saved at the highest JPEG quality ({k.quality})"
    return rule


def _facts(k: Evidence, others: Sequence[Evidence]) -> list[str]:
    """Evidence of originality the keeper has and some other photo lacks, in rule order."""
    out = []
    if k.camera_score and any(o.camera_score < k.camera_score for o in others):
        out.append("camera original: RAW" if k.camera == "camera RAW" else
                   f"camera original: EXIF {k.camera}" if k.camera_score == 2 else f"EXIF {k.camera}")
    if k.master:
        out.append(f"the {k.format} master the JPEG was compressed from")
    elif k.container and any(o.container < k.container for o in others):
        out.append(f"original {k.format}" + (" (camera RAW)" if k.container == 3 else ""))
    if not k.crop and any(o.crop for o in others):
        out.append("full frame")
    if k.screenshot is None and any(o.screenshot for o in others):
        out.append("not a screenshot")
    if k.edited_by is None and any(o.edited_by for o in others):
        out.append("unedited")
    if not k.darkened and any(o.darkened for o in others):
        out.append("not darkened")
    if k.earlier and any(o.resaved for o in others):
        out.append(f"the JPEG a copy was re-saved from (quality {k.quality})")
    elif not k.resaved and any(o.resaved for o in others):
        out.append("not re-saved")
    if not k.stretched and any(o.stretched for o in others):
        out.append("not stretched")
    if not k.noisy and any(o.noisy for o in others):
        out.append("not noisy")
    return out


_EVIDENCE_RULES = ("camera", "container", "full_frame", "not_screenshot", "not_edited", "not_darkened",
                   "earlier_save", "not_resaved", "not_stretched", "not_noisy")


def keeper_reason(ranked: Sequence[Evidence], rules: Sequence[str] = RULES) -> str:
    """Why ``ranked[0]`` is kept: its evidence of originality over the other photos (identical copies of it
    aside), or the rule that decided when none; and which of its identical copies it is."""
    if not ranked:
        return ""
    k = ranked[0]
    copies = [e for e in ranked[1:] if e.content == k.content]
    others = [e for e in ranked[1:] if e.content != k.content]
    parts = _facts(k, others)
    if k.reference:
        parts = ["in a reference folder: always kept"]
    elif others:
        runner = others[0]
        deciding = next((r for r in rules if _rule_key(r, k, ranked) != _rule_key(r, runner, ranked)), None)
        if deciding is None:
            # say which photo it could not be told from: "the JPEG a copy was re-saved from" that follows is
            # then read as shared with that one, not as what decided
            if k.locked and not runner.locked:
                how = "the one on a read-only drive or folder (it cannot be trashed)"
            elif where_kept(k.path) < where_kept(runner.path):
                how = "the one in the camera's folder" if where_kept(k.path) == 0 else "the one outside the backups"
            else:
                how = "the shorter path" if len(k.path) < len(runner.path) else "the first path by name"
            parts.insert(0, f"nothing tells it from {os.path.basename(runner.path)}: kept {how}")
        elif deciding not in _EVIDENCE_RULES:
            parts.insert(0, _why(deciding, k, ranked))
        elif not parts:
            parts.append(_why(deciding, k, ranked))
    text = ", ".join(parts)
    if copies:
        n = len(copies) + 1
        older = all(k.date_key[1] < c.date_key[1] for c in copies)
        placed = all(where_kept(k.path) < where_kept(c.path) for c in copies)
        note = (f"the oldest of {n} identical copies" if older else
                f"the read-only one of {n} identical copies" if k.locked and not any(c.locked for c in copies) else
                f"the one in the camera's folder of {n} identical copies" if placed and where_kept(k.path) == 0
                else f"the one outside the backups of {n} identical copies" if placed
                else f"the shortest path of {n} identical copies")
        text = f"{text}; {note}" if text else note   # lower case, as every other reason
    return text or "the only photo"


def group_id(content_keys: Iterable[str]) -> str:
    """Stable id of a group: its members' contents (hashes), sorted. A rescan keeps it; a changed,
    added or removed member gives a new one."""
    h = hashlib.sha1("\n".join(sorted(content_keys)).encode("utf-8"))
    return h.hexdigest()[:16]


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def record_key(rec) -> tuple:
    """File-level order (no group context) for the group-former's split around its best photo."""
    e = evidence(rec)
    return (-e.camera_score, -e.container, int(e.screenshot is not None), int(e.edited_by is not None),
            -e.pixels, -e.bytes, e.date_key, len(e.path), e.path)
