"""labkit: the helper library imported by the course notebooks.

Small modules with one concern each: ``paths`` (where data and logs live), ``datasets`` (file contracts),
``synthetic`` (offline data generators), ``converters`` (real PhysioNet / PPG-DaLiA data), ``training``
(Lightning modules and loops), ``plots``, ``reproducibility`` and ``cli``.
"""

__version__ = "0.1.0"
