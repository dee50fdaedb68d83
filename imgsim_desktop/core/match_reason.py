"""How a verified copy relates to its group's keeper, for programs (``describe``) and for people (``reason``):
"same photo: cropped to 70 %, turned 90°, grey". Read from the verifier's affine (core/verify.py)."""

from __future__ import annotations

import math

import numpy as np

from .pixels import opencv
from .geometry import closer_view, frame_share
from .keeper import PADDED_BELOW
from .shots import APART
from .verify import CLOSER_WHY, HEAVY_BLUR, ORIENTATIONS, TINY_WHY, PairVerdict

STRETCH_SEEN = 0.03   # |log| of a stretch worth naming: the dev bench's aspect edits change 10 % or more;
                      # whole-pixel rounding of small copies stays within 1 %

ORIENTATION_WORDS = {
    "rot90": "turned 90° right", "rot180": "turned 180°", "rot270": "turned 90° left", "mirror": "mirrored",
    "flip": "flipped upside down", "transpose": "transposed", "transverse": "transposed the other way",
}


def describe(v: PairVerdict, a_size: tuple[int, int], b_size: tuple[int, int], exact: bool = False) -> dict:
    """Machine-readable account of b relative to a (a being the group's keeper): ``exact``, ``orientation``
    (how b was turned from a), ``crop_fraction`` (share of a that b shows), ``inset_fraction`` (share of b's
    canvas that a's picture fills; below ``keeper.PADDED_BELOW`` a padded copy or a screenshot), ``grey``,
    ``scale`` (b's linear size relative to a), ``blur`` (b's blur in its own pixels) when b is heavily blurred, ``stretch``
    (b's picture widened against its height, relative to a: 1.25 is a's picture stretched 25 % wider) when
    not 1, ``noise`` / ``keeper_noise`` (grey levels of noise b carries over a, a over b) when seen, and
    ``darkened`` / ``keeper_darkened`` when b (a) is near black where the other is not."""
    if exact:
        return {"exact": True, "orientation": "none", "crop_fraction": 1.0, "inset_fraction": 1.0,
                "grey": False, "scale": 1.0}
    out = {"exact": False, "orientation": "none", "crop_fraction": 1.0, "inset_fraction": 1.0, "grey": False,
           "scale": round(math.sqrt(max(1, b_size[0] * b_size[1]) / max(1, a_size[0] * a_size[1])), 3)}
    if v.affine is None:
        return out
    cv2 = opencv()
    m = np.asarray(v.affine, dtype=np.float64)
    (wa, ha), (wb, hb) = v.a_grey, v.b_grey
    # b -> a maps b's picture into a; the copy is "a transformed by the inverse"
    inv = cv2.invertAffineTransform(m)
    lin = inv[:, :2] / max(1e-9, math.sqrt(abs(np.linalg.det(inv[:, :2]))))
    best, bd = "none", 1e9
    for name, d in ORIENTATIONS.items():
        dist = float(np.linalg.norm(lin - np.asarray(d, dtype=np.float64)))
        if dist < bd:
            best, bd = name, dist
    out["orientation"] = best
    r = np.asarray(ORIENTATIONS[best], dtype=np.float64).T @ lin
    tilt = math.degrees(math.atan2(r[1, 0] - r[0, 1], r[0, 0] + r[1, 1]))
    if abs(tilt) >= 2.0:  # a few degrees off the dihedral map: rotated a little as well
        out["tilt"] = round(tilt, 1)
    if not v.a_framed:  # b inside a frame in a (a screenshot of b) shows all of a's picture
        out["crop_fraction"] = round(min(1.0, frame_share(m, (wb, hb), (wa, ha))), 3)
    inside_b = round(min(1.0, frame_share(inv, (wa, ha), (wb, hb))), 3)
    if v.b_framed:  # b shows a inside a frame; without one, b is a's uncropped original, not a padded copy
        out["inset_fraction"] = inside_b
    elif inside_b < 0.93:   # ... which people call the uncropped photo (a lookalike search from a crop)
        out["uncropped_fraction"] = inside_b
    st = _stretch(inv, best, (wa, ha), (wb, hb), a_size, b_size)
    if abs(math.log(st)) >= STRETCH_SEEN:
        out["stretch"] = round(st, 3)
    # a near-black picture's few grey levels, stretched, read as noise: its darkness is what it carries
    if _darkened(v.b_light, v.a_light):
        out["darkened"] = True
    elif v.b_noise:
        out["noise"] = v.b_noise
    if _darkened(v.a_light, v.b_light):
        out["keeper_darkened"] = True
    elif v.a_noise:
        out["keeper_noise"] = v.a_noise
    out["grey"] = bool(v.b_chroma < 2.0 and v.a_chroma >= 6.0 and not out.get("darkened"))   # dark: dull too
    if v.b_blur >= HEAVY_BLUR:   # blurred past its own fine detail (a tiny copy enlarged is soft too)
        out["blur"] = round(v.b_blur, 1)
    # where b's picture lies in a's (the reference), each in its own width and height (0..1): the app's
    # side-by-side view pans and zooms the two to the same detail with it (a crop and its original panned apart)
    rel = np.diag([1.0 / max(1, wa), 1.0 / max(1, ha)]) @ m @ np.diag([max(1, wb), max(1, hb), 1.0])
    out["in_reference"] = [[round(float(x), 5) for x in row] for row in rel]
    return out


