"""Human review: A2I human loops for uncertain predictions, and their answers as training data.

`handlers` are the Lambda entry points, `factory` builds the objects they use, `logic` is pure and
`adapters` are the only modules that call AWS (README: one line per module).
"""
