"""Pitwall's shared Lambda layer: the few sharp tools every service uses.

`settings` (environment → pydantic model), `aws` (one boto3 client per service per process),
`events` (the EventBridge envelope and publisher), `observability` (Powertools set-up) and
`pricing` (the Amazon Comprehend price table and unit arithmetic).
"""
