"""The collector pause around a batch: nested and concurrent blocks restore its state."""

from __future__ import annotations

import gc
import threading

from serving.memory import collection_paused


def test_collection_is_paused_inside_and_restored_after_nested_blocks() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_last_of_overlapping_threads_restores_collection() -> None:
    inside = threading.Barrier(2)
    leave = threading.Event()

    def batch() -> None:
        with collection_paused():
            inside.wait()
            leave.wait(5)

    other = threading.Thread(target=batch)
    other.start()
    with collection_paused():
        inside.wait()
    assert not gc.isenabled()  # the other thread's batch is still being answered
    leave.set()
    other.join()
    assert gc.isenabled()
