"""Webhook delivery as Chargebee really does it: sometimes twice, sometimes out of order."""

from __future__ import annotations

import random
from collections.abc import Callable

from sandbox.simulator import parameters as p


class DisorderlyDelivery:
    """Wraps a ``send(event)`` callable; seeded, so the disorder is the same for a given seed.

    A late event is held back and sent after the next one or two; a duplicate is sent once
    more a few events later.
    """

    def __init__(
        self,
        send: Callable[[dict], object],
        *,
        seed: int,
        duplicate_rate: float = p.DUPLICATE_DELIVERY_RATE,
        late_rate: float = p.LATE_DELIVERY_RATE,
    ):
        self.send = send
        self.rng = random.Random(seed)
        self.duplicate_rate = duplicate_rate
        self.late_rate = late_rate
        self._held: list[tuple[int, dict]] = []  # (events still to pass, event)
        self.duplicates = 0
        self.late = 0

    def __call__(self, event: dict) -> None:
        if self.rng.random() < self.late_rate:
            self.late += 1
            self._held.append((self.rng.randint(1, 2), event))
        else:
            self.send(event)
        if self.rng.random() < self.duplicate_rate:
            self.duplicates += 1
            self._held.append((self.rng.randint(1, 5), event))
        self._release()

    def _release(self) -> None:
        still_held = []
        for remaining, event in self._held:
            if remaining <= 0:
                self.send(event)
            else:
                still_held.append((remaining - 1, event))
        self._held = still_held

    def flush(self) -> None:
        for _remaining, event in self._held:
            self.send(event)
        self._held = []
