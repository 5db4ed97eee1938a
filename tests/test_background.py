"""The background thread that runs work handed off after a response (otpdelivery.background)."""

import threading

from otpdelivery import background


def test_work_runs_off_the_callers_thread_in_the_order_it_was_queued():
    # Given work queued from this thread
    seen = []
    for number in range(3):
        background.run_in_background(
            lambda number=number: seen.append((number, threading.get_ident()))
        )

    # When the background thread has run it
    assert background.wait_until_idle()

    # Then each ran, in order, on another thread
    assert [number for number, _thread in seen] == [0, 1, 2]
    assert {thread for _number, thread in seen} != {threading.get_ident()}


def test_failing_work_is_logged_and_the_next_still_runs(caplog):
    # Given work that fails, then work that does not
    done = threading.Event()
    background.run_in_background(lambda: 1 / 0)
    background.run_in_background(done.set)

    # When both have had their turn
    assert background.wait_until_idle()

    # Then the failure is logged and the next one ran
    assert done.is_set()
    assert "Background work failed" in caplog.text
