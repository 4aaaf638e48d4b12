"""Saved-search alerts that fire once per story: the messages between the stages, and the
decision, as plain objects the worker's agents only drive (``processors.worker.alerts``).

1. **match** (any enriched partition): each canonical article's search document is matched
   against the saved alerts (``sinks.percolate``); every (alert, article) match becomes a
   ``Candidate`` on the ``alert-matches`` topic, keyed by the article's story. Wire copies are
   never matched: they belong to their original's story, which is the one that alerts.
2. **decide** (``OncePerStory``, keyed by story): every match of one story meets the same state,
   whichever partition or worker its article came through. The first match of an (alert,
   story) pair is delivered as ``new_story``; later ones as ``story_update``, and only for
   alerts saved with ``--updates``; a match seen before (a redelivery) delivers nothing.
   Each ``Delivery`` goes to ``WIREHOSE_TOPIC_ALERTS`` keyed by its ``delivery_id``, a hash of
   (alert, story, kind, article): the same delivery always has the same id.
"""
