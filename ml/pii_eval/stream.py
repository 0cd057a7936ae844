"""Synthetic streamed records for the PII demo and benchmark: realistic support-chat events of about
700 bytes with two free-text fields, about a third of them carrying PII in one of the two.

Deterministic for a seed (Faker seeded per generator), so a benchmark compares pipelines on the
same batch and a demo prints the same counts every run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from faker import Faker

_PII_LINES = (
    "Hi, this is {name}. Please call me back at {phone}.",
    "Send the invoice to {email} instead of the old address.",
    "Ship it to {street}, {city}, {state} {zip} please.",
    "My card {card} was charged twice for this order.",
    "I'm {name}, account email {email}.",
    "Our office IP {ip} is blocked by your firewall again.",
    "You can text {name} on {phone} after 5pm.",
)
_PLAIN_LINES = (
    "The delivery arrived late but the product works fine.",
    "Can you check the status of my refund? It has been a week.",
    "Great service, thanks for the quick reply!",
    "The app crashes when I open the settings page.",
    "Is there a discount for annual plans?",
    "Package was damaged, the box was wet on arrival.",
    "I would like to change my subscription tier.",
    "Nothing else for now, thank you.",
)


def records(count: int, *, seed: int = 7, fields: tuple[str, str] = ("Tweet1", "Tweet2"),
            pii_share: float = 1 / 3) -> Iterator[dict[str, Any]]:
    """`count` records; a share `pii_share` hold PII in one of the two `fields`."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    for _ in range(count):
        texts = [rng.choice(_PLAIN_LINES), rng.choice(_PLAIN_LINES)]
        has_pii = rng.random() < pii_share
        if has_pii:
            template = rng.choice(_PII_LINES)
            texts[rng.randrange(2)] = template.format(
                name=fake.name(), phone=fake.numerify("(###) 555-01##"), email=fake.free_email(),
                street=fake.street_address(), city=fake.city(), state=fake.state_abbr(), zip=fake.zipcode(),
                card=fake.credit_card_number(card_type="visa16"), ip=fake.ipv4_public())
        yield {
            "event_id": fake.uuid4(),
            "occurred_at": fake.date_time_this_year().isoformat() + "Z",
            "channel": rng.choice(["chat", "email", "app", "social"]),
            "customer_id": f"c-{rng.randrange(10**6):06d}",
            "order_id": f"o-{rng.randrange(10**8):08d}",
            "locale": "en_US",
            "product": {"sku": fake.bothify("??-#####").upper(), "category": fake.word(), "price": round(rng.uniform(5, 500), 2)},
            "agent": {"id": f"a-{rng.randrange(500):03d}", "team": rng.choice(["billing", "shipping", "tech"])},
            "sentiment": round(rng.uniform(-1, 1), 3),
            "tags": [fake.word() for _ in range(3)],
            "user_agent": fake.user_agent(),
            "referrer": fake.uri(),
            "device_id": fake.hexify("^" * 24),
            fields[0]: texts[0],
            fields[1]: texts[1],
            "has_pii": has_pii,
        }


def record_bytes(record: dict[str, Any]) -> bytes:
    return (json.dumps(record) + "\n").encode()
