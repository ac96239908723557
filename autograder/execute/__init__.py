"""Execute stage: grade one job in its own folder (:mod:`.worker`), on local processes or a Dask cluster.

Runners (:mod:`.dispatch` locally, :mod:`.cluster` on Dask) send each job's files by digest
(:mod:`.blobs`), retry what the machine failed, and hand back results; :mod:`.guarded` is the nbgrader
Execute step that runs a submission's cells with time limits and tamper evidence.
"""
