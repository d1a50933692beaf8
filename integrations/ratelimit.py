"""Token buckets in Redis, shared by every worker and web process.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a
second; each call takes ``cost`` tokens if it can. The refill and the take
are one Lua script, so concurrent callers never overdraw a bucket. Used for
the calls a marketplace allows per second and for each API token's request
rate.
"""

from __future__ import annotations

import time
from functools import cache

import redis
from django.conf import settings

KEY_PREFIX = "kervan:bucket:"

# KEYS[1]: the bucket; ARGV: rate, burst, cost, now (seconds, float).
# Returns {taken (0/1), seconds to wait until ``cost`` tokens are there (string)}.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  taken = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {taken, tostring(wait)}
"""


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


@cache
def _script() -> object:
    return _client().register_script(_TAKE)


def token_take(key: str, *, rate: float, burst: int, cost: int = 1) -> float:
    """Take ``cost`` tokens from bucket ``key``: 0.0 when taken, else the seconds
    to wait before they are there (nothing is taken then).

    ``rate``: tokens added per second; ``burst``: the most the bucket holds.
    """
    if rate <= 0 or burst <= 0 or cost > burst:
        raise ValueError("A bucket needs a positive rate and a burst of at least the cost.")
    taken, wait = _script()(keys=[KEY_PREFIX + key], args=[rate, burst, cost, time.time()])  # type: ignore[operator]
    return 0.0 if int(taken) else float(wait)


def token_wait(key: str, *, rate: float, burst: int, cost: int = 1, limit: float = 30.0) -> bool:
    """Block until ``cost`` tokens are taken from ``key``; False if that would take
    longer than ``limit`` seconds in all (then nothing is taken)."""
    deadline = time.monotonic() + limit
    while True:
        wait = token_take(key, rate=rate, burst=burst, cost=cost)
        if wait == 0.0:
            return True
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(wait)


def bucket_reset(key: str) -> None:
    """Forget bucket ``key`` (tests, or after changing a limit)."""
    _client().delete(KEY_PREFIX + key)
