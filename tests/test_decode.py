"""core.decode / core.hashing on real files written here: every format, orientation, draft mode, and
every way a file can be broken (each must become one DecodeError with a reason a user can read)."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from imgsim_desktop.core import decode
from imgsim_desktop.core.decode import (
    IMAGE_EXTENSIONS,
    ImageInfo,
    is_image_path,
    load_image,
    load_image_bytes,
    read_info,
)
from imgsim_desktop.core.errors import DecodeError
from imgsim_desktop.core.hashing import file_hash


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    """A smooth gradient plus noise: compresses like a photo, and orientation is visible in it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], axis=-1)
    arr = arr + rng.integers(-10, 10, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _check_rgb(img: Image.Image, size: tuple[int, int]) -> None:
    assert img.mode == "RGB"
    assert img.size == size


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "ext, fmt, save_kwargs",
    [
        (".jpg", "JPEG", {"quality": 90}),
        (".png", "PNG", {}),
        (".webp", "WEBP", {"quality": 90}),
        (".bmp", "BMP", {}),
        (".tif", "TIFF", {}),
        (".gif", "GIF", {}),
    ],
)
def test_formats_round_trip(tmp_path, ext, fmt, save_kwargs):
    p = tmp_path / f"img{ext}"
    _photo(64, 48).save(p, **save_kwargs)
    img, info = load_image(p)
    _check_rgb(img, (64, 48))
    assert info == ImageInfo(64, 48, fmt, None, jpeg_quality=90 if fmt == "JPEG" else None)
    assert read_info(p) == info
    assert is_image_path(p) and is_image_path(str(p).upper())


def test_heic_decodes(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    p = tmp_path / "photo.heic"
    _photo(80, 60).save(p, format="HEIF", quality=90)
    img, info = load_image(p)
    _check_rgb(img, (80, 60))
    assert info.format == "HEIF" and (info.width, info.height) == (80, 60)
    # Content survives (not a black or blank frame).
    assert abs(np.asarray(img, np.float32).mean() - np.asarray(_photo(80, 60), np.float32).mean()) < 10


def test_gif_first_frame(tmp_path):
    p = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    img, _ = load_image(p)
    r, g, b = img.getpixel((20, 15))
    assert r > 200 and g < 50 and b < 50


def test_rgba_png_composited_on_white(tmp_path):
    p = tmp_path / "alpha.png"
    arr = np.zeros((20, 30, 4), np.uint8)
    arr[:, :15] = (255, 0, 0, 255)  # opaque red on the left, fully transparent on the right
    Image.fromarray(arr, "RGBA").save(p)
    img, info = load_image(p)
    _check_rgb(img, (30, 20))
    assert img.getpixel((5, 10)) == (255, 0, 0)
    assert img.getpixel((25, 10)) == (255, 255, 255)
    assert (info.width, info.height) == (30, 20)


def test_palette_with_transparency_and_la(tmp_path):
    p = tmp_path / "pal.png"
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.save(p, transparency=0)
    img, _ = load_image(p)
    assert img.getpixel((5, 5)) == (255, 255, 255) and img.getpixel((0, 0)) == (0, 255, 0)

    p2 = tmp_path / "la.png"
    Image.new("LA", (8, 8), (100, 255)).save(p2)
    img2, _ = load_image(p2)
    assert img2.getpixel((3, 3)) == (100, 100, 100)


def test_16bit_png_is_rescaled_not_clipped(tmp_path):
    p = tmp_path / "deep.png"
    arr = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    Image.fromarray(arr).save(p)  # 16-bit grayscale PNG
    img, info = load_image(p)
    _check_rgb(img, (64, 16))
    row = np.asarray(img)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255
    assert 100 < row[32] < 160  # mid-grey stays mid-grey (a plain convert would make it white)
    assert info.format == "PNG"


def test_cmyk_and_bilevel(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(p)
    img, _ = load_image(p)
    r, g, b = img.getpixel((8, 8))
    assert r > 200 and g < 60 and b < 60
    p2 = tmp_path / "bw.bmp"
    Image.new("1", (16, 16), 1).save(p2)
    assert load_image(p2)[0].getpixel((0, 0)) == (255, 255, 255)


def test_extensions_are_lowercase_with_dot():
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)
    for ext in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tiff", ".heic", ".heif", ".cr2", ".nef",
                ".dng", ".arw", ".cr3", ".orf", ".rw2", ".raf", ".pef", ".srw"):
        assert ext in IMAGE_EXTENSIONS
    assert not is_image_path("notes.txt")


# --------------------------------------------------------------------------- orientation, draft, date


def _save_oriented(p, img, orientation, **kw):
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(p, exif=exif, **kw)


