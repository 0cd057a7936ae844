"""Scores of probability forecasts, shared by training (`train.py`) and the API replay (`replay.py --score`).

Calibration error: the expected calibration error over ten equal-width bins of the predicted
probability (sum over bins of share of cases x |mean predicted - observed rate|). Intervals: 95 %
bootstrap, resampling whole battles (2,000 resamples, fixed seed), since one battle's predictions are
correlated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SEED = 7
RESAMPLES = 2000


def brier(y: Any, p: Any) -> float:
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def scores(y: Any, p: Any) -> dict[str, float | None]:
    from sklearn.metrics import log_loss, roc_auc_score

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(y) == 0:
        return {"n": 0, "auc": None, "brier": None, "log_loss": None}
    auc = float(roc_auc_score(y, p)) if 0 < y.mean() < 1 else None
    return {"n": len(y), "auc": None if auc is None else round(auc, 4), "brier": round(brier(y, p), 4),
            "log_loss": round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])), 4)}


def calibration_table(y: Any, p: Any, bins: int = 10) -> list[dict[str, Any]]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        mask = (p >= low) & ((p < high) if high < 1.0 else (p <= high))
        if mask.sum():
            rows.append({"bin": f"{low:.1f}-{high:.1f}", "n": int(mask.sum()),
                         "mean_predicted": round(float(p[mask].mean()), 3), "observed": round(float(y[mask].mean()), 3)})
    return rows


def calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return round(float(total), 4)


def bootstrap_difference(y: Any, p_model: Any, p_base: Any, groups: Sequence[str]) -> dict[str, float]:
    """Brier(model) - Brier(baseline) with its 95 % interval, resampling whole battles."""
    y, p_model, p_base = (np.asarray(v, dtype=float) for v in (y, p_model, p_base))
    rng = np.random.default_rng(SEED)
    keys = sorted(set(groups))
    index = {key: i for i, key in enumerate(keys)}
    group_of_row = np.array([index[g] for g in groups])
    diff = (p_model - y) ** 2 - (p_base - y) ** 2
    sums = np.bincount(group_of_row, weights=diff, minlength=len(keys))
    counts = np.bincount(group_of_row, minlength=len(keys)).astype(float)
    draws = rng.integers(0, len(keys), size=(RESAMPLES, len(keys)))
    estimates = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return {"difference": round(float(diff.mean()), 5), "ci_low": round(float(np.quantile(estimates, 0.025)), 5),
            "ci_high": round(float(np.quantile(estimates, 0.975)), 5)}


def bootstrap_interval(y: Any, p: Any, groups: Sequence[str], metric: str) -> list[float]:
    """95 % interval of one metric (brier, auc or calibration_error), resampling whole battles."""
    from sklearn.metrics import roc_auc_score

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    rng = np.random.default_rng(SEED)
    keys = sorted(set(groups))
    rows_of: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        rows_of.setdefault(g, []).append(i)
    values = []
    for _ in range(RESAMPLES if metric == "brier" else 500):
        picked = np.concatenate([rows_of[keys[k]] for k in rng.integers(0, len(keys), size=len(keys))])
        yy, pp = y[picked], p[picked]
        if metric == "brier":
            values.append(brier(yy, pp))
        elif metric == "auc":
            if 0 < yy.mean() < 1:
                values.append(float(roc_auc_score(yy, pp)))
        else:
            values.append(calibration_error(yy, pp))
    return [round(float(v), 4) for v in np.quantile(values, [0.025, 0.975])]
