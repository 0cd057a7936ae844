"""race_predictor: keeps live race / game state in DynamoDB and predicts from it in the same call.

`f1/` owns the F1 pit-strategy battles (HTTP timing messages), `nhl/` the NHL face-offs; `common/`
holds what both share (state store with optimistic locking, publish ledger, ONNX model runtime).
"""