def test_exif_rotated_jpeg_is_transposed(tmp_path):
    p = tmp_path / "rot.jpg"
    src = _photo(60, 40)
    _save_oriented(p, src, 6, quality=95)
    img, info = load_image(p)
    _check_rgb(img, (40, 60))
    assert (info.width, info.height) == (40, 60)
    assert (read_info(p).width, read_info(p).height) == (40, 60)
    # Orientation 6 = rotate 90 degrees clockwise to display.
    expected = np.asarray(src.transpose(Image.Transpose.ROTATE_270), np.float32)
    assert np.abs(np.asarray(img, np.float32) - expected).mean() < 8


def test_draft_mode_reduces_large_jpeg(tmp_path):
    p = tmp_path / "big.jpg"
    _photo(3000, 2000).save(p, quality=85)
    img, info = load_image(p, max_side=128)
    assert img.mode == "RGB"
    assert 128 <= min(img.size) < 2000 // 4
    assert abs(img.size[0] / img.size[1] - 1.5) < 0.02
    # Info is about the full-resolution photo, not the reduced decode.
    assert (info.width, info.height) == (3000, 2000)

    # draft itself: the decode really happens at a DCT scale (1/8 here), short side still >= 128.
    with Image.open(p) as raw:
        raw.draft("RGB", (128, 128))
        assert raw.size == (375, 250)


def test_draft_mode_rotated_keeps_short_side(tmp_path):
    p = tmp_path / "big_rot.jpg"
    _save_oriented(p, _photo(1600, 1000), 8, quality=85)
    img, info = load_image(p, max_side=200)
    assert (info.width, info.height) == (1000, 1600)
    assert img.size[0] < img.size[1]  # portrait after transpose
    assert 200 <= min(img.size) < 1000


def test_max_side_reduces_other_formats_and_never_upscales(tmp_path):
    p = tmp_path / "wide.png"
    _photo(900, 300).save(p)
    img, info = load_image(p, max_side=100)
    assert min(img.size) == 100 and img.size[0] == 300
    assert (info.width, info.height) == (900, 300)
    small, _ = load_image(p, max_side=1000)
    assert small.size == (900, 300)


def test_date_taken_from_exif(tmp_path):
    p = tmp_path / "dated.jpg"
    exif = Image.Exif()
    exif[306] = "2019:05:06 07:08:09"
    exif.get_ifd(0x8769)[36867] = "2018:01:02 03:04:05"
    _photo(20, 20).save(p, exif=exif)
    assert read_info(p).date_taken == "2018-01-02T03:04:05"  # DateTimeOriginal wins
    assert load_image(p)[1].date_taken == "2018-01-02T03:04:05"

    p2 = tmp_path / "dt_only.jpg"
    exif2 = Image.Exif()
    exif2[306] = "2019:05:06 07:08:09"
    _photo(20, 20).save(p2, exif=exif2)
    assert read_info(p2).date_taken == "2019-05-06T07:08:09"

    p3 = tmp_path / "bad_date.jpg"
    exif3 = Image.Exif()
    exif3[306] = "0000:00:00 00:00:00"
    _photo(20, 20).save(p3, exif=exif3)
    assert read_info(p3).date_taken is None


# --------------------------------------------------------------------------- failures


def _reason(fn, *args) -> str:
    with pytest.raises(DecodeError) as ei:
        fn(*args)
    return ei.value.reason


def test_missing_file(tmp_path):
    p = tmp_path / "nope.jpg"
    for fn in (load_image, read_info, file_hash):
        assert _reason(fn, p) == "file not found"
    with pytest.raises(DecodeError) as ei:
        load_image(p)
    assert ei.value.path == str(p) and str(p) in str(ei.value)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    assert _reason(load_image, p) == "empty file"
    assert _reason(read_info, p) == "empty file"
    assert _reason(load_image_bytes, b"") == "empty file"


def test_text_file_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("shopping list: milk, eggs\n" * 20)
    assert _reason(load_image, p) == "not an image (looks like text)"
    assert _reason(read_info, p) == "not an image (looks like text)"


def test_random_bytes_not_an_image(tmp_path):
    p = tmp_path / "noise.png"
    p.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)))
    assert "not an image" in _reason(load_image, p)


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "cut.jpg"
    buf = io.BytesIO()
    _photo(400, 300).save(buf, format="JPEG", quality=90)
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert _reason(load_image, p) == "truncated or corrupt image data"
    assert _reason(load_image, p, 64) == "truncated or corrupt image data"


def test_truncated_png(tmp_path):
    p = tmp_path / "cut.png"
    buf = io.BytesIO()
    _photo(200, 200).save(buf, format="PNG")
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert _reason(load_image, p) == "truncated or corrupt image data"


