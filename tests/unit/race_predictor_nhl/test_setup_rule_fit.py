"""The set rule's constants fit labelled examples the fitting script draws (fresh simulated games)."""

from __future__ import annotations

import numpy as np
import pytest

from race_predictor.logic.nhl import detection


def test_constants_in_the_code_fit_fresh_labelled_examples_as_well_as_a_refitted_tree():
    sklearn_tree = pytest.importorskip("sklearn.tree", reason="scikit-learn is a development dependency")
    from ml.nhl.fit_setup_rule import labelled_examples

    features, labels = labelled_examples(3, seed=500)  # games the constants were not fitted on
    tree = sklearn_tree.DecisionTreeClassifier(max_depth=2, min_samples_leaf=50, random_state=0).fit(features, labels)
    rule = np.array([detection.is_set(d, d, v, v) for d, v in features])
    rule_accuracy = float((rule == labels.astype(bool)).mean())
    assert labels.mean() > 0.2 and rule_accuracy > 0.95
    assert rule_accuracy >= tree.score(features, labels) - 0.01
    # Each cut-off matters: loosening either one much lets unsettled samples through.
    loose_distance = np.array([d <= 3 * detection.SET_DISTANCE_FT and v <= detection.SET_SPEED_FPS for d, v in features])
    loose_speed = np.array([d <= detection.SET_DISTANCE_FT and v <= 3 * detection.SET_SPEED_FPS for d, v in features])
    assert (loose_speed == labels.astype(bool)).mean() < rule_accuracy
    assert (loose_distance == labels.astype(bool)).mean() <= rule_accuracy
