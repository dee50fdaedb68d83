"""A tiny orientation-aware signature, so a copy turned by 90°/180°/270°, flipped or transposed is still
proposed as a candidate (the network's descriptor scores such copies 0.2-0.4 against their original).

Embedding each photo 8 times would cost 8 network passes per photo and drop indexing below 60 photos/s.
Instead each photo keeps a 63-number signature: the low-frequency 8x8 DCT block (without DC) of its 32x32
grey thumbnail, like pHash but real-valued and unit-length (so brightness, contrast, grey and JPEG do not
move it). The DCT of a flipped or transposed image is the same block with signs flipped or transposed, so
all 8 orientations of a stored signature come for free at query time, with no decoding. The photo is first
located in its canvas (core/trim.py), so a screenshot is signed by the photo it shows.
"""

from __future__ import annotations

import numpy as np

SIG_VERSION = "dct8-trim64-v2"   # v2: the trim reads 3:2 desktop windows, smooth backdrops edge to edge
SIG_SIDE = 32
SIG_BLOCK = 8
SIG_DIM = SIG_BLOCK * SIG_BLOCK - 1
DECODE_SIDE = 64           # decode this small when a signature has to be made at grouping time
# Cosine between signatures for a candidate. On the dev bench with orientations and screenshots (3,132
# photos), 0.80 proposed 15,933 pairs of which 11,868 were copies; 0.90 proposed 10,963 with 10,852 copies
# and still paired every orientation copy with its original except 1-3 of 92 per orientation.
CANDIDATE_SIM = 0.90
CANDIDATE_K = 3


def signature(img) -> np.ndarray | None:
    """(SIG_DIM,) float32 unit vector for a PIL image, or None for a flat (near-uniform) picture."""
    import cv2

    from .trim import trimmed

    img, _ = trimmed(img)  # a screenshot is signed by the photo it shows
    grey = np.asarray(img.convert("L").resize((SIG_SIDE, SIG_SIDE), 2), dtype=np.float32)  # 2 = bilinear
    d = cv2.dct(grey)[:SIG_BLOCK, :SIG_BLOCK].reshape(-1)[1:]
    n = float(np.linalg.norm(d))
    if n < 1e-3 * SIG_SIDE * SIG_SIDE:
        return None
    return (d / n).astype(np.float32)


def _parts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u, v = np.meshgrid(np.arange(SIG_BLOCK), np.arange(SIG_BLOCK), indexing="ij")
    flat_u, flat_v = u.reshape(-1)[1:], v.reshape(-1)[1:]
    sign_x = np.where(flat_v % 2 == 1, -1.0, 1.0).astype(np.float32)   # left-right mirror
    sign_y = np.where(flat_u % 2 == 1, -1.0, 1.0).astype(np.float32)   # upside down
    pos = {(a, b): i for i, (a, b) in enumerate(zip(flat_u, flat_v))}
    transpose = np.array([pos[(b, a)] for a, b in zip(flat_u, flat_v)])
    return sign_x, sign_y, transpose


_SX, _SY, _T = _parts()


def variants(sigs: np.ndarray, only: int | None = None) -> np.ndarray:
    """(8, N, SIG_DIM): each signature in the 8 dihedral orientations (identity first: transpose, then
    left-right, then upside-down as the bits of the index); ``only``: just that one, (N, SIG_DIM)."""
    if only is None:
        return np.stack([variants(sigs, i) for i in range(8)])
    s = sigs[:, _T] if only & 4 else sigs
    if only & 2:
        s = s * _SX
    if only & 1:
        s = s * _SY
    return np.ascontiguousarray(s, dtype=np.float32)


def candidate_pairs(ids: np.ndarray, sigs: np.ndarray, min_sim: float = CANDIDATE_SIM,
                    k: int = CANDIDATE_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b, sim) as arrays, a < b, whose signatures match in some orientation (the identity
    included: a screenshot is signed by the photo located in it, which the network, seeing the whole
    canvas, can miss). Each photo, in each of its 8 orientations, asks an HNSW index of all for its ``k``
    nearest; used for a whole library at once (:mod:`.signature_pairs` keeps the result)."""
    import hnswlib

    from .neighbours import pairs_from_directed

    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    index = hnswlib.Index(space="ip", dim=SIG_DIM)
    index.init_index(max_elements=n, ef_construction=100, M=12)
    index.add_items(sigs, np.arange(n))
    kk = min(k + 1, n)
    index.set_ef(max(32, kk))
    parts_a, parts_b, parts_s = [], [], []
    rows = np.repeat(np.arange(n), kk)
    for vi in range(8):
        var = variants(sigs, only=vi)
        labels, dist = index.knn_query(var, k=kk)
        b = labels.reshape(-1).astype(np.int64)
        s = (1.0 - dist).reshape(-1).astype(np.float32)
        keep = (b != rows) & (s >= min_sim)
        parts_a.append(ids[rows[keep]])
        parts_b.append(ids[b[keep]])
        parts_s.append(s[keep])
    return pairs_from_directed(np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_s),
                               mutual=False)


def matches_against(query_ids: np.ndarray, query_sigs: np.ndarray, ids: np.ndarray, sigs: np.ndarray,
                    min_sim: float = CANDIDATE_SIM, k: int = CANDIDATE_K):
    """Directed matches (q, x, sim) of a few photos' signatures, in all 8 orientations, against a slice of
    the library by brute force: at most ``k`` per query photo and orientation, above ``min_sim``."""
    if not len(query_ids) or not len(ids):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    out_a, out_b, out_s = [], [], []
    kk = min(k + 1, len(ids))
    for vi in range(8):
        sims = variants(query_sigs, only=vi) @ sigs.T            # (q, slice)
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < len(ids) else \
            np.broadcast_to(np.arange(len(ids)), (len(query_ids), len(ids)))
        s = np.take_along_axis(sims, top, axis=1).reshape(-1)
        a = np.repeat(query_ids, top.shape[1])
        b = ids[top.reshape(-1)]
        keep = (a != b) & (s >= min_sim)
        out_a.append(a[keep])
        out_b.append(b[keep])
        out_s.append(s[keep].astype(np.float32))
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_s)


def signature_for_path(path) -> np.ndarray | None:
    """Decode small and sign; an unreadable file has no signature (it is reported by the scan, not here)."""
    from .decode import load_image
    from .errors import DecodeError

    try:
        img, _ = load_image(path, max_side=DECODE_SIDE)
    except (DecodeError, OSError):
        return None
    return signature(img)
