"""Pitwall's cost calculator: sizes and prices Amazon Comprehend custom real-time endpoints and the
PII APIs over HTTP, and recommends inference units from the usage events it aggregates.
"""
