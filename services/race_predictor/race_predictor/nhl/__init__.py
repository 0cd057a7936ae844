"""NHL face-off prediction: tracking records, per-game detection, player stats and the model call.

Pure modules (records, features, detection, simulator) sit beside `adapters/` (DynamoDB) and
`service.py`, which the Kinesis handler and the HTTP routes call.
"""
