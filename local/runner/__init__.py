"""Runs the template's functions locally: one worker process per function, fed by event sources.

`Runner` owns the workers; each module in `sources/` turns one kind of trigger (API Gateway, SQS,
Kinesis) into invocations, so adding a kind of event source is one small module.
"""

from local.runner.runner import ArtifactImportError, FunctionSpec, InvocationError, Runner

__all__ = ["ArtifactImportError", "FunctionSpec", "InvocationError", "Runner"]
