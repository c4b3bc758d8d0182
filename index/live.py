"""An engine that follows the documents folder: poll modification times, rebuild, swap.

Adapters hold a ``LiveIndex`` and take ``live.current`` for each question. A rebuild
makes a whole new ``Engine`` and replaces the reference in one assignment, so a question
that already took the old engine finishes on it, and no question sees half an index.
Only one rebuild runs at a time; the poll itself is a ``stat`` of every file, and that
scan is the one the update uses (a start scans the folder once, shared with the first
build). An answer that cites a file changed since it was indexed asks for a check at
once instead of waiting for the next poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from index.chunking import ChunkingConfig
from index.errors import DocqaError
from index.retrieval import Engine, EngineConfig, Index
from index.store import FileStat, IndexReport, open_index, scan

log = logging.getLogger("docqa.live")

Snapshot = tuple[FileStat, ...]


class LiveIndex:
    """The current engine over ``root``, rebuilt (incrementally) when files change."""

    def __init__(
        self,
        root: Path,
        data_dir: Path,
        chunking: ChunkingConfig,
        engine_config: EngineConfig | None = None,
        interval: float = 5.0,
        save: bool = True,
        initial: tuple[Index, IndexReport] | None = None,
        clock: Callable[[], float] = time.monotonic,
        embedder: object | None = None,
    ) -> None:
        self.root = root
        self.data_dir = data_dir
        self.chunking = chunking
        self.engine_config = engine_config
        self.interval = interval
        self.save = save
        self.embedder = embedder  # the semantic layer's: new chunks are embedded too
        self._clock = clock
        self._rebuilding = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        if initial is None:
            initial = open_index(root, data_dir, chunking, save=save, embedder=embedder)
        index, report = initial
        # the scan the build started from, so an edit made during it is seen at the next poll
        self._snapshot = _snapshot_of(report.files) if report.files else self.snapshot()
        self._engine = self._make_engine(index)
        self.last_report = report
        self._last_check = clock()
        self._stale_seen = False

    def _make_engine(self, index: Index) -> Engine:
        return Engine(index, self.engine_config, on_stale=self.refresh_soon)

    def refresh_soon(self) -> None:
        """A cited file changed since it was indexed: check now, not at the next poll."""
        self._stale_seen = True
        self._wake.set()

    @property
    def current(self) -> Engine:
        """The engine to answer with now; keep the reference for the whole question."""
        return self._engine

    def snapshot(self) -> Snapshot:
        return _snapshot_of(scan(self.root))

    def changed(self) -> bool:
        """Whether any file was added, removed or modified since the last build."""
        return self.snapshot() != self._snapshot

    def check(self, force: bool = False) -> IndexReport | None:
        """Rebuild and swap when files changed (or ``force``); the report, or None.

        Raises DocqaError (the folder lost every document, say); the current engine then
        stays as it was.
        """
        with self._rebuilding:
            self._last_check = self._clock()
            self._stale_seen = False
            files = scan(self.root)
            snapshot = _snapshot_of(files)
            if not force and snapshot == self._snapshot:
                return None
            index, report = open_index(
                self.root, self.data_dir, self.chunking, save=self.save, files=files,
                embedder=self.embedder,
            )
            self._engine = self._make_engine(index)  # the swap: one assignment
            self._snapshot = snapshot
            self.last_report = report
            return report

    def check_if_due(self) -> IndexReport | None:
        """``check()`` at most once per ``interval``; never waits for a running rebuild.

        Cheap enough to call before every question; errors are logged, not raised.
        """
        due = self._stale_seen or self._clock() - self._last_check >= self.interval
        if not due or self._rebuilding.locked():
            return None
        try:
            return self.check()
        except DocqaError as exc:
            log.warning("documents changed but the index was kept: %s", exc)
            return None

    def start(self, on_reload: Callable[[IndexReport], None] | None = None) -> None:
        """Poll in a background thread every ``interval`` seconds until ``stop()``."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    report = self.check()
                except DocqaError as exc:
                    log.warning("documents changed but the index was kept: %s", exc)
                    continue
                except Exception:  # a poller that dies silently would be worse
                    log.exception("reindexing failed; keeping the current index")
                    continue
                if report is not None and on_reload is not None:
                    on_reload(report)

        self._thread = threading.Thread(target=loop, name="docqa-live-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _snapshot_of(files: list[FileStat]) -> Snapshot:
    # the scan's own records (path, name, size, mtime): the same folder gives the same
    # paths, so two scans compare as their names and stats do; no copy per file
    return tuple(files)
