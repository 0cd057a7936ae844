"""Pure logic of human review (no AWS calls; import-linter keeps adapters out)."""
