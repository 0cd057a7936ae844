"""Human review: A2I human loops for uncertain predictions, and their answers as training data.

`handlers` are the Lambda entry points; `policies`, `drift`, `loop_names`, `manifests` and
`manifest_merge` are pure; `adapters` are the only modules that call AWS.
"""
