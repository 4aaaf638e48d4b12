"""Sinks: where enriched articles leave Kafka. A sink is ``setup()``, ``add()``, ``flush()``."""
