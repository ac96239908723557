"""Data contracts of the course files (``ecg_rhythms.npz``, ``ppg_dalia.pkl``): load, save, check."""
