"""What the web page asks of the index: search, one story, the saved alerts.

The app takes a ``Backend`` (a few plain functions) instead of reaching for Elasticsearch itself,
so unit tests hand it fakes; ``es_backend`` is the real one, over one shared client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sinks.alerts import AlertSpec, AlertStore
from sinks.request import SearchRequest
from sinks.results import SearchResult
from sinks.search import search
from sinks.story import StoryView, story
from wirehose.core.clients import es_client, es_errors
from wirehose.core.settings import Settings

# A page should answer or say why within this; the CLI's 30 s is for scripts that can wait.
REQUEST_TIMEOUT = 15.0


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Backend:
    """The functions the app calls; each may raise ``ServiceError`` (Elasticsearch unreachable,
    index missing), ``search`` also ``TimelineTooLong``, ``story`` also ``StoryNotFound``.

    ``save_alert`` returns whether an alert of that name was replaced; ``remove_alert`` whether
    there was one. Without them the alerts page lists alerts only.
    """

    search: Callable[[SearchRequest], SearchResult]
    story: Callable[[str, int], StoryView]
    list_alerts: Callable[[], list[AlertSpec]]
    save_alert: Callable[[AlertSpec], bool] | None = None
    remove_alert: Callable[[str], bool] | None = None
    close: Callable[[], None] = _nothing


def es_backend(settings: Settings) -> Backend:
    """The backend over ``settings``' Elasticsearch, through the index alias and alerts index."""
    client = es_client(settings, request_timeout=REQUEST_TIMEOUT)
    store = AlertStore(client, settings.alerts_index_name, settings.index_alias)

    def run_search(request: SearchRequest) -> SearchResult:
        return search(settings, request, client=client)

    def run_story(story_id: str, limit: int) -> StoryView:
        return story(settings, story_id, limit=limit, client=client)

    def list_alerts() -> list[AlertSpec]:
        with es_errors(settings):
            return store.list()

    def save_alert(spec: AlertSpec) -> bool:
        with es_errors(settings):
            replaced = store.get(spec.name) is not None
            store.add(spec)
        return replaced

    def remove_alert(name: str) -> bool:
        with es_errors(settings):
            return store.remove(name)

    return Backend(
        search=run_search,
        story=run_story,
        list_alerts=list_alerts,
        save_alert=save_alert,
        remove_alert=remove_alert,
        close=client.close,
    )
