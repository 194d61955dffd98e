"""Documents: the document, its versions and files, staff comments, the history, signing.

``Document.transition`` is the one place a status changes: it looks the action
up in ``rules.documents.TRANSITIONS``, writes everything in one transaction
(guarded by a revision number, so two requests cannot both move a document),
adds a history entry and queues the notifications the client must act on.
"""
import secrets

from peewee import (JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    IntegrityError, TextField, fn)

from models import notifications as outbox
from models.accounts import Client, Membership, User
from models.base import BaseModel, JSONField, db, scoped_nonce, utcnow
from models.files import StoredFile
from models.notifications import Notification
from models.paging import Keyset
from models.runtime import runtime
from rules import documents as R
from rules.i18n import _l
from rules.uploads import distinct_names


class TransitionRefused(Exception):
    """The table (or a guard beside it) refuses the action; ``message`` says why."""

    def __init__(self, message, problems=None):
        super().__init__(str(message))
        self.message = message
        self.problems = problems or {}  # field name → [messages], for forms


def _has_authority(membership):
    return bool(membership and membership.revoked_at is None and R.has_representation_rights(membership.role))


class Document(BaseModel):
    """One document or questionnaire of a client, in one of the statuses of the table."""

    client = ForeignKeyField(Client, backref="documents", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="documents", on_delete="SET NULL")
    doc_type = CharField()
    status = CharField(default=R.NEW, index=True)
    waiting = BooleanField(default=False, index=True)  # the next move is the institution's
    data = JSONField()  # the electronic questionnaire as the client last saved it
    revision = IntegerField(default=0)  # moves with every action (optimistic lock)
    accepted_at = DateTimeField(null=True)
    accepted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    question_open = BooleanField(default=False)
    submitted_at = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow, index=True)
    # Passed to a competent colleague (seed 001 §2; ``models.staff.route``), with a note for them.
    assigned_to = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    assigned_note = TextField(default="")

    class Meta:
        indexes = ((("client", "id"), False),  # the client's list, a page at a time (LIST_ORDER)
                   (("waiting", "status", "submitted_at", "updated_at", "id"), False),  # the staff queue
                   (("waiting", "updated_at"), False))  # recently changed, for staff

    @property
    def type(self):
        return R.DOCUMENT_TYPES[self.doc_type]

    @property
    def title(self):
        return self.type.title

    @property
    def status_label(self):
        return R.STATUS_LABELS[self.status]

    @property
    def values(self):
        return self.data if isinstance(self.data, dict) else {}

    @property
    def client_must_act(self):
        return R.client_must_act(self.status, self.question_open)

    # --- Reading -----------------------------------------------------------------------

    def working_files(self):
        return with_shown_names(StoredFile.select().join(DocumentFile, on=(DocumentFile.stored_file == StoredFile.id))
                                .where(DocumentFile.document == self).order_by(DocumentFile.id))

    def versions(self):
        return list(DocumentVersion.select().where(DocumentVersion.document == self)
                    .order_by(DocumentVersion.number.desc()))

    def version(self, number):
        """The version numbered ``number`` of this document, or None."""
        return DocumentVersion.get_or_none(DocumentVersion.document == self, DocumentVersion.number == number)

    def latest_version(self, *kinds):
        query = DocumentVersion.select().where(DocumentVersion.document == self)
        if kinds:
            query = query.where(DocumentVersion.kind.in_(kinds))
        return query.order_by(DocumentVersion.number.desc()).first()

    def signed_container(self):
        """The signed container (EDOC / ASiC-E) of the latest signed version, or None."""
        signed = self.latest_version("signed")
        files = signed.files() if signed else []
        containers = [f for f in files if f.extension in R.SIGNED_CONTAINER_POLICY.extensions]
        return containers[0] if len(containers) == 1 else None

    def history(self):
        """Client and staff actions together, in time order (Darbību vēsture)."""
        return list(DocumentEvent.select(DocumentEvent, User).join(User, join_type=JOIN.LEFT_OUTER,
                                                                   on=(DocumentEvent.user == User.id))
                    .where(DocumentEvent.document == self)
                    .order_by(DocumentEvent.created_at, DocumentEvent.id))

    def open_comments(self):
        """Staff comments of the last "ask for information", by field, while they apply."""
        if self.status not in (R.INFO_NEEDED, R.DRAFT):
            return {}
        event = (DocumentEvent.select().where(DocumentEvent.document == self,
                                              DocumentEvent.action == R.REQUEST_INFO)
                 .order_by(DocumentEvent.id.desc()).first())
        comments = {}
        if event:
            for c in DocumentComment.select().where(DocumentComment.event == event).order_by(DocumentComment.id):
                comments.setdefault(c.field, []).append(c.text)
        return comments

    def owns_file(self, stored_file_id):
        """True when the stored file belongs to this document (working set or any version)."""
        in_working = DocumentFile.select().where(DocumentFile.document == self,
                                                 DocumentFile.stored_file == stored_file_id).exists()
        return in_working or (VersionFile.select().join(DocumentVersion)
                              .where(DocumentVersion.document == self,
                                     VersionFile.stored_file == stored_file_id).exists())

    def submitter_membership(self):
        if not self.created_by_id:
            return None
        return Membership.get_or_none(Membership.user == self.created_by_id,
                                      Membership.client == self.client_id)

    def submitter_has_authority(self):
        """Representation rights: the submitter acts for themself or is the main user."""
        return _has_authority(self.submitter_membership())

    @staticmethod
    def authority_of(documents):
        """{document id: ``submitter_has_authority()``} for a page of documents, in one query."""
        submitters = {(d.created_by_id, d.client_id) for d in documents if d.created_by_id}
        if not submitters:
            return {d.id: False for d in documents}
        found = {(m.user_id, m.client_id): _has_authority(m) for m in Membership.select().where(
            Membership.user.in_({u for u, _c in submitters}), Membership.client.in_({c for _u, c in submitters}))}
        return {d.id: found.get((d.created_by_id, d.client_id), False) for d in documents}

    def pending_invitation(self):
        return (SigningInvitation.select().where(SigningInvitation.document == self,
                                                 SigningInvitation.status == "pending")
                .order_by(SigningInvitation.id.desc()).first())

    def version_for_nonce(self, nonce):
        if not nonce:
            return None
        return DocumentVersion.get_or_none(DocumentVersion.document == self,
                                           DocumentVersion.nonce == scoped_nonce(f"document:{self.id}", nonce))

    # --- Starting -------------------------------------------------------------------------

    @classmethod
    def open_of_type(cls, query, doc_type):
        """Of ``query`` (a scoped selection), the documents of ``doc_type`` not yet signed, newest first."""
        return query.where(cls.doc_type == doc_type, cls.status.in_(R.OPEN_STATUSES)).order_by(cls.id.desc())

    @classmethod
    def start(cls, client, doc_type, by):
        """A new document (status New) of a type the client may use; refused for a type the
        client keeps one of (``one_open``) while one is not yet signed."""
        if doc_type not in R.DOCUMENT_TYPES or client.kind not in R.DOCUMENT_TYPES[doc_type].client_kinds:
            raise TransitionRefused(_l("This document type is not available for this account."))
        if R.DOCUMENT_TYPES[doc_type].one_open and cls.open_of_type(
                cls.select().where(cls.client == client), doc_type).exists():
            raise TransitionRefused(_l("This account already has this questionnaire open: continue with it. "
                                       "A new one can be started once it is signed."))
        with db.atomic():
            document = cls.create(client=client, created_by=by, doc_type=doc_type)
            DocumentEvent.create(document=document, action=R.CREATED, actor=R.CLIENT, user=by,
                                 to_status=R.NEW)
        return document

    # --- The one way a status changes ------------------------------------------------------

    def actor_of(self, user):
        if user is None:
            return R.SERVICE
        return R.STAFF if user.is_staff else R.CLIENT

    def may(self, action, user):
        """True when the table allows ``user`` this action in the current status (and, to
        sign at the signing service, one is configured)."""
        if action == R.SIGN_WITH_SERVICE and not signing_service_available():
            return False
        return R.allowed(self.status, self.actor_of(user), action)

    def transition(self, action, by=None, **data):
        """Do ``action`` as ``by`` (None: the signing service). Returns the history entry.

        ``data`` depends on the action: values, new_files, remove_files, nonce, comments,
        files, include_submission, note, question, container, signers, invitation,
        authority_checked. Raises TransitionRefused; nothing is written then.
        Runs as one ``action()``: the notifications it queues reach the job queue
        after the outermost transaction commits.
        """
        actor = self.actor_of(by)
        target = R.next_status(self.status, actor, action)
        if target is None or action == R.EDIT:
            raise TransitionRefused(_l("This cannot be done while the document is “%(status)s”.",
                                       status=self.status_label))
        handler = getattr(self, f"_do_{action}")
        with outbox.action():
            before, now = self.status, utcnow()
            changes = handler(by, now, **data) or {}
            version = changes.pop("version", None)
            note = changes.pop("note", "")
            comments = changes.pop("comments", {})
            question_open = changes.get("question_open", self.question_open)
            invitation_pending = changes.pop("invitation_pending", None)
            if invitation_pending is None:
                invitation_pending = target == R.SIGNING and self.pending_invitation() is not None
            changes.update(status=target, updated_at=now, revision=self.revision + 1,
                           waiting=R.waits_on_institution(target, question_open, invitation_pending))
            moved = (Document.update(**changes)
                     .where(Document.id == self.id, Document.revision == self.revision).execute())
            if not moved:
                raise TransitionRefused(_l("The document was changed meanwhile. Reload it and try again."))
            for name, value in changes.items():
                setattr(self, name, value)
            event = DocumentEvent.create(document=self, action=action, actor=actor, user=by,
                                         from_status=before, to_status=target, note=note or "",
                                         version=version, created_at=now)
            for comment_field, text in comments.items():
                DocumentComment.create(event=event, field=comment_field, text=text)
            self._notify(action, target)
            from models.decisions import refresh_client_stages  # the client's applications' stage 3
            refresh_client_stages(self.client_id)
        return event

    # Each handler checks what the table cannot (the data), writes its own rows and
    # returns the columns of Document to change (plus version / note for the history).

    def _do_save(self, by, now, values=None, new_files=(), remove_files=(), **_):
        self._store_working(values, new_files, remove_files)
        return {"data": self.data}

    def _do_submit(self, by, now, values=None, new_files=(), remove_files=(), nonce=None, **_):
        self._store_working(values, new_files, remove_files)
        problems = self.completeness_problems()
        if problems:
            raise TransitionRefused(_l("Fill in everything the document needs before you submit it."),
                                    problems)
        version = self._new_version("submission", by, now, self.working_files(), nonce=nonce,
                                    data=self.data)
        return {"data": self.data, "submitted_at": now, "accepted_at": None, "accepted_by": None,
                "question_open": False, "version": version}

    def _do_add_files(self, by, now, new_files=(), **_):
        if not new_files:
            raise TransitionRefused(_l("Choose at least one file."), {"files": [_l("Choose at least one file.")]})
        self._store_working(None, new_files, ())
        return {}

    def _do_accept(self, by, now, authority_checked=False, note="", **_):
        if self.accepted_at:
            raise TransitionRefused(_l("The document is already accepted."))
        if self.type.needs_authority and not self.submitter_has_authority() and not authority_checked:
            raise TransitionRefused(
                _l("The submitter has no representation rights: confirm that you checked a power of "
                   "attorney before accepting."),
                {"authority_checked": [_l("Confirm that you checked the submitter's authority.")]})
        return {"accepted_at": now, "accepted_by": by, "note": note}

    def _do_request_info(self, by, now, comments=None, **_):
        targets = {name for name, _label in self.type.comment_targets()}
        comments = {k: v.strip() for k, v in (comments or {}).items() if v and v.strip()}
        if not comments:
            raise TransitionRefused(_l("Write at least one comment: say what the client must correct."))
        if set(comments) - targets:
            raise TransitionRefused(_l("A comment names a field this document does not have."))
        return {"accepted_at": None, "accepted_by": None, "comments": comments}

    def _do_prepare_package(self, by, now, files=(), include_submission=True, note="", **_):
        if not self.accepted_at:
            raise TransitionRefused(_l("Accept the document before you prepare its signing package."))
        package = list(files)
        submission = self.latest_version("submission")
        if include_submission and submission:
            package = submission.files() + package
        return self._send_package(by, now, package, note)

    def _do_resend(self, by, now, files=(), note="", **_):
        previous = self.latest_version("package")
        package = (previous.files() if previous else []) + list(files)
        return self._send_package(by, now, package, note)

    def _send_package(self, by, now, files, note):
        if not files:
            raise TransitionRefused(_l("A signing package needs at least one file."),
                                    {"files": [_l("Add the documents to sign.")]})
        (SigningInvitation.update(status="cancelled")
         .where(SigningInvitation.document == self, SigningInvitation.status == "pending").execute())
        version = self._new_version("package", by, now, _unique(files), note=note)
        return {"question_open": False, "version": version, "note": note, "invitation_pending": False}

    def _do_agree(self, by, now, **_):
        return {}

    def _do_ask(self, by, now, question="", **_):
        question = (question or "").strip()
        if not question:
            raise TransitionRefused(_l("Write your question."), {"question": [_l("Write your question.")]})
        return {"question_open": True, "note": question}

    def _do_upload_signed(self, by, now, container=None, signers=(), **_):
        if isinstance(container, (list, tuple)):
            container = container[0] if len(container) == 1 else None
        if container is None or not signers:
            raise TransitionRefused(_l("Upload the package signed with a qualified e-signature."))
        if any(s.get("chain") != "trusted" for s in signers):
            # The container check (uploads.containers) records each accepted signer's
            # trust outcome; a signer without a trusted chain never signs a document.
            raise TransitionRefused(_l("Only signatures whose certificates chain to a trusted qualified "
                                       "certification authority are accepted."))
        version = self._new_version("signed", by, now, [container], signers=list(signers))
        return {"version": version, "note": ", ".join(s["name"] for s in signers)}

    def _do_sign_with_service(self, by, now, **_):
        if not signing_service_available():
            raise TransitionRefused(_l("Signing at the signing service is not available. Upload the "
                                       "package signed with a qualified e-signature."))
        package = self.latest_version("package")
        if self.pending_invitation():
            return {"invitation_pending": True}
        invitation = SigningInvitation.create(document=self, version=package, user=by,
                                              backend=runtime.signing.name)
        return {"invitation_pending": True, "note": invitation.backend}

    def _do_signing_completed(self, by, now, invitation=None, signers=(), container=None, **_):
        if invitation is None or invitation.document_id != self.id or invitation.status != "pending":
            raise TransitionRefused(_l("This signing invitation is no longer open."))
        if not signers:
            raise TransitionRefused(_l("The signing service named no signer."))
        package = invitation.version or self.latest_version("package")
        # The container the service returned (its download); without one, the package's files.
        files = [container] if container is not None else (package.files() if package else [])
        version = self._new_version("signed", None, now, files, signers=list(signers))
        (SigningInvitation.update(status="completed", completed_at=now)
         .where(SigningInvitation.id == invitation.id).execute())
        return {"version": version, "invitation_pending": False,
                "note": ", ".join(s["name"] for s in signers)}

    # --- Helpers of the handlers --------------------------------------------------------------

    def _store_working(self, values, new_files, remove_files):
        if values is not None:
            self.data = dict(values)
        if remove_files:
            DocumentFile.delete().where(DocumentFile.document == self,
                                        DocumentFile.stored_file.in_(list(remove_files))).execute()
        for stored in new_files:
            DocumentFile.create(document=self, stored_file=stored)

    def completeness_problems(self, values=None, adding_files=False, removing=()):
        """Field name → messages for what a submission still lacks (``values``, files being
        added and files being removed let a view ask before it stores anything)."""
        problems = {}
        values = self.values if values is None else values
        for f in self.type.fields:
            if f.required and not str(values.get(f.name, "") or "").strip():
                problems[f.name] = [_l("Answer “%(question)s”.", question=f.label)]
        if self.type.needs_files and not adding_files:
            kept = DocumentFile.select().where(DocumentFile.document == self)
            if removing:
                kept = kept.where(DocumentFile.stored_file.not_in(list(removing)))
            if not kept.exists():
                problems["files"] = [_l("Attach the filled-in form or the documents.")]
        return problems

    def _new_version(self, kind, by, now, files, nonce=None, data="", note="", signers=None):
        number = (DocumentVersion.select(fn.MAX(DocumentVersion.number))
                  .where(DocumentVersion.document == self).scalar() or 0) + 1
        try:
            with db.atomic():
                version = DocumentVersion.create(document=self, number=number, kind=kind, created_by=by,
                                                 created_at=now, nonce=scoped_nonce(f"document:{self.id}", nonce),
                                                 data=data or {},
                                                 note=note or "", signers=list(signers or []))
        except IntegrityError:
            raise TransitionRefused(_l("This was already sent.")) from None
        for stored in files:
            VersionFile.create(version=version, stored_file=stored)
        return version

    def _notify(self, action, target):
        """The client must act (or learns the outcome): queue an e-mail to the submitter."""
        template = {R.REQUEST_INFO: "document_info_needed", R.PREPARE_PACKAGE: "document_ready_for_signing",
                    R.RESEND: "document_ready_for_signing", R.SIGN_WITH_SERVICE: "document_signing_invitation",
                    R.UPLOAD_SIGNED: "document_signed", R.SIGNING_COMPLETED: "document_signed"}.get(action)
        user = self.created_by if self.created_by_id else None
        if template is None or user is None or not user.is_active:
            return
        params = {"document_id": self.id, "type_code": self.doc_type}
        if action == R.SIGN_WITH_SERVICE:
            invitation = self.pending_invitation()
            params["signing_path"] = invitation.url()
        Notification.queue("email", user.email, template, language=user.language, user=user, **params)


