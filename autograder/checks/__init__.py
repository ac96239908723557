"""Hidden checks: the probe runs in the kernel (:mod:`.probe`), the grader decides outside it (:mod:`.steps`).

The probe inputs (held-out signals whose labels stay with the grader) are :mod:`.evaluation`.
"""
