"""The background thread that runs work handed off after a response (otpdelivery.background)."""

import threading
from types import SimpleNamespace

import pytest

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


class _SlowBroker:
    """A task whose publish waits until the broker answers."""

    def __init__(self, *, inline: bool):
        self.app = SimpleNamespace(conf=SimpleNamespace(task_always_eager=inline))
        self.answers = threading.Event()
        self.published = []

    def delay(self, *args):
        self.answers.wait(timeout=10)
        self.published.append(args)


@pytest.mark.django_db
def test_a_task_published_on_commit_in_the_background_does_not_keep_the_caller_waiting(
    django_capture_on_commit_callbacks,
):
    # Given a broker that is slow to take a task
    task = _SlowBroker(inline=False)

    # When a task is asked for on commit, and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        background.delay_on_commit_in_background(task, 7)

    # Then the caller goes on while the publish waits, and it goes through once answered
    assert task.published == []
    task.answers.set()
    assert background.wait_until_idle()
    assert task.published == [(7,)]


@pytest.mark.django_db
def test_a_task_run_inline_runs_at_the_commit_as_before(django_capture_on_commit_callbacks):
    task = _SlowBroker(inline=True)
    task.answers.set()

    with django_capture_on_commit_callbacks(execute=True):
        background.delay_on_commit_in_background(task, 7)

    assert task.published == [(7,)]
