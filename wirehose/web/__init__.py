"""``wirehose web``: the search page for analysts, and a JSON API beside it.

Starlette serves server-rendered pages (Jinja2, autoescaped) with a little CSS and script shipped
in ``static/``; nothing is fetched at run time. ``app.create_app`` builds the application over a
``backend.Backend`` (the real one reads Elasticsearch through ``sinks``), ``server.build_server``
refuses an address other machines can reach unless a login is configured (``access``).
"""
