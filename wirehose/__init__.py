"""wirehose: streaming news ingestion from producers through Kafka and Faust into Elasticsearch."""

__version__ = "0.1.0"