DARK_LIGHT = 40.0   # a picture whose 99th grey percentile is under this is near black...
DARKER = 2.5        # ...against a copy this many times as light: an exposure pulled down to a few percent
                    # (a night shot with lit windows reaches 200; an underexposed photo, 80-120)


def _darkened(light: float, other: float) -> bool:
    return 0.0 < other and light < DARK_LIGHT and other >= DARKER * max(light, 1.0)


def _stretch(inv: np.ndarray, orientation: str, a_grey, b_grey, a_size, b_size) -> float:
    """b's scale across over its scale down, in a's axes and full pixels (the grey pictures were shrunk
    alike on both axes, but to whole pixels: their sizes' ratios are not used when a file's size disagrees)."""
    def per_axis(grey, size):
        sx, sy = size[0] / max(1, grey[0]), size[1] / max(1, grey[1])
        return (sx, sy) if abs(math.log(max(sx, 1e-9) / max(sy, 1e-9))) < 0.05 else (1.0, 1.0)
    ax, ay = per_axis(a_grey, a_size)
    bx, by = per_axis(b_grey, b_size)
    lin = np.diag([bx, by]) @ np.asarray(inv, dtype=np.float64)[:, :2] @ np.diag([1 / ax, 1 / ay])
    r = np.asarray(ORIENTATIONS[orientation], dtype=np.float64).T @ lin
    sx, sy = float(np.linalg.norm(r[:, 0])), float(np.linalg.norm(r[:, 1]))
    return sx / sy if sx > 0 and sy > 0 else 1.0


def reason(match: dict, keeper: bool = False) -> str:
    """A sentence for people: "same photo: cropped to 70 %, turned 90°, grey"."""
    if keeper:
        return "kept: the original" if not match.get("exact") else "kept"
    if match.get("exact"):
        return "exact copy"
    parts = []
    cf, inset = match.get("crop_fraction", 1.0), match.get("inset_fraction", 1.0)
    if inset < PADDED_BELOW:
        parts.append(f"shown inside a larger picture ({round(inset * 100)} % of it): a screenshot or padded copy")
    if cf < 0.93:
        parts.append(f"cropped to {round(cf * 100)} % of the picture")   # an area: 60 % a side reads 36 %
    if match.get("uncropped_fraction", 1.0) < 0.93:
        parts.append(f"uncropped: the other shows {round(match['uncropped_fraction'] * 100)} % of it")
    o = match.get("orientation", "none")
    if o != "none":
        parts.append(ORIENTATION_WORDS.get(o, o))
    if match.get("tilt"):
        parts.append("rotated slightly")
    if match.get("grey"):
        parts.append("grey")
    if match.get("blur"):
        parts.append("blurred")
    st = match.get("stretch", 1.0)
    if st != 1.0:
        parts.append(f"stretched {round(st * 100)} % wide" if st > 1 else f"squeezed to {round(st * 100)} % wide")
    if match.get("noise"):
        parts.append("noisier")
    if match.get("darkened"):
        parts.append("darkened to near black")
    sc = match.get("scale", 1.0)
    if not parts and sc < 0.9:
        parts.append(f"smaller ({round(sc * 100)} % as wide)")   # not "of the size": read as bytes
    elif not parts and sc > 1 / 0.9:   # a search from a thumbnail: its original (an outside try read "re-saved")
        parts.append(f"larger ({sc:.1f}x as wide)")
    if match.get("editor"):
        parts.append(f"saved by {match['editor']}")
    if not parts:
        parts.append("re-saved or retouched")
    return "same photo: " + ", ".join(parts)


