"""One long call in a process of its own, so that cancelling it stops it at once.

A claims check is a single library call of minutes that reports progress only now and then;
it cannot be interrupted cooperatively, so the server runs it in a spawned child process and
terminates that process when the job is cancelled. The child sends ``("progress", (done, total))``
messages and finally ``("result", value)`` (or ``("exception", text)``) through a pipe.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable

__all__ = ["JobCancelled", "WorkerDied", "call"]


class JobCancelled(Exception):
    """The job was cancelled while it ran."""


class WorkerDied(Exception):
    """A process doing the job's work ended without an answer (killed, out of memory, crashed)."""


def call(fn: Callable, *args, cancel: threading.Event, progress: Callable[[int, int], None] | None = None,
         poll_s: float = 0.2):
    """``fn(*args, progress=...)`` in a spawned process; its return value.

    Raises :class:`JobCancelled` (after terminating the process) once ``cancel`` is set,
    :class:`WorkerDied` when the process ends without sending a result, and ``RuntimeError``
    (with the original type and message) when ``fn`` raised.
    """
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, fn, args), name="gutbrain-job", daemon=True)
    proc.start()
    sender.close()
    try:
        while True:
            if cancel.is_set():
                raise JobCancelled
            if receiver.poll(poll_s):
                try:
                    kind, payload = receiver.recv()
                except (EOFError, OSError):
                    raise WorkerDied(f"the job's process ended (exit code {_exitcode(proc)})") from None
                if kind == "result":
                    return payload
                if kind == "exception":
                    raise RuntimeError(f"in the job's process: {payload}")
                if progress is not None:
                    progress(*payload)
            elif not proc.is_alive() and not receiver.poll():
                raise WorkerDied(f"the job's process ended (exit code {_exitcode(proc)})")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        receiver.close()


def _exitcode(proc) -> int | None:
    proc.join(1)
    return proc.exitcode


def _child(conn, fn: Callable, args: tuple) -> None:
    from .worker import watch_parent

    watch_parent()
    try:
        result = fn(*args, progress=lambda done, total: conn.send(("progress", (int(done), int(total)))))
    except Exception as exc:
        conn.send(("exception", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("result", result))
    conn.close()
