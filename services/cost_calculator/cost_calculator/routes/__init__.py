"""HTTP plumbing of the cost calculator's routes (the routes themselves are one line each in `api.py`)."""
