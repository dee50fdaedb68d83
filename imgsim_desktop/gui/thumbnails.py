"""Thumbnails off the GUI thread: a LIFO job queue on a private QThreadPool, a disk cache, a memory cache.

* ``get(path, mtime_ns)`` is called while painting. It answers from the bounded in-memory LRU of QPixmaps,
  or queues a job and returns None; ``thumbnailReady(key)`` fires when the thumbnail arrives.
* Jobs are taken newest first, and the queue is bounded: when the user scrolls fast, requests for rows that
  went off screen are dropped before they cost anything (``retain(keys)`` drops everything not visible).
* Workers decode with ``core.decode.load_image(max_side=...)`` (draft-mode JPEG) and produce a *QImage*;
  the QPixmap is made on the GUI thread. The JPEG is kept under ``<home>/thumbs/<k[:2]>/<k>.jpg`` where
  ``k`` hashes path + mtime + size, so an edited file gets a new thumbnail. Failures are remembered
  (in memory and as a ``.fail`` marker) so a broken file is not decoded again on every paint.
* The disk cache is kept under ``max_disk_bytes``: a hit touches the file, and ``prune_disk()`` (run by the
  main window soon after start) drops the least recently used thumbnails off the GUI thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from ..core.disk_cache import touch
from . import workers


def thumb_key(path: str, mtime_ns: int | None, size: int) -> str:
    return hashlib.sha1(f"{path}\0{mtime_ns or 0}\0{size}".encode("utf-8", "surrogateescape")).hexdigest()


def pil_to_qimage(img) -> QImage:
    """A PIL image (any mode) as an independent QImage. Safe on any thread."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    qimg = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    return qimg.copy()  # own the pixels: `data` goes away


class _Job(QRunnable):
    """One worker loop: keeps taking the newest pending request until the queue is empty."""

    def __init__(self, mgr: "ThumbnailManager"):
        super().__init__()
        self.setAutoDelete(True)
        self._mgr = mgr

    def run(self) -> None:
        mgr = self._mgr
        while True:
            item = mgr._take()
            if item is None:
                return
            key, path, mtime_ns = item
            img, err = mgr._produce(key, path)
            mgr._done.emit(key, img, err)


