"""Per-lab helpers that keep the lab notebooks short (tables, record look-ups)."""
