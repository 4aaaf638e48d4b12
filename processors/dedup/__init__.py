"""Wire-copy detection: the single-process reference and the partitioned stages the worker runs.

``detector`` is the reference (one process, one store: ``WireCopyDetector``); ``sign``,
``store`` and ``text`` are shared by both. The worker runs the same logic split across Kafka
partitions, as plain objects the agents only drive (``messages``, ``bands``, ``decider``, with
``wire`` and ``decisions`` for their binary records).

An article and its copies arrive on any partition of the source topic, on any worker. They are
brought together by repartitioning on LSH buckets:

1. **sign** (source partition): sign the article, group its bucket keys (exact key + 64 bands)
   by ``bucket_partition``, send one ``Probe`` per partition that owns some of them (at most
   ``P`` messages, each carrying the article's sketch), and the article itself to the decider.
2. **band** (``BandWorker``, one ``CandidateIndex`` per bands-topic partition): verify the
   members of the probe's buckets, file the probe, send a ``Partial`` with the verified matches.
   Every article sharing a bucket key is filed in the same partition, so any pair that LSH
   proposes meets there; a pair sharing several buckets is verified once per partition at most.
3. **decide** (``Decider``, keyed by article_id): wait for the article and all its partials,
   ``combine`` them and ``decide`` exactly as the single-process detector does.

The state lives in plain mutable mappings of bytes to bytes; in the worker they are
changelog-backed Faust tables. Every key carries the partition whose events write it (Faust sends a table change to the
changelog partition of the *current event*), so a key is never written from two partitions and
recovery restores each partition's keys with that partition.
"""
