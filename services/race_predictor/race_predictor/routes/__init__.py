"""The HTTP routes of race_predictor as Chalice blueprints, registered on the one app in `api.py`:
`f1` (timing messages, race and battle views) and `nhl` (face-off prediction, results, game view).
"""
