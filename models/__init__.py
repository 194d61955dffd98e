"""Peewee models of Kabinets and the state changes that belong to them.

Nothing here knows about the request or the app: views pass in what they
parsed, and what the domain needs from outside (keys, a Redis client, the
signing service, the job queue) is given once through ``models.runtime``.
Every write that belongs to one user action runs inside ``action()`` (one
transaction; the notifications it queued reach the job queue after the commit).

One module per area; the names are re-exported here, so callers write
``models.User`` or ``models.get_scoped`` whichever module holds them.
"""
from models.base import BaseModel, JSONField, db, utcnow  # noqa: F401
from models.passwords import (  # noqa: F401
    hash_password, password_matches, set_password_hasher,
)
from models.accounts import (  # noqa: F401
    Client, Consent, EndedSession, Membership, PasswordHistory, User, UserSession, find_user_by_identifier,
    user_of_session,
)
from models.registration import (  # noqa: F401
    ContactChange, OneTimeCode, PasswordReset, PendingRegistration, clean_expired,
)
from models.notifications import (  # noqa: F401
    NOTIFICATION_LOG_ORDER, DevOutbox, Notification, action, notification_log, outbox_figures,
    security_notice)
from models.audit import AuditLog  # noqa: F401
from models.company import Invitation  # noqa: F401
from models.scoping import active_membership, get_scoped, scoped  # noqa: F401
from models.files import StoredFile  # noqa: F401
from models.messages import MESSAGE_MODELS
from models.documents import DOCUMENT_MODELS
from models.identity import IDENTITY_MODELS, DigitalIdentity, StatedPersonalCode  # noqa: F401
from models.second_factor import SECOND_FACTOR_MODELS, RecoveryCode, SecondFactor  # noqa: F401
from models.passkeys import PASSKEY_MODELS, Passkey, PasskeyChallenge, passkey_user_handle  # noqa: F401
from models.register import REGISTER_MODELS, MainUserRequest, RegisterEntry, RegisterImport  # noqa: F401
from models.applications import APPLICATION_MODELS
from models.power_of_attorney import (POWER_OF_ATTORNEY_MODELS, PowerOfAttorney,  # noqa: F401
                                      expire_powers_of_attorney, submitter_authority)
from models.identification import IDENTIFICATION_MODELS, Identification, IdentificationEvent  # noqa: F401
from models.finance import (FINANCE_MODELS, BankStatement, CreditNote, Invoice, Payment,  # noqa: F401
                            StatementEntry)
from models.services import SERVICE_MODELS, Instalment, Service, ServiceRequest  # noqa: F401
from models.decisions import DECISION_MODELS, ApplicationDecision  # noqa: F401
from models.admin import ADMIN_MODELS, AdminSetting  # noqa: F401

ALL_MODELS = [User, EndedSession, UserSession, PasswordHistory, Client, Membership, Consent, PendingRegistration,
              PasswordReset, ContactChange, OneTimeCode, Notification, DevOutbox, AuditLog, StoredFile, Invitation,
              *MESSAGE_MODELS, *DOCUMENT_MODELS, *IDENTITY_MODELS, *REGISTER_MODELS, *APPLICATION_MODELS,
              *FINANCE_MODELS, *SECOND_FACTOR_MODELS, *POWER_OF_ATTORNEY_MODELS, *PASSKEY_MODELS,
              *IDENTIFICATION_MODELS, *SERVICE_MODELS, *DECISION_MODELS, *ADMIN_MODELS]
