"""F1 pit-strategy battles: race state, battle rules, features and predictions (the timing-message
contract is `models/f1.py`).

Everything here is pure (no boto3, no environment, no I/O) except `service.py`, which wires the
pure parts to the ports it is given (state store, ledger, publisher).
"""
