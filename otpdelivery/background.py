"""Work a request hands off once its transaction has committed, so that its response does
not wait for it: one thread per process runs the callables queued to it, in order.

Only for work whose loss is repaired elsewhere: a process that dies (or is killed) drops
what is still queued. Code emails are such work: their outbox row is committed with the
change that asked for them, and `codes.tasks.queue_unsent_code_emails` queues again every
row whose task never reached the broker.
"""

import atexit
import functools
import logging
import os
import queue
import threading

from django.db import transaction

logger = logging.getLogger(__name__)

# How long a process that exits normally (a gunicorn worker recycled or stopped) waits for
# the work still queued; past that it is left to the safety net.
DRAIN_SECONDS = 5.0

_lock = threading.Lock()
_work: queue.Queue | None = None
_owner_pid: int | None = None


def run_in_background(work) -> None:
    """Queue `work()` to run soon on this process's background thread; never blocks."""
    _queue().put(work)


def delay_on_commit_in_background(task, *args) -> None:
    """task.delay_on_commit(*args), with the publish on the background thread: the answer
    does not wait on the broker. Tasks run inline (no broker) run then and there as before.
    Not for a task whose loss nothing repairs any more than before: a publish that fails
    is logged either way."""

    def publish():
        if task.app.conf.task_always_eager:
            task.delay(*args)
        else:
            run_in_background(functools.partial(task.delay, *args))

    transaction.on_commit(publish)


def wait_until_idle(timeout: float = DRAIN_SECONDS) -> bool:
    """Wait until everything queued so far has run; False if `timeout` passed first."""
    done = threading.Event()
    run_in_background(done.set)
    return done.wait(timeout)


def _queue() -> queue.Queue:
    """The queue of this process, its thread started on first use. A forked child (a
    gunicorn worker) starts its own: threads do not survive a fork."""
    global _work, _owner_pid
    pid = os.getpid()
    if _owner_pid == pid:
        return _work
    with _lock:
        if _owner_pid != pid:
            _work = queue.Queue()
            threading.Thread(
                target=_run, args=(_work,), name="otpdelivery-background", daemon=True
            ).start()
            _owner_pid = pid
    return _work


def _run(work_queue: queue.Queue) -> None:
    while True:
        work = work_queue.get()
        try:
            work()
        except Exception:
            # The work's own safety net takes over; the thread goes on with the next.
            logger.exception("Background work failed: %r", work)
        finally:
            work_queue.task_done()


@atexit.register
def _drain_on_exit() -> None:
    if _owner_pid == os.getpid() and not wait_until_idle(DRAIN_SECONDS):
        logger.warning("Background work still queued at exit is left to its safety net")
