"""race_predictor: keeps live race / game state in DynamoDB and predicts from it in the same call.

`api.py` (HTTP, Chalice blueprints in `routes/`) and `handlers.py` (Kinesis) are the entry points;
`factory.py` builds the objects from `settings.py`; `logic/` is the pure domain (`f1/`, `nhl/`,
`common/`), `models/` what crosses the boundary, `adapters/` the only code that calls AWS.
"""
