"""Which language an article is written in: detected from its text, weighed against what its
source declared (``processors.language.step``), with the detector itself in
``processors.language.detector``."""
