"""Other consumers of the same queue, run by ``python -m local bench`` for comparison only."""
