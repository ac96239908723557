"""The kernel a submission runs in: confined (:mod:`.confine`, :mod:`.sandbox`) and guarded (:mod:`.guard`).

:mod:`.given` keeps what the instructor gave the notebook (locked cells' globals, libraries) as given.
"""
