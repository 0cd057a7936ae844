"""pii_redaction: the Kinesis Data Firehose transformation that masks PII in chosen fields of JSON
records with Amazon Comprehend (ContainsPiiEntities, then DetectPiiEntities) before they reach S3."""
