"""What crosses race_predictor's boundary, as pydantic models: `f1` (timing messages over HTTP) and
`nhl` (tracking records from Kinesis, face-off request bodies).
"""
