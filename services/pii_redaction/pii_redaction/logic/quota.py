"""One Comprehend quota for the whole account: how many invocations of the function may run at once
(its reserved concurrency) and how many Comprehend requests per second each may start, both derived
from the account's quota so that all invocations together stay under it.

Firehose runs several invocations of a processor at once; each paces its own calls (a rate limiter
per invocation, adapters/comprehend.py), so only a bound on the number of invocations makes the
per-invocation ceiling an account-wide one:

    usable       = HEADROOM × tps                      (requests/s left for this function)
    concurrency  = max(1, floor(usable / MIN_SHARE_RPS))
    share        = usable / concurrency                (requests/s one invocation starts, both APIs together)

so concurrency × share = usable ≤ tps. template.yaml holds the same figures as a Mapping (CloudFormation
has no arithmetic); tests/template checks every row against these functions.
"""

from __future__ import annotations

import math

# 10 % of the quota left to other callers in the account (a console user, a second stack) and to
# clock skew between sandboxes (each paces by its own clock).
HEADROOM = 0.9
# An invocation needs about this much to finish its batch in time: a 3 MB batch (Firehose's largest
# Lambda buffer) is about 750 requests (bench/pii_redaction.py measures 247 for 1 MB), 75 s at
# 10 requests/s, well inside the function's 300 s timeout.
MIN_SHARE_RPS = 10.0


def reserved_concurrency(tps: float) -> int:
    """The function's reserved concurrency for an account quota of `tps` requests/s.

    >>> [reserved_concurrency(t) for t in (10, 20, 25, 50, 100, 1000)]
    [1, 1, 2, 4, 9, 90]
    """
    if tps <= 0:
        raise ValueError("the Comprehend quota must be positive")
    return max(1, math.floor(HEADROOM * tps / MIN_SHARE_RPS + 1e-9))


def invocation_share(tps: float, concurrency: int) -> float:
    """Requests/s one invocation may start (ContainsPiiEntities and DetectPiiEntities together).

    >>> invocation_share(50, 4)
    11.25
    """
    if tps <= 0 or concurrency < 1:
        raise ValueError("the Comprehend quota must be positive and the concurrency at least 1")
    return HEADROOM * tps / concurrency
