"""F1 pit-strategy battles: timing messages, race state, battle rules, features and predictions.

Everything here is pure (no boto3, no environment, no I/O) except `service.py`, which wires the
pure parts to the ports it is given (state store, ledger, publisher).
"""
