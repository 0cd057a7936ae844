"""NHL face-off prediction: per-game detection, player stats, features and the model call (the
tracking-record and request contracts are `models/nhl.py`).

`service.py` runs a batch or an HTTP use case through the ports it is given; the DynamoDB
player-stats table is `adapters/player_stats.py`.
"""
