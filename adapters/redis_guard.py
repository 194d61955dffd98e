"""Redis clients for the web processes: a short timeout, no retries, and a circuit breaker.

Nothing a request does in Redis is worth more than one short wait: the rate limits fall
back to memory (Flask-Limiter), a notification that cannot be queued waits in the outbox
for the sweep, the message poll takes the database way. A Redis that is down refuses at
once, but a hung one (a stopped process, a network dropping packets) answers nothing, and
each command waits for its timeout; redis-py's default client would also try ten more
times with pauses in between.

So every client made here shares, per Redis server and per process, one breaker: after a
connection error or a timeout, every client of this process fails at once (a
``redis.exceptions.ConnectionError``, which callers already catch as ``RedisError``) for
``PAUSE`` seconds; then one caller tries again while the others still fail fast, and the
first answer closes the breaker. A hung Redis costs each process one timeout per pause.
"""
import threading
import time

from redis import Redis
from redis.backoff import NoBackoff
from redis.connection import Connection, ConnectionPool, SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import ConnectionError, ResponseError, TimeoutError
from redis.retry import Retry

TIMEOUT = 0.5  # seconds for connecting and for each answer (REDIS_TIMEOUT overrides it)
PAUSE = 5.0  # seconds a failed server is left alone before one caller tries it again


class Breaker:
    """Remembers one server's last failure; thread-safe."""

    def __init__(self, pause=None):
        self.pause = PAUSE if pause is None else pause
        self.failing = False
        self.retry_at = 0.0
        self.failures = 0  # connections opened before the latest failure are not trusted
        self._lock = threading.Lock()

    def allow(self):
        """May a caller talk to the server now? After a failure, one caller per pause may."""
        if not self.failing:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self.retry_at:
                return False
            self.retry_at = now + self.pause  # this caller probes; the others still fail fast
            return True

    def failed(self):
        with self._lock:
            self.failing = True
            self.failures += 1
            self.retry_at = time.monotonic() + self.pause

    def answered(self):
        if self.failing:
            with self._lock:
                self.failing = False
                self.retry_at = 0.0


_breakers = {}
_breakers_lock = threading.Lock()


def breaker_for(address):
    """The process's breaker for one server ((host, port) or a socket path)."""
    with _breakers_lock:
        return _breakers.setdefault(address, Breaker())


class _Guarded:
    """Mixed into redis-py's connection classes: asks the breaker before connecting or
    sending, and tells it about every answer and every failure."""

    def _breaker(self):
        address = getattr(self, "path", None) or (self.host, self.port)
        return breaker_for(address)

    def connect_check_health(self, *args, **kwargs):
        if self._sock:
            return None
        breaker = self._breaker()
        if not breaker.allow():
            raise ConnectionError(f"Redis at {self._host_error()} failed moments ago; "
                                  f"not tried again for up to {breaker.pause:g} s")
        self._opened_after = breaker.failures
        try:
            return super().connect_check_health(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            breaker.failed()
            raise

    def send_packed_command(self, *args, **kwargs):
        if self._sock and getattr(self, "_opened_after", None) != self._breaker().failures:
            # Pooled before the server's latest failure: connect afresh, which the
            # breaker may refuse at once, rather than wait on an old socket.
            self.disconnect()
        try:
            return super().send_packed_command(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            self._breaker().failed()
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except (ConnectionError, TimeoutError):
            self._breaker().failed()
            raise
        except ResponseError:  # an error answer is still an answer
            self._breaker().answered()
            raise
        self._breaker().answered()
        return response


_GUARDED = {base: type(f"Guarded{base.__name__}", (_Guarded, base), {})
            for base in (Connection, SSLConnection, UnixDomainSocketConnection)}


def pool(url, timeout=TIMEOUT):
    """A connection pool for ``url`` whose connections wait at most ``timeout`` seconds,
    never retry, and share the server's breaker."""
    kind = parse_url(url).get("connection_class", Connection)
    return ConnectionPool.from_url(url, connection_class=_GUARDED[kind], socket_timeout=timeout,
                                   socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


_clients = {}
_clients_lock = threading.Lock()


def client(url, timeout=TIMEOUT):
    """The process's guarded client for ``url`` (one connection pool, reused by every call)."""
    key = (url, timeout)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = Redis(connection_pool=pool(url, timeout))
        return _clients[key]
