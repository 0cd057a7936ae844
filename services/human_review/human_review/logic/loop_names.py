"""Human loop names derived from the source event id.

A2I requires 1-63 characters matching `^[a-z0-9](-*[a-z0-9])*$` and rejects a second loop with a
name in use (`ConflictException`), so deriving the name from the event id makes a duplicate
delivery unable to start a second loop.
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 63
NAME_PATTERN = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
_PREFIX = "pw"
_DIGEST_CHARS = 16  # 64 bits of sha256: ids that slug alike ("A_B", "a-b") still get distinct names
_SLUG_CHARS = MAX_LENGTH - len(_PREFIX) - _DIGEST_CHARS - 2


def human_loop_name(event_id: str) -> str:
    """Return the loop name of the event `event_id`: readable slug plus a digest of the exact id.

    >>> human_loop_name("0f8fad5b-d9cb-469f-a165-70867728950e")
    'pw-0f8fad5b-d9cb-469f-a165-70867728950e-c812e1edb64417d6'
    >>> len(human_loop_name("X" * 256)) <= 63
    True
    """
    if not event_id:
        raise ValueError("event_id: must not be empty")
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:_DIGEST_CHARS]
    slug = re.sub(r"[^a-z0-9]+", "-", event_id.lower())[:_SLUG_CHARS].strip("-")
    name = f"{_PREFIX}-{slug}-{digest}" if slug else f"{_PREFIX}-{digest}"
    assert NAME_PATTERN.match(name) and len(name) <= MAX_LENGTH  # noqa: S101 - invariant of the construction
    return name


def is_valid_loop_name(name: str) -> bool:
    """Whether A2I would accept `name` as a `HumanLoopName`."""
    return 1 <= len(name) <= MAX_LENGTH and NAME_PATTERN.match(name) is not None