def test_permission_denied(tmp_path):
    p = tmp_path / "secret.jpg"
    _photo(10, 10).save(p)
    p.chmod(0)
    try:
        try:
            open(p, "rb").close()
        except PermissionError:
            assert _reason(load_image, p) == "permission denied"
            assert _reason(file_hash, p) == "permission denied"
            return
        # Root ignores file modes (CI runs as root): check from a child that drops to an unprivileged user.
        if not hasattr(os, "setuid") or os.geteuid() != 0:
            pytest.skip("file permissions are not enforced here")
        tmp_path.chmod(0o755)
        tmp_path.parent.chmod(0o755)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: no exec, so the interpreter's own location needs no permissions
            try:
                os.close(r)
                os.setuid(65534)
                reasons = []
                for fn in (load_image, file_hash):
                    try:
                        fn(p)
                        reasons.append("decoded")
                    except DecodeError as e:
                        reasons.append(e.reason)
                os.write(w, "|".join(reasons).encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            got = f.read()
        os.waitpid(pid, 0)
        assert got == "permission denied|permission denied"
    finally:
        p.chmod(0o644)


def test_directory_is_not_an_image(tmp_path):
    d = tmp_path / "folder.jpg"
    d.mkdir()
    assert isinstance(_reason(load_image, d), str)
    assert isinstance(_reason(file_hash, d), str)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb(tmp_path, monkeypatch):
    p = tmp_path / "bomb.png"
    Image.new("RGB", (1000, 1000)).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700_000)  # between 1x and 2x: Pillow only warns
    assert _reason(load_image, p) == "image too large: 1 megapixels"
    assert _reason(read_info, p).startswith("image too large")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # over 2x: Pillow raises
    assert _reason(load_image, p).startswith("image too large")


def test_decompression_bomb_warning_as_error(tmp_path, monkeypatch):
    """Where warnings are errors (pytest -W error), Pillow raises the warning itself: still a DecodeError."""
    p = tmp_path / "bomb.png"
    Image.new("RGB", (1000, 1000)).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert _reason(load_image, p) == "image too large: 1 megapixels"


def test_default_pixel_limit_is_sane():
    assert decode.Image.MAX_IMAGE_PIXELS is not None
    assert 100_000_000 <= decode.Image.MAX_IMAGE_PIXELS <= 500_000_000


def test_fake_raw_is_a_decode_error(tmp_path):
    pytest.importorskip("rawpy")
    p = tmp_path / "IMG_0001.CR2"
    p.write_bytes(b"II*\x00" + b"\x00" * 2000)
    assert "raw" in _reason(load_image, p).lower()
    assert "raw" in _reason(read_info, p).lower()
    empty = tmp_path / "empty.nef"
    empty.write_bytes(b"")
    assert _reason(load_image, empty) == "empty file"
    assert _reason(load_image, tmp_path / "missing.dng") == "file not found"


# --------------------------------------------------------------------------- bytes and hashing


def test_load_image_bytes(tmp_path):
    buf = io.BytesIO()
    _save_oriented(buf, _photo(300, 200), 6, format="JPEG")
    img, info = load_image_bytes(buf.getvalue(), max_side=50)
    assert img.mode == "RGB" and img.size[0] < img.size[1]
    assert min(img.size) == 50
    assert (info.width, info.height, info.format) == (200, 300, "JPEG")
    with pytest.raises(DecodeError) as ei:
        load_image_bytes(b"hello, this is not an image")
    assert ei.value.path is None and ei.value.reason == "not an image (looks like text)"


def test_file_hash(tmp_path):
    a, b, c = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "c.bin"
    data = os.urandom(3 * (1 << 20) + 123)  # spans several 1 MiB chunks
    a.write_bytes(data)
    b.write_bytes(data)
    c.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert file_hash(a) == file_hash(b)
    assert file_hash(a) != file_hash(c)
    assert len(file_hash(a)) == 32 and int(file_hash(a), 16) >= 0
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert len(file_hash(empty)) == 32


def test_png_orientation_and_cheap_read_info(tmp_path):
    p = tmp_path / "rot.png"
    _save_oriented(p, _photo(50, 30), 6)
    assert (read_info(p).width, read_info(p).height) == (30, 50)
    assert load_image(p)[0].size == (30, 50)
    # read_info reads headers only: a PNG cut in the middle of its pixels still reports its size.
    cut = tmp_path / "cut.png"
    buf = io.BytesIO()
    _photo(200, 100).save(buf, format="PNG")
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert read_info(cut) == ImageInfo(200, 100, "PNG", None)


def test_is_image_path_reads_the_extension_as_splitext_does():
    import os

    from imgsim_desktop.core.decode import IMAGE_EXTENSIONS, is_image_path

    names = ["a.jpg", ".jpg", "a.JPG", "a.tar.jpg", "jpg", "a.", ".a.jpg", "..jpg", "a..jpg", "x.jpeg",
             "a.jpg.txt", "...", ".", "a.b.c", "/x/y.z/a.png", "/x/y.jpg/b", "caf\udce9.jpg", "IMG.HEIC"]
    for n in names:
        assert is_image_path(n) == (os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS), n
