"""Accepting uploaded files: judged by their content, limited in size, stored under random keys.

A view that takes files (documents, messages) does three things:

* decorates itself with ``accepts_uploads(policy)``, so the request body is
  limited to the policy before anything reads it (Werkzeug answers 413);
* calls ``store_files(files, policy, user, client)`` inside ``uploads.atomic()``
  together with its own writes. Every file is checked before any is stored; a
  refusal raises ``UploadRefused`` whose ``problems`` name each file and the
  reason, ready to show next to the file field;
* serves a file only after its own authorisation check, with ``send_stored``.

``checks`` judges content, ``store`` keeps files all or nothing, ``containers``
checks signed EDOC / ASiC-E packages and ``trust`` whom their signers' certificates
chain to (the trust store of qualified CAs, with revocation). The request side (``accepts_uploads``,
``send_stored``) is web code and lives in ``blueprints.uploading``.
"""
from uploads.checks import (  # noqa: F401
    FORM_OVERHEAD, Problem, UploadRefused, accepted_types, check_files, extension_of, format_size,
    sanitise_filename,
)
from uploads.store import atomic, store_files  # noqa: F401
