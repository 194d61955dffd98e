"""Procfile helper: wait (up to 30 s) until Redis answers, then run the command."""
import os
import sys
import time

from redis import Redis
from redis.exceptions import RedisError

url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
for _ in range(60):
    try:
        if Redis.from_url(url, socket_connect_timeout=1).ping():
            break
    except RedisError:
        time.sleep(0.5)
else:
    sys.exit(f"Redis did not answer at {url} within 30 s.")
os.execvp(sys.argv[1], sys.argv[1:])
