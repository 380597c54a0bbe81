"""Pacing requests to a rate-limited provider, shared by every worker of an asyncio pool.

Retrying one request after a 429 is not enough when many workers send at once: each of them
would hit the limit again. The pacer makes the whole pool pause and slow down together.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class RequestPacer:
    """Shared by every worker: when requests may start.

    Without a 429 and without a budget it lets everything through. A budget (`rpm`) spaces
    starts evenly. A 429 pauses everyone until the server's Retry-After and cuts the rate
    to 3/4 of what was being sent (once per burst of 429s); each success then raises it a
    little, back to the budget, or back to unpaced when there is none.
    """

    _CUT = 0.75
    _GROWTH = 0.02  # per success, as a share of the budget
    _FREE_GROWTH = 1.05  # per success, when there is no budget to climb back to
    _OBSERVE_S = 10.0
    _MIN_SAMPLES = 8  # fewer starts than this measure the retries, not a sending rate

    def __init__(
        self,
        rpm: float | None = None,
        *,
        min_rpm: float = 6.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.log = logger
        self.ceiling = rpm / 60.0 if rpm else None  # requests per second
        self.rate = self.ceiling
        self.min_rate = min_rpm / 60.0
        self.rate_limited = 0
        self._clock = clock
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_cut = -math.inf
        self._rate_before_cuts: float | None = None
        self._starts: deque[float] = deque(maxlen=512)
        self._lock: asyncio.Lock | None = None

    async def acquire(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                ready = max(self._paused_until, self._next_start if self.rate else 0.0)
                if ready <= now:
                    break
                await asyncio.sleep(ready - now)
            if self.rate:
                self._next_start = max(self._next_start, now) + 1.0 / self.rate
            self._starts.append(now)

    def _observed_rate(self, now: float) -> float | None:
        recent = [t for t in self._starts if t >= now - self._OBSERVE_S]
        if len(recent) < self._MIN_SAMPLES or recent[-1] <= recent[0]:
            return None
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def on_rate_limited(self, retry_after: float | None) -> None:
        now = self._clock()
        self.rate_limited += 1
        wait = retry_after if retry_after is not None else 1.0
        self._paused_until = max(self._paused_until, now + wait)
        if now - self._last_cut < max(wait, 1.0):
            return  # the same burst: its requests were sent before the last cut took effect
        self._last_cut = now
        observed = self._observed_rate(now)
        sending = [r for r in (self.rate, observed) if r]
        if not sending:
            return  # nothing measured yet: the pause alone has to do
        if self.rate is None:
            self._rate_before_cuts = observed
        self.rate = max(self.min_rate, min(sending) * self._CUT)
        self._next_start = max(self._next_start, self._paused_until)
        self.log.info("rate limited: the pool pauses %.2fs, then sends at most %.0f requests/min", wait, self.rate * 60)

    def on_success(self) -> None:
        if self.rate is None:
            return
        if self.ceiling is not None:
            self.rate = min(self.rate + self.ceiling * self._GROWTH, self.ceiling)
            return
        self.rate *= self._FREE_GROWTH
        if self._rate_before_cuts is None or self.rate >= self._rate_before_cuts:
            self.rate = None  # back to the speed that drew the 429: unpaced again
