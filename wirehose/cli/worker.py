"""``wirehose worker``: run the Faust worker that enriches and indexes articles."""

from __future__ import annotations

import click

from wirehose.core.settings import get_settings


@click.command("worker")
@click.option(
    "--web-port", type=int, help="Port for health and metrics (default WIREHOSE_WORKER_WEB_PORT)."
)
@click.option(
    "--no-services",
    is_flag=True,
    help="Do not start the native Kafka and Elasticsearch; fail if they are not reachable.",
)
def command(web_port: int | None, no_services: bool) -> None:
    """Run the Faust worker: validate, dedup, cluster stories, tag entities, index.

    The worker consumes WIREHOSE_TOPIC_RAW and writes to Elasticsearch through the alias
    WIREHOSE_INDEX_ALIAS. Run several (each with its own --web-port) to share the partitions;
    stop one with Ctrl-C or SIGTERM and the others take over its partitions.

    \b
    Examples:
      wirehose worker
      wirehose worker --web-port 6067        # a second worker on the same machine
      WIREHOSE_KAFKA_BOOTSTRAP=broker:9092 WIREHOSE_ES_URL=http://es:9200 wirehose worker
    """
    from faust import Worker

    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.topology import create_topics
    from processors.worker.app import create_app
    from wirehose.ops.services import resolve_endpoints

    settings = get_settings()
    if web_port is not None:
        settings = settings.model_copy(update={"worker_web_port": web_port})
    resolve_endpoints(settings, start=not no_services)
    create_topics(settings)
    app = create_app(settings)
    worker = Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
