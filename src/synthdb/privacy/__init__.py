"""Differential privacy: DP-SGD, the DP preprocessing of encoders, and the epsilon ledger."""
