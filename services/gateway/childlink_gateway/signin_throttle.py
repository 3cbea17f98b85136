"""Sign-in throttling that slows a password guesser without locking the real user out.

Failures are counted per (username, client address), in the gateway's store, so every replica sees the
same count. After `free` failures a pair must wait before its next try: 1 s, 2 s, 4 s ... up to `cap_s`.
A try inside the wait is answered 429 with Retry-After and is not counted (waiting it out is all it
takes). The same user signing in from another address is never slowed by someone else's guesses, and
after the wait the right password works from the guesser's address too: backoff, never a lock.
A right password clears the pair's count. Counts older than `window_s` are forgotten.
"""

import hashlib
import time


def client_address(request, proxy_hops=0):
    """The client's address: the socket's peer, or with `proxy_hops` trusted proxies in front (an
    ingress), the address the outermost trusted proxy saw, from X-Forwarded-For read right to left."""
    if proxy_hops > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= proxy_hops:
            return forwarded[-proxy_hops][:64]
    return (request.remote_addr or "?")[:64]


def throttle_key(username, address):
    raw = f"{username.strip().lower()}\x00{address}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    def __init__(self, store=None, free=3, base_s=1.0, cap_s=60.0, window_s=900, clock=time.time, limit=None):
        # `limit`, the old name of `free`, is still taken
        self.store = store
        self.free = limit if limit is not None else free
        self.base_s, self.cap_s, self.window_s, self.clock = base_s, cap_s, window_s, clock

    def using(self, store):
        if self.store is None:
            self.store = store
        return self

    def delay_s(self, failures):
        if failures < self.free:
            return 0.0
        return min(self.base_s * 2 ** (failures - self.free), self.cap_s)

    def wait_s(self, username, address):
        """Seconds until this pair may try again; 0 when it may now."""
        state = self.store.throttle_state(throttle_key(username, address))
        if state is None:
            return 0.0
        now = self.clock()
        if now - state["last_at"] >= self.window_s:
            return 0.0
        return max(0.0, state["last_at"] + self.delay_s(state["failures"]) - now)

    def failed(self, username, address):
        self.store.throttle_failure(throttle_key(username, address), self.clock(), self.window_s)

    def succeeded(self, username, address):
        self.store.throttle_clear(throttle_key(username, address))
