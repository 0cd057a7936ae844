"""Offline PII detection behind the Comprehend emulator: recognizers for structured types, an NER
model and a street grammar for names and addresses, and the engine that resolves them."""

from local.emulators.pii_detect.engine import ENTITY_TYPES, Entity, PiiDetector

__all__ = ["ENTITY_TYPES", "Entity", "PiiDetector"]
