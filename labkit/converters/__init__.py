"""Converters of the real datasets (PhysioNet ecg-arrhythmia, PPG-DaLiA) to the course data contracts."""
