"""Pure domain code of the cost calculator: estimates, traffic plans, usage aggregation and
rightsizing decisions. No boto3, no environment variables, no I/O.
"""
