"""What a rerun of `dupes` reads instead of recomputing (issues 10 and 13): the orientation-signature pairs and
each candidate pair's verdict, both kept in the catalog by file id and following every change of the
library: a new photo costs only its own pairs, a changed photo loses its old verdicts, a removed one its
rows."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imgsim_desktop.core import signature_pairs
from imgsim_desktop.core.library import Library
from imgsim_desktop.core.progress import Progress
from imgsim_desktop.core.verdicts import load_checks, lookup_checks
from photos import scene


def as_set(pairs) -> set[tuple[int, int]]:
    return set(zip(pairs[0].tolist(), pairs[1].tolist()))


class Phases(Progress):
    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def on_update(self, s):
        self.seen.add(s.phase)


def groups_of(lib: Library) -> list[set[str]]:
    return [{m.path.rsplit("/", 1)[-1] for m in g.members} for g in lib.duplicates("duplicates")]


def ids_in(lib: Library, table: str) -> set[int]:
    rows = lib.catalog.conn.execute(f"SELECT a, b FROM {table}").fetchall()
    return {x for r in rows for x in r}


def test_signature_pairs_are_stored_and_follow_new_and_removed_photos(tmp_path, tiny_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(8):
        scene(i).save(photos / f"s{i}.jpg", quality=90)
    scene(3).transpose(Image.Transpose.ROTATE_90).save(photos / "s3_turned.jpg", quality=90)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        first = Phases()
        lib.duplicates("duplicates", progress=first)
        assert "signatures" in first.seen  # no table yet: matched whole
        assert signature_pairs.is_current(lib.catalog)
        stored = as_set(signature_pairs.stored_pairs(lib.catalog))
        assert stored == as_set(signature_pairs.computed_pairs(lib.catalog))
        ids = {r.path.rsplit("/", 1)[-1]: r.id for r in lib.catalog.all_files()}
        assert (ids["s3.jpg"], ids["s3_turned.jpg"]) in stored

        # a new turned copy: matched on its own against the library, not the whole table again
        scene(5).transpose(Image.Transpose.TRANSPOSE).save(photos / "s5_transposed.jpg", quality=90)
        lib.scan([photos])
        again = Phases()
        lib.duplicates("duplicates", progress=again)
        assert "signatures" not in again.seen
        ids = {r.path.rsplit("/", 1)[-1]: r.id for r in lib.catalog.all_files()}
        stored = as_set(signature_pairs.stored_pairs(lib.catalog))
        assert (ids["s5.jpg"], ids["s5_transposed.jpg"]) in stored
        assert stored == as_set(signature_pairs.computed_pairs(lib.catalog))

        # a removed photo takes its pairs along
        gone = ids["s3_turned.jpg"]
        (photos / "s3_turned.jpg").unlink()
        lib.scan([photos])
        lib.duplicates("duplicates")
        assert gone not in ids_in(lib, "sig_edges") and gone not in ids_in(lib, "pair_checks")
        assert as_set(signature_pairs.stored_pairs(lib.catalog)) == as_set(signature_pairs.computed_pairs(lib.catalog))


def test_a_rerun_reads_verdicts_by_file_id_and_a_changed_photo_is_judged_again(tmp_path, tiny_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        scene(10 + i).save(photos / f"s{i}.jpg", quality=90)
    scene(10).resize((360, 270)).save(photos / "s0_small.jpg", quality=80)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        first = groups_of(lib)
        assert {"s0.jpg", "s0_small.jpg"} in first
        v1 = dict(lib.last_verification)
        assert v1["checked_before"] == 0 and v1["verified_now"] > 0

        again = groups_of(lib)
        v2 = dict(lib.last_verification)
        assert again == first
        # everything was decided and nothing changed: only the same-photo pairs are read
        assert v2["decided_before"] and v2["verified_now"] == 0 and v2["checked_before"] == v2["candidates"] > 0
        assert v2["candidates"] < v1["candidates"]

        # the copy becomes a different photo: its old "same photo" verdict must not survive
        small = next(r.id for r in lib.catalog.all_files() if r.path.endswith("s0_small.jpg"))
        scene(99).save(photos / "s0_small.jpg", quality=80)
        lib.scan([photos])
        third = groups_of(lib)
        assert not any("s0_small.jpg" in g for g in third)
        v3 = dict(lib.last_verification)
        assert not v3["decided_before"]
        assert 0 < v3["verified_now"] < v1["candidates"]  # only the changed photo's pairs
        checks = load_checks(lib.catalog)
        rows = lookup_checks(checks, *np.array([(min(small, x), max(small, x)) for x in range(1, small + 8)
                                                if x != small]).T)
        assert (rows != 1).all()


def test_checks_lookup_finds_each_pair_and_only_those():
    checks = (np.array([1, 1, 4], np.int64), np.array([2, 7, 5], np.int64), np.array([1, 0, 1], np.int8))
    got = lookup_checks(checks, np.array([1, 1, 4, 2, 1, 9]), np.array([2, 7, 5, 3, 3, 10]))
    assert got.tolist() == [1, 0, 1, -1, -1, -1]
    assert lookup_checks((np.zeros(0, np.int64),) * 2 + (np.zeros(0, np.int8),), np.array([1]),
                         np.array([2])).tolist() == [-1]


def test_a_query_only_process_saves_its_verdicts_when_no_one_writes(tmp_path, tiny_model):
    """`imgsim dupes` opens the library for reading; with no writer about, its work is kept for the next run,
    and with a writer holding the library it still answers, saving nothing."""
    from imgsim_desktop.core.library import open_for_query

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        scene(40 + i).save(photos / f"s{i}.jpg", quality=90)
    scene(40).transpose(Image.Transpose.ROTATE_180).save(photos / "s0_turned.jpg", quality=90)
    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        with open_for_query(tmp_path / "lib", model_path=tiny_model) as busy:  # the writer is still open
            assert {"s0.jpg", "s0_turned.jpg"} in groups_of(busy)
            assert busy.last_verification["verified_now"] > 0
    for run in range(2):
        with open_for_query(tmp_path / "lib", model_path=tiny_model) as lib:
            assert lib.readonly
            assert {"s0.jpg", "s0_turned.jpg"} in groups_of(lib)
            v = dict(lib.last_verification)
        if run == 0:
            assert v["verified_now"] > 0 and v["checked_before"] == 0
        else:
            assert v["decided_before"] and v["verified_now"] == 0 and v["checked_before"] == v["candidates"] > 0


def test_grouping_reports_its_verification_and_a_cancel_keeps_what_was_verified(tmp_path, tiny_model):
    import pytest

    from imgsim_desktop.core.errors import Cancelled
    from imgsim_desktop.core.progress import CancelToken

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        scene(60 + i).save(photos / f"s{i}.jpg", quality=90)
    scene(60).resize((360, 270)).save(photos / "s0_small.jpg", quality=80)
    token = CancelToken()
    seen = []

    class StopAfterThree(Progress):
        def advance(self, n=1, failed=0, message=""):
            super().advance(n, failed, message)
            if self.state.phase == "verifying":
                seen.append(self.state.total)
                if len(seen) == 3:
                    token.cancel()

    with Library(tmp_path / "lib", model_path=tiny_model, workers=1) as lib:
        lib.scan([photos])
        with pytest.raises(Cancelled):
            lib.duplicates("duplicates", progress=StopAfterThree(), cancel=token)
        assert len(seen) == 3 and seen[0] > 3          # a total to show, and it stopped where asked
        assert len(load_checks(lib.catalog)[0]) >= 2    # the pairs verified before the cancel are kept
        groups = groups_of(lib)
        v = dict(lib.last_verification)
        assert {"s0.jpg", "s0_small.jpg"} in groups
        assert v["checked_before"] >= 2 and v["verified_now"] <= seen[0] - 2
