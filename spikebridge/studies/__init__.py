"""Studies built on the two engines: the HH / tv-LIF2HH / s-LIF2HH equivalence study."""
