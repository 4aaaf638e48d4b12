"""SIGTERM ends a long command the way Ctrl-C does: its ``finally`` blocks run.

Python's default SIGTERM handling ends the process on the spot. For ``wirehose bench`` that left
its private Kafka broker and Elasticsearch node running (they are in their own sessions, so
nothing else stops them); for ``demo`` it orphaned the worker child; for ``replay`` it dropped
sends still in the producer's buffer without a report. ``timeout``, CI cancellation and
``kill`` all send SIGTERM, so these commands turn it into ``KeyboardInterrupt`` and clean up.
The worker and ``rss`` handle SIGTERM themselves (Faust, and a stop event) and do not use this.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

log = logging.getLogger(__name__)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    log.warning("terminating on signal=%s: cleaning up first", signal.Signals(signum).name)
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """Within this block SIGTERM raises ``KeyboardInterrupt`` in the main thread.

    SIGINT is restored to Python's default too: a command started in the background by a
    non-interactive shell inherits SIGINT ignored, which would make Ctrl-C (or ``kill -INT``)
    do nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