def _unique(files):
    """Each file once: the same stored file, or the same content under another row (the
    client's submission and a copy staff uploaded again), is one document of the package."""
    seen, result = set(), []
    for f in files:
        if f.id not in seen and f.sha256 not in seen:
            seen.update((f.id, f.sha256))
            result.append(f)
    return result


def with_shown_names(files):
    """The files (a list), each with ``shown_name``: its name made distinct among them
    ("līgums.pdf", "līgums (2).pdf"), as the lists and the package's zip show it."""
    files = list(files)
    for f, name in zip(files, distinct_names([f.original_name for f in files]), strict=True):
        f.shown_name = name
    return files


class DocumentFile(BaseModel):
    """A file in the document's working set (what the next submission will hold)."""

    document = ForeignKeyField(Document, backref="working_set", on_delete="CASCADE")
    stored_file = ForeignKeyField(StoredFile, backref="+", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("document", "stored_file"), True),)


class DocumentVersion(BaseModel):
    """A submission, a staff package or the signed package, with its files (numbered per document)."""

    KIND_LABELS = {"submission": _l("Submission"), "package": _l("Signing package"),
                   "signed": _l("Signed package")}

    document = ForeignKeyField(Document, backref="version_rows", on_delete="CASCADE")
    number = IntegerField()
    kind = CharField()  # submission / package / signed
    data = JSONField()
    note = TextField(default="")
    signers = JSONField(empty=list)
    nonce = CharField(null=True, unique=True)  # one submission per form sent, however often clicked
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("document", "number"), True),)

    @property
    def kind_label(self):
        return self.KIND_LABELS.get(self.kind, self.kind)

    @property
    def values(self):
        return self.data if isinstance(self.data, dict) else {}

    @property
    def signer_list(self):
        return self.signers if isinstance(self.signers, list) else []

    def files(self):
        """The version's files in order, each with a ``shown_name`` distinct among them."""
        return with_shown_names(StoredFile.select().join(VersionFile, on=(VersionFile.stored_file == StoredFile.id))
                                .where(VersionFile.version == self).order_by(VersionFile.id))


