"""Offline synthetic data generators (ECG rhythms, PPG heart-rate records)."""
