"""Rebuilds off the event loop: in a daemon thread, with the cyclic garbage collector
paused while any runs (its full passes over a build's objects stalled the bot's loop)."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from bot.discord.rebuilds import GcPause, off_loop


async def test_a_rebuild_runs_in_a_daemon_thread_with_the_collector_paused() -> None:
    seen: list[tuple[bool, bool, str]] = []

    def rebuild() -> str:
        me = threading.current_thread()
        seen.append((gc.isenabled(), me.daemon, me.name))
        return "new index"

    assert gc.isenabled()
    assert await off_loop(rebuild) == "new index"
    assert seen == [(False, True, "docqa-rebuild")]
    assert gc.isenabled()  # back on once it is done


async def test_a_failed_rebuild_raises_and_restores_the_collector() -> None:
    def broken() -> None:
        raise ValueError("no documents")

    with pytest.raises(ValueError, match="no documents"):
        await off_loop(broken)
    assert gc.isenabled()


async def test_overlapping_rebuilds_share_one_pause() -> None:
    first_in, release = threading.Event(), threading.Event()
    states: list[bool] = []

    def first() -> None:
        first_in.set()
        release.wait(5)
        states.append(gc.isenabled())

    def second() -> None:
        first_in.wait(5)
        states.append(gc.isenabled())

    running = asyncio.ensure_future(off_loop(first))
    await off_loop(second)
    assert gc.isenabled() is False  # the first still runs: the collector stays off
    release.set()
    await running
    assert states == [False, False] and gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_alone() -> None:
    pause = GcPause()
    gc.disable()
    try:
        with pause:
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: not turned on behind the owner's back
    finally:
        gc.enable()