# The verifier's reasons for "not the same photo" (core/verify.py), as a similar-tier member shows them: the
# "similar" tier groups by likeness alone, so each member says whether deleting it loses a shot of its own.
NOT_SAME_WORDS = {   # why -> (kind, words); short: a tile's caption holds about 25 characters
    "part of the picture moved (another shot)": ("another shot", "another shot: subject moved"),
    "the camera moved between shots (another shot)": ("another shot", "another shot: camera moved"),
    "overlapping frames, each with much the other lacks": ("another shot", "another shot: frames differ"),
    "too little overlap": ("another shot", "another shot: little overlap"),
    "no geometric match": ("not the same photo", "not the same photo"),
    "the fine detail differs after alignment": ("not the same photo", "not the same photo: detail differs"),
    "": ("not the same photo", "not the same photo: detail differs"),
    TINY_WHY: ("too plain", "too small to be sure"),   # the verifier could not tell, as with a plain pair
    CLOSER_WHY: ("another shot", "closer view: more detail"),   # zoomed in, or cut from a larger original
}
WIDER_WORDS = "wider view: less detail"   # the other side of a closer view: the keeper is the close-up
TOO_PLAIN = "too plain to compare"


def similar_match(v: PairVerdict | None, a_size: tuple[int, int], b_size: tuple[int, int],
                  exact: bool = False, error: str | None = None) -> tuple[dict, str]:
    """A similar-tier member against its group's keeper: the ``match`` for programs (``same_photo`` true,
    false or None when not compared; ``kind``: "same photo", "another shot", "not the same photo", "too
    plain" or "not compared"; ``why``: the verifier's reason, or ``error``: why either photo could not be
    read) and the sentence for people."""
    if exact or (v is not None and v.same):
        match = describe(v, a_size, b_size, exact=exact)
        return {**match, "same_photo": True, "kind": "same photo", "why": "exact copy" if exact else v.why}, \
            reason(match)
    if v is None:
        from .catalog import CHANGED

        error = error or "unreadable"
        words = "changed since indexed" if error == CHANGED else \
            "file is gone" if "No such file" in error else "unreadable"
        return {"same_photo": None, "kind": "not compared", "why": "not compared", "error": error}, \
            f"not compared: {words}"
    if v.why.endswith(APART):   # core/shots.py: "taken 4 s apart (another shot)"
        return {"same_photo": False, "kind": "another shot", "why": v.why}, f"another shot: {v.why[:-len(APART)]} apart"
    plain = ("too plain", TOO_PLAIN) if v.why.startswith("too little") else \
        ("not the same photo", f"not the same photo: {v.why}")
    kind, words = NOT_SAME_WORDS.get(v.why, plain)
    if v.why == CLOSER_WHY and v.affine is not None and \
            closer_view(np.asarray(v.affine, np.float64), v.a_grey, a_size, v.b_grey, b_size) == "b":
        words = WIDER_WORDS
    return {"same_photo": False, "kind": kind, "why": v.why}, words
