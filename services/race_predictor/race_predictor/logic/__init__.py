"""Pure domain code of race_predictor (no boto3, no environment, no I/O but reading the shipped models):
`f1/` pit-strategy battles, `nhl/` face-offs, `common/` what both share, `ports.py` the contracts
the adapters implement.
"""
