"""Offline training and evaluation of the shipped models (development only, never deployed)."""
