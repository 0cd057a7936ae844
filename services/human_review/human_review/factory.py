"""Builds human review's objects from its settings, once per process (both handlers use these).

`service()` is cached: the first call (Lambda's init phase or the first message) reads the settings,
loads the policies and creates the adapters; tests call `service.cache_clear()` for a fresh sandbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from human_review.adapters.a2i import HumanLoops
from human_review.adapters.a2i_setup import A2iSetup
from human_review.adapters.loops_table import LoopsTable
from human_review.adapters.queue import DeferQueue
from human_review.adapters.state_table import StateTable
from human_review.adapters.storage import Storage
from human_review.logic.origins import CandidateOrigins
from human_review.logic.policies import PolicyBook, load_policy_book
from human_review.logic.ports import CompletionPorts, TriggerPorts
from human_review.settings import Settings
from pitwall_shared.publisher import EventPublisher
from pitwall_shared.settings import load_settings

SOURCE = "pitwall.human_review"


@dataclass
class Service:
    book: PolicyBook
    trigger: TriggerPorts
    completion: CompletionPorts
    defer: DeferQueue | None = None  # None: a deferred message fails and SQS redelivers it
    max_defer_delay_s: int = 60
    origins: CandidateOrigins = CandidateOrigins()  # nothing listed: every ReviewCandidate refused


@functools.cache
def service() -> Service:
    """Settings, policies and adapters, built once per process (cold start)."""
    settings = load_settings(Settings)
    book = load_policy_book(settings.policies_json(), settings.default_flow_definition_arn)
    publisher = EventPublisher(source=SOURCE, bus_name=settings.event_bus_name)
    loops, storage = LoopsTable(settings.loops_table_name), Storage()
    return Service(
        book=book,
        trigger=TriggerPorts(loops=loops, state=StateTable(settings.state_table_name), storage=storage,
                             human_loops=HumanLoops(), publisher=publisher, bucket=settings.review_bucket_name,
                             pii_review_bucket=settings.pii_review_bucket_name),
        completion=CompletionPorts(loops=loops, storage=storage, publisher=publisher,
                                   bucket=settings.review_bucket_name,
                                   pii_review_bucket=settings.pii_review_bucket_name),
        defer=DeferQueue(settings.trigger_queue_url) if settings.trigger_queue_url else None,
        max_defer_delay_s=settings.max_defer_delay_s,
        origins=CandidateOrigins.of(settings.review_candidate_sources, settings.task_object_buckets),
    )


@functools.cache
def a2i_setup() -> A2iSetup:
    """The custom resource's SageMaker calls (no settings: everything comes in the request)."""
    return A2iSetup()
