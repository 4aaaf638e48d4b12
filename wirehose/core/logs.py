"""Logging set-up: one line per event, a phrase then ``key=value`` pairs.

Modules log with ``logging.getLogger(__name__)`` and pass context as ``key=value`` in the
message, e.g. ``log.warning("dead-lettered record topic=%s partition=%d offset=%d id=%s", ...)``.
"""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_NOISY = (
    "kafka",
    "aiokafka",
    "faust",
    "mode",
    "elastic_transport",
    "urllib3",
    "httpx",
    "trafilatura",
)


def configure(level: str = "INFO") -> None:
    """Send wirehose's logs to stderr; keep chatty libraries at WARNING unless DEBUG is asked for."""
    root = logging.getLogger()
    if not any(getattr(h, "_wirehose", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        handler._wirehose = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
