"""Event sources: each module turns one kind of trigger into function invocations.

A source is an object with `start()` and `stop()`; `local.cloud` builds one per event-source
mapping (SQS, Kinesis) and one gateway for every `Api` event in the template.
"""