class ThumbnailManager(QObject):
    thumbnailReady = Signal(str)
    _done = Signal(str, object, object)  # key, QImage | None, error | None (worker -> GUI thread)

    def __init__(self, cache_dir: str | Path | None, size: int = 160, memory_items: int = 1500,
                 max_pending: int = 400, threads: int = 2, memory_bytes: int = 64 << 20,
                 max_disk_bytes: int = 512 << 20, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size  # logical pixels
        try:  # HiDPI screens get thumbnails at device resolution
            from PySide6.QtGui import QGuiApplication

            screen = QGuiApplication.primaryScreen()
            self.dpr = max(1.0, float(screen.devicePixelRatio())) if screen is not None else 1.0
        except Exception:
            self.dpr = 1.0
        self.pixel_size = int(round(size * self.dpr))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.memory_items = memory_items
        self.memory_bytes = memory_bytes
        self._mem_bytes = 0
        self.max_pending = max_pending
        self.max_disk_bytes = max_disk_bytes
        self.last_prune = None  # core.disk_cache.PruneResult of the last prune_disk()
        self._mem: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: dict[str, str] = {}
        self._pending: OrderedDict[str, tuple[str, int | None]] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._threads = threads
        self._active = 0
        self._closed = False
        self.decoded = 0  # counters, for tests and the status bar
        self.from_disk = 0
        self.dropped = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._pool.setExpiryTimeout(1000)
        workers.register_pool(self._pool)
        self._done.connect(self._on_done)

    # ---------------------------------------------------------------- GUI thread
    def key(self, path: str, mtime_ns: int | None) -> str:
        return thumb_key(str(path), mtime_ns, self.pixel_size)

    def get(self, path: str, mtime_ns: int | None) -> QPixmap | None:
        """The thumbnail if ready; otherwise queue it (newest first) and return None."""
        k = self.key(path, mtime_ns)
        pm = self._mem.get(k)
        if pm is not None:
            self._mem.move_to_end(k)
            return pm
        if k in self._failed or self._closed:
            return None
        with self._lock:
            if k in self._in_flight:
                return None
            self._pending[k] = (str(path), mtime_ns)
            self._pending.move_to_end(k)
            while len(self._pending) > self.max_pending:  # the oldest requests are off screen by now
                self._pending.popitem(last=False)
                self.dropped += 1
            start = self._active < self._threads
            if start:
                self._active += 1
        if start:
            self._pool.start(_Job(self))
        return None

    def failed(self, path: str, mtime_ns: int | None) -> str | None:
        return self._failed.get(self.key(path, mtime_ns))

    def retain(self, keys: set[str]) -> None:
        """Forget queued requests that are not in ``keys`` (the rows now on screen)."""
        with self._lock:
            for k in [k for k in self._pending if k not in keys]:
                del self._pending[k]
                self.dropped += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._in_flight)

    def clear_memory(self) -> None:
        self._mem.clear()
        self._mem_bytes = 0
        self._failed.clear()

    def prune_disk(self, on_done=None) -> bool:
        """Trim the disk cache to its cap in the background; ``on_done(PruneResult)`` on the GUI thread."""
        if self.cache_dir is None or self._closed:
            return False
        from ..core.disk_cache import prune

        root, cap = self.cache_dir, self.max_disk_bytes

        def done(res) -> None:
            self.last_prune = res
            if on_done is not None:
                on_done(res)

        workers.run_task(lambda: prune(root, cap), done)
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
        self._pool.waitForDone(10000)
        workers.unregister_pool(self._pool)

    @Slot(str, object, object)
    def _on_done(self, key: str, img, err) -> None:
        with self._lock:
            self._in_flight.discard(key)
        if img is None or img.isNull():
            self._failed[key] = str(err or "unreadable")
        else:
            pm = QPixmap.fromImage(img)
            pm.setDevicePixelRatio(self.dpr)
            old = self._mem.pop(key, None)
            if old is not None:
                self._mem_bytes -= old.width() * old.height() * 4
            self._mem[key] = pm
            self._mem_bytes += pm.width() * pm.height() * 4
            while len(self._mem) > 1 and (len(self._mem) > self.memory_items or self._mem_bytes > self.memory_bytes):
                _k, old = self._mem.popitem(last=False)
                self._mem_bytes -= old.width() * old.height() * 4
        self.thumbnailReady.emit(key)

    # ---------------------------------------------------------------- worker threads
    def _take(self):
        with self._lock:
            if not self._pending or self._closed:
                self._active -= 1
                return None
            key, (path, mtime) = self._pending.popitem(last=True)
            self._in_flight.add(key)
            return key, path, mtime

    def _cache_file(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.jpg"

    def _produce(self, key: str, path: str) -> tuple[QImage | None, str | None]:
        cache = self._cache_file(key)
        if cache is not None:
            if cache.exists():
                img = QImage(str(cache))
                if not img.isNull():
                    self.from_disk += 1
                    touch(cache)  # recently used: kept when the cache is pruned
                    return img, None
            fail = cache.with_suffix(".fail")
            if fail.exists():
                try:
                    return None, fail.read_text(encoding="utf-8") or "unreadable"
                except OSError:
                    return None, "unreadable"
        try:
            from ..core.decode import load_image

            pil, _info = load_image(path, max_side=self.pixel_size)
            pil.thumbnail((self.pixel_size, self.pixel_size))
            self.decoded += 1
        except Exception as e:  # DecodeError, or anything a broken file throws
            reason = getattr(e, "reason", None) or str(e) or type(e).__name__
            self._write(cache.with_suffix(".fail") if cache else None, reason.encode("utf-8"))
            return None, reason
        if cache is not None:
            try:
                import io

                buf = io.BytesIO()
                pil.save(buf, "JPEG", quality=85)
                self._write(cache, buf.getvalue())
            except Exception:
                pass
        return pil_to_qimage(pil), None

    @staticmethod
    def _write(target: Path | None, data: bytes) -> None:
        if target is None:
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError:
            pass
