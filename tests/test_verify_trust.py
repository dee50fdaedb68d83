"""Verdicts a user can trust with the trash: what an outside attack on the verifier found (2 December).

- A photo rewritten after it was indexed must not be verified: its verdict would be stored under the content
  the catalog holds for it and trusted for that content ever after (a copy verified once, the original put
  back, and two different photos stayed "the same photo").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from imgsim_desktop.core.library import Library
from imgsim_desktop.core.pair_verifier import CHANGED
from photos import scene


def names(groups) -> list[set[str]]:
    return [{os.path.basename(m.path) for m in g.members} for g in groups]


def test_a_photo_rewritten_after_indexing_is_left_out_not_judged_under_its_old_content(tmp_path, tiny_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    a, b = photos / "a.jpg", photos / "b.jpg"
    scene(1, (480, 360)).save(a, quality=92)
    scene(2, (480, 360)).save(b, quality=92)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        original, st = b.read_bytes(), b.stat()
        shutil.copyfile(a, b)                                   # b is briefly a copy of a...
        os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        # every neighbour a candidate: the two are asked about whatever the random test model thinks
        assert {"a.jpg", "b.jpg"} not in names(lib.duplicates("duplicates", threshold=-1.0))
        assert lib.last_verification["skipped"] == [(str(b), CHANGED)]

        b.write_bytes(original)                                 # ...and is put back as it was indexed
        os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert {"a.jpg", "b.jpg"} not in names(lib.duplicates("duplicates", threshold=-1.0))
        assert lib.last_verification["skipped"] == []

        shutil.copyfile(a, b)                                   # a real copy, indexed: one group
        lib.scan([photos])
        assert {"a.jpg", "b.jpg"} in names(lib.duplicates("duplicates", threshold=-1.0))


def test_dupes_says_which_photos_it_left_out(tmp_path, tiny_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        scene(i, (320, 240)).save(photos / f"p{i}.jpg", quality=90)
    env = dict(os.environ, IMGSIM_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")

    def imgsim(*args):
        return subprocess.run([sys.executable, "-m", "imgsim_desktop", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=120)

    assert imgsim("index", photos, "--model", tiny_model).returncode == 0
    scene(7, (320, 240)).save(photos / "p1.jpg", quality=70)   # rewritten, not indexed again
    out = imgsim("dupes", "--threshold", "-1", "--json", "--model", tiny_model)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["skipped"] == [{"path": str(photos / "p1.jpg"), "reason": CHANGED}]
    text = imgsim("dupes", "--threshold", "-1", "--model", tiny_model)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert f"not verified, left out of the groups: {photos / 'p1.jpg'}: {CHANGED}" in text.stderr
