"""Worked examples of live sources, walked through in docs/producers.md and run by the tests."""
