"""Post alert deliveries to webhooks: what ``wirehose alerts deliver`` runs.

A consumer of ``WIREHOSE_TOPIC_ALERTS`` in its own group. Each delivery with a webhook is
posted as JSON (``Delivery.payload``) with its id in the ``Idempotency-Key`` header, through
the same guarded client as every other outbound fetch (``producers.fetch.make_client``: public
addresses only unless ``WIREHOSE_FETCH_ALLOW`` says otherwise, no environment proxy, timeouts).
Redirects are not followed: a webhook that moved is a setting to fix, not a hop to take.

Retries: a timeout, a refused connection, 408, 425, 429 or a 5xx is tried again, up to
``WIREHOSE_ALERTS_WEBHOOK_ATTEMPTS`` attempts, waiting ``WIREHOSE_ALERTS_WEBHOOK_BACKOFF``
seconds doubled each time (at most 60), or the receiver's ``Retry-After``. Any other answer, an
address the guard refuses, or running out of attempts dead-letters the delivery (reason
``webhook-failed``, the delivery's exact bytes kept), and it is counted and logged.

The record's offset is committed only after the POST succeeded or the delivery was
dead-lettered, so a crash re-posts what was in flight: delivery to a webhook is *at least
once*. A receiver recognises a repeat by its ``Idempotency-Key`` (the delivery id), which is
the same however often one delivery is posted. Repeats seen by this process are skipped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from processors.alerts.messages import Delivery
from producers.fetch import check_url, parse_retry_after
from wirehose.core.errors import AddressRefused, FetchError
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

STEP = "alerts.webhook"
RETRY_STATUSES = frozenset({408, 425, 429})
MAX_BACKOFF = 60.0
DETAIL_BYTES = 512  # of a failing answer's body, for the log and the dead letter


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard to try one delivery."""

    attempts: int = 5
    backoff: float = 1.0
    retry_after_max: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        return cls(
            attempts=settings.alerts_webhook_attempts,
            backoff=settings.alerts_webhook_backoff,
            retry_after_max=settings.fetch_retry_after_max,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return retry_after
        return float(min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: posted, or failed for good with the reason."""

    ok: bool
    attempts: int
    detail: str = ""


class Stopped(Exception):
    """The deliverer was asked to stop while waiting to retry: leave the record uncommitted."""


class WebhookPoster:
    """Post one delivery with retries; ``client`` comes from ``producers.fetch.make_client``."""

    def __init__(
        self,
        client: httpx.Client,
        policy: WebhookPolicy,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        # wait(seconds) sleeps and says whether the deliverer was asked to stop meanwhile.
        self.wait = wait or _sleep

    def post(self, delivery: Delivery) -> Outcome:
        """Deliver it, or say why not; raises ``Stopped`` if told to stop between attempts."""
        url = delivery.webhook or ""
        try:
            check_url(url)
        except FetchError as exc:
            return Outcome(False, 0, str(exc))
        body = json.dumps(delivery.payload(), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.delivery_id,
            "X-Wirehose-Alert": delivery.alert,
            "X-Wirehose-Kind": delivery.kind,
        }
        detail = ""
        for attempt in range(1, self.policy.attempts + 1):
            retry_after: float | None = None
            try:
                with self.client.stream("POST", url, content=body, headers=headers) as response:
                    status = response.status_code
                    if 200 <= status < 300:
                        return Outcome(True, attempt)
                    detail = f"HTTP {status} from {url}: {_start_of(response)}"
                    if not (status in RETRY_STATUSES or status >= 500):
                        if 300 <= status < 400:
                            detail += " (redirects are not followed: save the final URL)"
                        return Outcome(False, attempt, detail)
                    retry_after = self._retry_after(response)
            except AddressRefused as exc:
                return Outcome(False, attempt, str(exc))
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                detail = f"cannot post to {url}: {type(exc).__name__}: {exc}"
            log.warning(
                "webhook attempt failed alert=%s delivery=%s attempt=%d of=%d detail=%s",
                delivery.alert, delivery.delivery_id, attempt, self.policy.attempts, detail,
            )  # fmt: skip
            if attempt < self.policy.attempts and self.wait(
                self.policy.delay(attempt, retry_after)
            ):
                raise Stopped(delivery.delivery_id)
        return Outcome(False, self.policy.attempts, f"gave up: {detail}")

    def _retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(
            response.headers.get("Retry-After", ""),
            now=time.time(),
            cap=self.policy.retry_after_max,
        )


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _start_of(response: httpx.Response) -> str:
    """The first bytes of an error answer, never the whole of a large one."""
    taken = b""
    for chunk in response.iter_bytes():
        taken += chunk
        if len(taken) >= DETAIL_BYTES:
            break
    return taken[:DETAIL_BYTES].decode("utf-8", "replace").strip()
