"""Loop names from event ids, and the over-prediction monitor."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from human_review.logic.drift import DriftState, observe
from human_review.logic.loop_names import MAX_LENGTH, NAME_PATTERN, human_loop_name, is_valid_loop_name
from tests.unit.human_review.hr_builders import policy


class TestLoopNames:
    @given(st.text(min_size=1, max_size=300))
    def test_any_event_id_gives_a_name_a2i_accepts(self, event_id):
        name = human_loop_name(event_id)
        assert len(name) <= MAX_LENGTH and NAME_PATTERN.match(name)
        assert is_valid_loop_name(name)

    def test_same_id_same_name(self):
        # Deterministic (a redelivery starts the same loop) and still a function of the id: a
        # constant or a random name would fail one of the two halves.
        assert human_loop_name("Evt_42") == human_loop_name("Evt_42")
        assert human_loop_name("Evt_42") != human_loop_name("Evt_43")

    @given(st.text(min_size=1, max_size=100), st.text(min_size=1, max_size=100))
    def test_different_ids_different_names(self, first, second):
        if first != second:
            assert human_loop_name(first) != human_loop_name(second)

    def test_ids_that_slug_alike_get_different_names(self):
        assert human_loop_name("A_B") != human_loop_name("a-b")

    def test_name_keeps_a_readable_part_of_the_id(self):
        assert human_loop_name("0f8fad5b-d9cb-469f").startswith("pw-0f8fad5b-d9cb-469f-")

    def test_invalid_names_are_recognised(self):
        assert not is_valid_loop_name("Upper")
        assert not is_valid_loop_name("ends-with-")
        assert not is_valid_loop_name("x" * 64)


def feed(labels, state=None, *, start=0, **overrides):
    chosen = policy("faceoff", **({"drift_window": 10, "drift_min_samples": 5, "drift_max_share": 0.5} | overrides))
    state = state or DriftState()
    crossings = []
    for index, label in enumerate(labels, start=start):
        seen = observe(state, model_id="m1", event_id=f"e{index}", predicted_class=label, policy=chosen)
        state = seen.state
        if seen.crossing:
            crossings.append((index, seen.crossing))
    return state, crossings


class TestDriftMonitor:
    def test_crossing_is_reported_once_while_above(self):
        state, crossings = feed(["a", "b", "a", "b", "a", "a", "a", "a", "a"])
        # Window of 5 reached at e4: a=3/5 = 0.6 > 0.5 → one crossing there, none after.
        assert [index for index, _ in crossings] == [4]
        crossing = crossings[0][1]
        assert crossing.predicted_class == "a" and crossing.share == 0.6 and crossing.window_size == 5
        assert crossing.class_counts == {"a": 3, "b": 2} and crossing.trigger_event_id == "e4"
        assert state.alerted_class == "a" and state.alerted_by == "e4"

    def test_exactly_the_share_is_not_a_crossing(self):
        _, crossings = feed(["a", "b", "a", "b", "a", "b"], drift_min_samples=6)
        assert crossings == []

    def test_nothing_before_min_samples(self):
        _, crossings = feed(["a", "a", "a", "a"])
        assert crossings == []

    def test_rearms_after_falling_back_and_reports_again(self):
        state, first = feed(["a"] * 6)
        state, none = feed(["b"] * 5, state, start=6)  # window of 10: a=5/10 → back to the limit, re-armed
        assert none == [] and state.alerted_class is None
        # Each new "a" first pushes an old "a" out (still 5/10); once the b's start leaving, a crosses.
        state, second = feed(["a"] * 6, state, start=11)
        assert len(first) == 1 and [index for index, _ in second] == [16]

    def test_class_switch_is_a_new_crossing(self):
        _, crossings = feed(["a"] * 6 + ["b"] * 10)
        assert [c.predicted_class for _, c in crossings] == ["a", "b"]

    def test_window_slides(self):
        state, _ = feed([f"c{i}" for i in range(25)])
        assert len(state.window) == 10 and state.window[0] == ("e15", "c15")

    def test_duplicate_delivery_counts_once(self):
        chosen = policy("faceoff", drift_window=10, drift_min_samples=2)
        state = observe(DriftState(), model_id="m", event_id="e1", predicted_class="a", policy=chosen).state
        again = observe(state, model_id="m", event_id="e1", predicted_class="a", policy=chosen)
        assert again.duplicate and again.state == state and again.crossing is None
