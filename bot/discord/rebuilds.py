"""Index rebuilds that do not stall the bot's event loop.

The bot answers on one asyncio loop and rebuilds its indexes in a thread. Only one thread
runs Python at a time, so anything the rebuild thread does without letting go of the
interpreter stops the loop: no gateway heartbeat, no answers. At 200k chunks a full
garbage-collection pass over the objects a build makes took up to 213 ms at a time, 16
times per build (``python -m bench.loop_stall`` measures it; the README has the figures).
So a rebuild here runs with the cyclic collector paused: reference counting still frees
what the build drops, and the collector resumes when the last rebuild ends, over a heap
that is small again (the index keeps its chunks in arrays, not objects).

The thread is a daemon: a service stop does not wait minutes for a full rebuild, and the
saved index is switched with an atomic rename, so a rebuild cut short leaves the old one.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class GcPause:
    """Keeps the cyclic garbage collector off while any rebuild runs: counted, because
    the collector is one per process and rebuilds of several folders may overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._resume:
                gc.enable()


GC_PAUSE = GcPause()  # one collector per process, so one pause


async def off_loop(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a daemon thread with the collector paused; its result or error.
    Cancelling the caller leaves the thread to finish on its own."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return  # the caller was cancelled
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            with GC_PAUSE:
                outcome: tuple[Any, BaseException | None] = (work(*args), None)
        except BaseException as exc:  # handed to the caller, who decides
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:
            pass  # the loop has closed (the bot stopped while this ran)

    threading.Thread(target=run, name="docqa-rebuild", daemon=True).start()
    return await future