class VersionFile(BaseModel):
    version = ForeignKeyField(DocumentVersion, backref="file_rows", on_delete="CASCADE")
    stored_file = ForeignKeyField(StoredFile, backref="+", on_delete="CASCADE")


class DocumentEvent(BaseModel):
    """One line of the activity history: who did what, from which status to which."""

    document = ForeignKeyField(Document, backref="events", on_delete="CASCADE")
    action = CharField()
    actor = CharField()  # client / staff / service
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    from_status = CharField(null=True)
    to_status = CharField(null=True)
    note = TextField(default="")
    version = ForeignKeyField(DocumentVersion, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)

    @property
    def action_label(self):
        return R.ACTION_LABELS.get(self.action, self.action)


class DocumentComment(BaseModel):
    """A staff comment on one named field, made when asking for information."""

    event = ForeignKeyField(DocumentEvent, backref="comments", on_delete="CASCADE")
    field = CharField()
    text = TextField()


class SigningInvitation(BaseModel):
    """An invitation to sign the package at the signing service."""

    document = ForeignKeyField(Document, backref="invitations", on_delete="CASCADE")
    version = ForeignKeyField(DocumentVersion, null=True, backref="+", on_delete="SET NULL")
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    token = CharField(unique=True, default=lambda: secrets.token_urlsafe(24))
    backend = CharField(default="dev")
    status = CharField(default="pending")  # pending / completed / cancelled
    created_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)

    def url(self):
        """Where the signer goes to sign (the signing-service adapter decides)."""
        return runtime.signing.invitation_url(self)


def signing_service_available():
    """A signing service takes invitations (not so with ``SIGNING_BACKEND=none``)."""
    return runtime.signing is not None and getattr(runtime.signing, "available", True)


DOCUMENT_MODELS = [Document, DocumentFile, DocumentVersion, VersionFile, DocumentEvent, DocumentComment,
                   SigningInvitation]


# The client's list, newest first: ids grow with time, so the id alone is the key.
LIST_ORDER = Keyset(Document.id)


def fingerprint(window):
    """(count, latest change, rows waiting, lowest id, highest id) of a window of the list
    (``LIST_ORDER.window``: a query with its limit), in one aggregate query over it: the
    list's poll compares it instead of loading rows."""
    rows = window.select(Document.id, Document.updated_at, Document.waiting).alias("shown")
    row = (Document.select(fn.COUNT(rows.c.id), fn.MAX(rows.c.updated_at), fn.SUM(rows.c.waiting.cast("integer")),
                           fn.MIN(rows.c.id), fn.MAX(rows.c.id))
           .from_(rows).tuples().first())
    count, latest, waiting, low, high = row if row else (0, None, 0, 0, 0)
    return int(count or 0), latest, int(waiting or 0), int(low or 0), int(high or 0)
