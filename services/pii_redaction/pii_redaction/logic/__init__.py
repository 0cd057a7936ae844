"""pii_redaction\x27s pure logic: no boto3, no environment, no I/O (import-linter checks it)."""
