"""An engine that follows the documents folder: poll modification times, rebuild, swap.

Adapters hold a ``LiveIndex`` and take ``live.current`` for each question. A rebuild
makes a whole new ``Engine`` and replaces the reference in one assignment, so a question
that already took the old engine finishes on it, and no question sees half an index.
Only one rebuild runs at a time; the poll itself is a ``stat`` of every file.
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
from index.store import IndexReport, open_index, scan

log = logging.getLogger("docqa.live")

Snapshot = tuple[tuple[str, int, int], ...]


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
    ) -> None:
        self.root = root
        self.data_dir = data_dir
        self.chunking = chunking
        self.engine_config = engine_config
        self.interval = interval
        self.save = save
        self._clock = clock
        self._rebuilding = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # taken before the first build, so an edit made during it is seen at the next poll
        self._snapshot = self.snapshot()
        index, report = initial or open_index(root, data_dir, chunking, save=save)
        self._engine = Engine(index, engine_config)
        self.last_report = report
        self._last_check = clock()

    @property
    def current(self) -> Engine:
        """The engine to answer with now; keep the reference for the whole question."""
        return self._engine

    def snapshot(self) -> Snapshot:
        return tuple((f.source, f.size, f.mtime_ns) for f in scan(self.root))

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
            snapshot = self.snapshot()
            if not force and snapshot == self._snapshot:
                return None
            index, report = open_index(self.root, self.data_dir, self.chunking, save=self.save)
            self._engine = Engine(index, self.engine_config)  # the swap: one assignment
            self._snapshot = snapshot
            self.last_report = report
            return report

    def check_if_due(self) -> IndexReport | None:
        """``check()`` at most once per ``interval``; never waits for a running rebuild.

        Cheap enough to call before every question; errors are logged, not raised.
        """
        if self._clock() - self._last_check < self.interval or self._rebuilding.locked():
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
            while not self._stop.wait(self.interval):
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
        if self._thread is not None:
            self._thread.join()
            self._thread = None
