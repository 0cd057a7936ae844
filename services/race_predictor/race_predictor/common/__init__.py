"""Machinery shared by the F1 and NHL predictors: optimistic-locking state updates, the
"already published" ledger, ONNX model loading and inference, settings.
"""
