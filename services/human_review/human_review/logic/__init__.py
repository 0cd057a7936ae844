"""Human review's pure rules: policies, drift, loop names, manifests, and the two flows (trigger,
completion) with their adapters passed in. No module here imports boto3 or an adapter (import-linter)."""
