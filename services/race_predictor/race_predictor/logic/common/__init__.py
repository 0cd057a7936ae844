"""Machinery shared by the F1 and NHL predictors: optimistic-locking state updates with the
publish outbox and its ledger (`updates.py`), ONNX model loading and inference (`inference.py`).
"""
