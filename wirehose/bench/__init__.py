"""Benchmarks (``wirehose bench``) and the private service instances the fault tests share.

Everything here measures or provisions; nothing here is on the production path. The logic is
split by what it measures: ``corpus`` (the articles), ``stages`` (each stage alone),
``pipeline`` (the whole worker, saturated and paced), ``dedup_scaling`` (cost per article as the
window grows), ``report`` (markdown, JSON, PNG) and ``runner`` (one run that does all of it).
Story clustering has two of its own, run as modules: ``story_scaling`` (the story stage's cost
per article as the window grows) and ``stories_eval`` (B-cubed scores on a labelled set of real
coverage, and the compared methods).
"""
