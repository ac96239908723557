"""Training reuse, the grader's side: record the reference once per setting, hand the store to each job.

The first grading pass of a lab under given execution settings runs the instructor's reference solution
(the release with the source's solutions filled in) in a worker exactly like a submission, with
``$LABKIT_TRAIN_STORE_RECORD`` naming the lab's given model classes: `labkit.training.train_model` writes
the trained state of each given model under its training key (:mod:`labkit.training.reuse`, all a kernel
runs of it). The grader keeps these entries in the lab's grading kit, ``<kit>/train_store/<setting>/``,
with a manifest of their sha256; every later job gets them by value, read-only, with the manifest's
digest in its environment. Entries are never made from a submission, so no submission can change what
another one loads.

Modules: :mod:`.reference` (which labs need a reference run, its job, and which jobs wait for it),
:mod:`.store` (the recorded store in the kit: setting key, manifest, the reference's scores) and
:mod:`.kernel` (what a worker sets up for a job's kernel and collects after it).
"""
