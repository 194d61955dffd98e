"""What the domain needs from outside the database, given to it once.

``portal.create_app`` fills this in from the configuration (and again whenever
one of its app contexts is pushed, so a process holding two apps — tests do —
always talks to the right one); a job, a CLI command or a test can fill it in
itself with ``configure``. Models read it; they never reach for Flask.

- ``keys``: the ``rules.keys.Keyring`` of ``SECRET_KEY``.
- ``redis``: a client for the small shared state (each thread's newest message),
  or None when the deployment has none.
- ``namespace``: a prefix that tells deployments sharing one Redis apart.
- ``signing``: the signing-service adapter (``adapters.signing``).
- ``storage``: the file storage adapter (``adapters.storage``).
- ``enqueue``: hands a committed notification's id to the job queue (``tasks``).
"""
from dataclasses import dataclass, field

from rules.keys import Keyring


@dataclass
class Runtime:
    keys: Keyring = field(default_factory=lambda: Keyring("unconfigured-development-secret"))
    redis: object = None
    namespace: str = "kabinets"
    signing: object = None
    storage: object = None  # where uploaded files' bytes live (adapters.storage)
    enqueue: object = None  # set in __post_init__: hands a notification id to the job queue
    owner: object = None  # what configured it last (the app), so rebinding is cheap

    def __post_init__(self):
        if self.enqueue is None:
            self.enqueue = _left_for_the_sweep


def _left_for_the_sweep(notification_id):
    """Without a job queue the row waits in the outbox for the scheduler's sweep."""
    return False


runtime = Runtime()


def configure(owner=None, **values):
    """Set what the domain uses from now on; unnamed values stay as they are."""
    for name, value in values.items():
        if not hasattr(runtime, name):
            raise AttributeError(name)
        setattr(runtime, name, value)
    runtime.owner = owner
    return runtime
