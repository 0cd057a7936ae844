"""The PII emulator's labelled evaluation and the synthetic record streams used by the PII demo and
benchmark (development only; Faker and presidio-evaluator are development dependencies)."""
