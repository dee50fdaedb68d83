"""A camera clock never set writes 0001:01:01; that date won "earliest date" over the real original (an outside
attack on the CLI). A date no photograph can have is no evidence."""

from __future__ import annotations

from imgsim_desktop.core.decode import read_info
from imgsim_desktop.core.keeper import plausible_date
from photos import scene


def _with_date(path, when: str):
    from PIL import Image

    img = scene(3, (160, 120))
    exif = Image.Exif()
    exif[271], exif[272] = "Canon", "Canon EOS 80D"
    exif.get_ifd(0x8769)[36867] = when
    img.save(path, quality=90, exif=exif.tobytes())
    return path


def test_a_date_no_camera_could_write_is_not_read(tmp_path):
    assert read_info(_with_date(tmp_path / "ok.jpg", "2019:05:01 10:00:00")).date_taken == "2019-05-01T10:00:00"
    assert read_info(_with_date(tmp_path / "year1.jpg", "0001:01:01 00:00:00")).date_taken is None
    assert read_info(_with_date(tmp_path / "far.jpg", "2999:01:01 00:00:00")).date_taken is None


def test_a_catalogued_nonsense_date_is_no_keeper_evidence():
    assert plausible_date("2019-05-01T10:00:00") and plausible_date("1900-01-01T00:00:00")
    assert not plausible_date("0001-01-01T00:00:00") and not plausible_date(None) and not plausible_date("x")
