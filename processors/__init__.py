"""Processing steps between the raw and the enriched topic: plain classes the Faust agents call."""
