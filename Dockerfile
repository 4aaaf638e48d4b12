# The wirehose image: CLI, producers and the Faust worker. Used by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WIREHOSE_HOME=/var/lib/wirehose

RUN useradd --create-home --uid 1000 wirehose && mkdir -p /var/lib/wirehose && chown wirehose /var/lib/wirehose
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wirehose ./wirehose
COPY producers ./producers
COPY processors ./processors
COPY sinks ./sinks
COPY seeds ./seeds
COPY kibana ./kibana
RUN pip install . && wirehose model install

USER wirehose
EXPOSE 6066
ENTRYPOINT ["wirehose"]
CMD ["--help"]
