"""Powertools Logger, Metrics and Tracer set up the same way in every function.

Namespace `Pitwall`, service name = the service's package name. Log lines carry ids and counts,
never record contents.

Example::

    logger, metrics, tracer = observability("cost_calculator")

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event, context): ...
"""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Pitwall"


@functools.cache
def observability(service: str) -> tuple[Logger, Metrics, Tracer]:
    """Return the (logger, metrics, tracer) triple of `service`, created once per process."""
    return Logger(service=service), Metrics(namespace=NAMESPACE, service=service), Tracer(service=service)
