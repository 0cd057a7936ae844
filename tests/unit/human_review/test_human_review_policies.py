"""Review policies: thresholds on both scales, the no-label case, audit sampling, the ceiling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from human_review.logic.policies import (
    PolicyError,
    decide,
    load_policy_book,
    minute_bucket,
    sample_fraction,
    subject_from_event,
    within_ceiling,
)
from human_review.models import ReviewReason, TaskType
from tests.unit.human_review.hr_builders import FLOW, book, candidate_data, envelope, faceoff_data, policy

SOURCE = "pitwall.race_predictor"


def faceoff_decision(confidence: float, probability: float = 0.6, **overrides):
    chosen = policy("faceoff", **({"audit_sample_rate": 0.0} | overrides))
    subject = subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(probability, confidence)), chosen)
    return decide(subject, chosen)


def candidate_decision(scores, scale=100, event_id="evt-1", **overrides):
    chosen = policy("custom-labels", **({"audit_sample_rate": 0.0} | overrides))
    subject = subject_from_event("acme.vision", "ReviewCandidate",
                                 envelope(candidate_data(scores, scale), event_id), chosen)
    return decide(subject, chosen)


class TestThresholdOnZeroToOneScale:
    def test_below_threshold_goes_to_review(self):
        decision = faceoff_decision(0.59)
        assert decision.review and decision.reason is ReviewReason.LOW_CONFIDENCE
        assert decision.normalised_score == pytest.approx(0.59)

    def test_at_threshold_is_confident_enough(self):
        assert not faceoff_decision(0.6).review

    def test_above_threshold_is_not_reviewed(self):
        assert not faceoff_decision(0.93).review

    def test_label_comes_from_the_probability(self):
        chosen = policy("faceoff")
        home = subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(0.7, 0.7)), chosen)
        away = subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(0.3, 0.7)), chosen)
        assert home.top_label.label == "home-wins" and away.top_label.label == "away-wins"
        assert home.model_id == "nhl-faceoff-1" and home.task_type is TaskType.CLASSIFICATION


class TestThresholdOnZeroToHundredScale:
    def test_custom_labels_top_label_below_60_is_reviewed(self):
        decision = candidate_decision([59.9, 12.0])
        assert decision.review and decision.reason is ReviewReason.LOW_CONFIDENCE

    def test_top_label_at_or_above_60_is_not(self):
        assert not candidate_decision([60.0]).review
        assert not candidate_decision([12.0, 97.5]).review  # the top label decides, not the first

    def test_scores_on_zero_to_one_are_normalised_before_comparing(self):
        # The policy says 60 on 0-100; a producer sending 0-1 scores gets the same decision.
        assert candidate_decision([0.599], scale=1).review
        assert not candidate_decision([0.6], scale=1).review

    def test_zero_to_hundred_scores_against_a_zero_to_one_policy(self):
        chosen = policy("image-classification", audit_sample_rate=0.0)  # threshold 0.7 on 0-1
        data = candidate_data([69.0], scale=100, policy="image-classification", task_type="classification")
        subject = subject_from_event("acme.vision", "ReviewCandidate", envelope(data), chosen)
        assert decide(subject, chosen).reason is ReviewReason.LOW_CONFIDENCE
        data = candidate_data([70.0], scale=100, policy="image-classification", task_type="classification")
        subject = subject_from_event("acme.vision", "ReviewCandidate", envelope(data), chosen)
        assert not decide(subject, chosen).review

    def test_a_score_above_the_scale_is_rejected(self):
        with pytest.raises(ValidationError, match="above score_scale"):
            candidate_decision([0.5, 1.5], scale=1)


class TestNoLabel:
    def test_no_label_goes_to_review_by_default(self):
        decision = candidate_decision([])
        assert decision.review and decision.reason is ReviewReason.NO_LABEL

    def test_prediction_without_probability_has_no_label(self):
        chosen = policy("faceoff")
        subject = subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(None, 0.9)), chosen)
        assert subject.labels == ()
        assert decide(subject, chosen).reason is ReviewReason.NO_LABEL

    def test_policy_can_leave_unlabelled_predictions_alone(self):
        assert not candidate_decision([], review_when_no_label=False).review


class TestAuditSampling:
    def test_same_event_id_decides_the_same(self):
        first = [candidate_decision([95.0], event_id=f"evt-{i}", audit_sample_rate=0.3).review for i in range(200)]
        again = [candidate_decision([95.0], event_id=f"evt-{i}", audit_sample_rate=0.3).review for i in range(200)]
        assert first == again
        assert 0 < sum(first) < 200  # some sampled, some not: the id, not a constant, decides

    def test_rate_is_respected_over_many_events(self):
        sampled = sum(sample_fraction(f"evt-{i}", "audit:custom-labels") < 0.1 for i in range(5000))
        assert 400 <= sampled <= 600

    def test_sampled_confident_prediction_has_audit_reason(self):
        decision = candidate_decision([95.0], audit_sample_rate=1.0)
        assert decision.review and decision.reason is ReviewReason.AUDIT_SAMPLE

    def test_rate_zero_never_samples(self):
        assert not any(candidate_decision([95.0], event_id=f"e{i}").review for i in range(100))

    @given(st.text(min_size=1, max_size=80))
    def test_fraction_is_in_unit_interval(self, event_id):
        assert 0 <= sample_fraction(event_id, "audit") < 1


class TestCeiling:
    def test_within_ceiling(self):
        chosen = policy("custom-labels", max_loops_per_minute=3)
        assert [within_ceiling(count, chosen) for count in range(5)] == [True, True, True, False, False]

    def test_zero_ceiling_starts_nothing(self):
        assert not within_ceiling(0, policy("custom-labels", max_loops_per_minute=0))

    def test_minute_bucket_changes_each_minute(self):
        assert minute_bucket(datetime(2026, 11, 22, 10, 3, 59, tzinfo=UTC)) == "202611221003"
        assert minute_bucket(datetime(2026, 11, 22, 10, 4, 0, tzinfo=UTC)) == "202611221004"


class TestConfiguration:
    def test_packaged_policies_load_with_the_default_flow(self):
        loaded = book()
        assert {p.name for p in loaded.policies} == {"faceoff", "faceoff-setup", "pit-battle", "custom-labels",
                                                     "image-classification", "pii-span"}
        assert all(p.flow_definition_arn == FLOW for p in loaded.policies)
        # Forecasts are answered by the world: no packaged forecast policy asks a person (issue 19).
        assert [p.name for p in loaded.policies if p.starts_loops] == ["faceoff-setup", "custom-labels", "image-classification",
                                                                      "pii-span"]
        assert policy("custom-labels").threshold == 60 and policy("custom-labels").scale == 100

    def test_lookup_by_source_and_detail_type(self):
        assert book().for_event(SOURCE, "PitBattlePredicted", {}).name == "pit-battle"
        with pytest.raises(PolicyError, match="no review policy for source 'other'"):
            book().for_event("other", "PitBattlePredicted", {})

    def test_review_candidate_names_its_policy(self):
        assert book().for_event("x", "ReviewCandidate", {"review_policy": "custom-labels"}).name == "custom-labels"
        with pytest.raises(PolicyError, match="data.review_policy"):
            book().for_event("x", "ReviewCandidate", {"review_policy": "nope"})

    def test_threshold_above_scale_is_refused(self):
        with pytest.raises(PolicyError, match="threshold 60.0 is above the policy's scale 1"):
            load_policy_book([{"name": "p", "source": "s", "detail_type": "D", "dataset": "d", "threshold": 60}], FLOW)

    def test_duplicate_names_are_refused(self):
        item = {"name": "p", "source": "s", "detail_type": "D", "dataset": "d", "threshold": 0.5}
        with pytest.raises(PolicyError, match="unique"):
            load_policy_book([item, item | {"detail_type": "E"}], FLOW)

    def test_bad_score_names_the_field(self):
        chosen = policy("faceoff")
        with pytest.raises(ValueError, match="data.confidence: expected a number"):
            subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(0.6, confidence="high")), chosen)
        with pytest.raises(ValueError, match="data.confidence: outside 0..1"):
            subject_from_event(SOURCE, "FaceoffPredicted", envelope(faceoff_data(0.6, confidence=1.5)), chosen)

    def test_candidate_task_type_must_match_its_policy(self):
        data = candidate_data([50.0], task_type="classification")
        with pytest.raises(ValueError, match="data.task_type: policy custom-labels reviews object-detection"):
            subject_from_event("x", "ReviewCandidate", envelope(data), policy("custom-labels"))

    def test_candidate_needs_exactly_one_task_object(self):
        data = candidate_data([50.0]) | {"task_text": "hello"}
        with pytest.raises(ValidationError, match="exactly one of task_object_s3_uri and task_text"):
            subject_from_event("x", "ReviewCandidate", envelope(data), policy("custom-labels"))

    def test_pii_redaction_source_marks_content_free_of_pii(self):
        data = candidate_data([50.0], policy="image-classification", task_type="classification",
                              task_object_s3_uri=None, task_text="masked [NAME] text")
        chosen = policy("image-classification")
        assert subject_from_event("pitwall.pii_redaction", "ReviewCandidate", envelope(data), chosen).pii_redacted
        assert not subject_from_event("acme.vision", "ReviewCandidate", envelope(data), chosen).pii_redacted
        assert subject_from_event("acme", "ReviewCandidate", envelope(data | {"pii_redacted": True}), chosen).pii_redacted
