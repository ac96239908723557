"""Build stage: jupytext pairs in sync, the student release, its leak checks and the hand-out bundle."""
