"""Over-prediction monitor: one class predicted far more often than it should be.

Per model, a sliding window of the last `drift_window` predictions (count-based, so a quiet hour
and a busy minute weigh the same number of predictions). When one class holds more than
`drift_max_share` of a window of at least `drift_min_samples`, that is a crossing: reported once,
then not again until the share falls back to or below the limit. Pure: the caller stores the state.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from human_review.logic.policies import ReviewPolicy


class DriftState(BaseModel):
    """What the monitor keeps per model between predictions."""

    model_config = ConfigDict(frozen=True)

    window: tuple[tuple[str, str], ...] = ()  # (event_id, predicted class), oldest first
    alerted_class: str | None = None
    alerted_by: str | None = None  # event id of the prediction that crossed (decides the same on retry)
    version: int = 0  # optimistic-locking counter for the store


class DriftCrossing(BaseModel):
    """A class has just gone over its share: the payload of `PredictionDriftDetected`."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    predicted_class: str
    share: float = Field(ge=0, le=1)
    max_share: float
    window_size: int
    class_counts: dict[str, int]
    trigger_event_id: str


class DriftObservation(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: DriftState
    crossing: DriftCrossing | None = None
    drifting_class: str | None = None  # the class under alert after this observation
    duplicate: bool = False


def observe(state: DriftState, *, model_id: str, event_id: str, predicted_class: str,
            policy: ReviewPolicy) -> DriftObservation:
    """Add one prediction to the window and report a crossing if this prediction caused one.

    >>> from human_review.logic.policies import ReviewPolicy
    >>> policy = ReviewPolicy(name="p", source="s", detail_type="D", dataset="d", threshold=0.5,
    ...                       drift_window=4, drift_min_samples=4, drift_max_share=0.5)
    >>> state = DriftState()
    >>> for i, label in enumerate(["a", "b", "a", "a"]):
    ...     seen = observe(state, model_id="m", event_id=str(i), predicted_class=label, policy=policy)
    ...     state = seen.state
    >>> seen.crossing.predicted_class, seen.crossing.share
    ('a', 0.75)
    """
    if any(seen_id == event_id for seen_id, _ in state.window):
        # A redelivered prediction must not count twice, nor report a crossing twice.
        return DriftObservation(state=state, drifting_class=state.alerted_class, duplicate=True)
    window = (*state.window, (event_id, predicted_class))[-policy.drift_window:]
    counts = Counter(label for _, label in window)
    dominant: str | None = None
    share = 0.0
    if len(window) >= policy.drift_min_samples:
        label, count = max(sorted(counts.items()), key=lambda item: item[1])
        if count / len(window) > policy.drift_max_share:
            dominant, share = label, count / len(window)
    crossing = None
    alerted, alerted_by = state.alerted_class, state.alerted_by
    if dominant is not None and dominant != alerted:
        alerted, alerted_by = dominant, event_id
        crossing = DriftCrossing(
            model_id=model_id, predicted_class=dominant, share=share, max_share=policy.drift_max_share,
            window_size=len(window), class_counts=dict(sorted(counts.items())), trigger_event_id=event_id,
        )
    elif dominant is None:
        alerted, alerted_by = None, None  # back under the limit: the next crossing is reported again
    new_state = DriftState(window=window, alerted_class=alerted, alerted_by=alerted_by, version=state.version + 1)
    return DriftObservation(state=new_state, crossing=crossing, drifting_class=alerted)
