"""Two exposures, whatever their pixels say. A burst from a tripod or a stabilised camera of a still scene
differs between frames by a shift of a percent and fresh sensor noise: to the verifier, a crop of one photo.
The camera says otherwise: each frame carries its own capture time. A copy keeps its photo's EXIF (an export,
a re-save) or loses it (a messaging app, a screenshot); it never gets a capture time of its own from the same
camera. So a "same photo" verdict between two files of one camera taken at different times is another shot: to
the fraction of a second where both files carry it (a burst takes ten frames in one second).

Only between files that read as straight from one camera: the same make, model and software (the camera's
firmware). A program that re-saved a copy usually writes its own name there, and may have rewritten the date
(EXIF DateTime, the fallback when DateTimeOriginal is gone). And not where the times differ by whole quarter
hours: that is a clock or time-zone fix applied to one copy (a travel photo shifted by 6 hours), not a second
exposure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

CLOCK_FIX = 900        # seconds: times that differ by a multiple of this were shifted, not taken apart
APART = " apart (another shot)"   # the end of a verdict's ``why`` when capture times tell the shots apart (ends
                                  # with verify.ANOTHER_SHOT, as the verifier's own second exposures do)


def seconds_apart(a, b) -> float | None:
    """Seconds between two files' capture times when both read as straight from one camera (EXIF make, model
    and software alike, and a date taken), else None. ``a``, ``b``: catalog records (or anything with
    ``date_taken``, ``camera_make``, ``camera_model``, ``software``)."""
    model_a, model_b = getattr(a, "camera_model", None), getattr(b, "camera_model", None)
    if not model_a or model_a != model_b or getattr(a, "camera_make", None) != getattr(b, "camera_make", None) \
            or getattr(a, "software", None) != getattr(b, "software", None):
        return None
    try:
        ta, tb = datetime.fromisoformat(a.date_taken), datetime.fromisoformat(b.date_taken)
    except (TypeError, ValueError):
        return None
    if not (_fraction(a.date_taken) and _fraction(b.date_taken)):
        ta, tb = ta.replace(microsecond=0), tb.replace(microsecond=0)   # one to the second only: compare seconds
    gap = abs((ta - tb).total_seconds())
    if gap.is_integer():
        return None if gap == 0 or int(gap) % CLOCK_FIX == 0 else int(gap)
    return gap


def _fraction(iso: str) -> bool:
    """The time carries the camera's fraction of a second (decode's SubSecTime), frames of a burst apart."""
    return "." in iso


def gap_words(seconds: float) -> str:
    if seconds < 10 and not float(seconds).is_integer():
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def as_taken(v, a, b):
    """The verdict ``v`` on (a, b), unless it calls them the same photo while their camera says they were
    taken apart: then a copy of it saying so (``why`` "taken 4 s apart (another shot)")."""
    if v is None or not v.same:
        return v
    gap = seconds_apart(a, b)
    if gap is None:
        return v
    return replace(v, same=False, why=f"taken {gap_words(gap)}{APART}")
