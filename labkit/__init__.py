"""labkit: the helper library imported by the course notebooks.

Small modules with one concern each: ``paths`` (where data and logs live), ``files`` (atomic writes and the
one-line error of a bad file), ``datasets`` (file contracts), ``synthetic`` (offline data generators),
``converters`` (real PhysioNet / PPG-DaLiA data), ``training`` (Lightning modules and loops), ``plots``,
``reproducibility``, ``cli`` and ``exits`` (how both command lines fail).
"""

__version__ = "0.1.0"
