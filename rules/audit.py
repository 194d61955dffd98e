"""The audit log in words: a label for each action code and for each detail, so staff read
"Ienāca portālā" and "Dokuments: Nr. 12; Statuss: Apstrādē" instead of ``login.success`` and
JSON. The codes themselves stay in the log (and in its filter); an unknown one is shown as it is.
"""
from rules import LEGAL, NATURAL, PERMISSION_LABELS, PERMISSIONS, STAFF_ROLE_LABELS, identity, throttle
from rules import decisions, onboarding
from rules import documents as R
from rules import identification as I
from rules import register, services, staff
from rules.i18n import _l

ACTION_LABELS = {
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in refused"),
    "login.eid": _l("Signed in with e-identity"),
    "eid.verified": _l("E-identity confirmed by the identity provider"),
    "eid.failed": _l("Sign-in with e-identity failed"),
    "eid.linked": _l("E-identity linked to the account"),
    "eid.link_refused": _l("Linking e-identity refused: wrong account or password"),
    "eid.unlinked": _l("E-identity unlinked from the account"),
    "login.step_up": _l("Confirmed it is still them (step-up)"),
    "login.step_up_failed": _l("Step-up confirmation refused: wrong password, code or passkey"),
    "logout": _l("Signed out in one browser"),
    "logout.everywhere": _l("Signed out everywhere"),
    "session.ended": _l("Ended one of their other sessions"),
    "session.ended_others": _l("Ended all their other sessions"),
    "totp.enabled": _l("Two-step sign-in turned on"),
    "company.second_factor_required": _l("Company requires two-step sign-in or e-identity"),
    "company.second_factor_not_required": _l("Company no longer requires two-step sign-in"),
    "totp.disabled": _l("Two-step sign-in turned off"),
    "totp.recovery_codes": _l("New recovery codes made"),
    "login.totp_failed": _l("Sign-in refused: wrong code of the second step"),
    "login.recovery_code": _l("Signed in with a recovery code"),
    "login.passkey_failed": _l("Sign-in refused: the passkey was not accepted"),
    "passkey.added": _l("Passkey added"),
    "passkey.add_failed": _l("Adding a passkey refused"),
    "passkey.removed": _l("Passkey removed"),
    "staff.sessions_ended": _l("Ended every session of a client user"),
    "auth.throttled": _l("Too many attempts: held back"),
    "password.reset_requested": _l("Password recovery requested"),
    "password.reset_code_failed": _l("Wrong password recovery code"),
    "password.reset": _l("Temporary password sent"),
    "password.changed": _l("Password changed"),
    "registration.code_failed": _l("Wrong registration code"),
    "registration.completed": _l("Registered"),
    "settings.profile_changed": _l("Settings changed"),
    "settings.contact_change_requested": _l("Change of e-mail or phone requested"),
    "settings.contact_password_failed": _l("Change of e-mail or phone: wrong password"),
    "settings.contact_code_failed": _l("Change of e-mail or phone: wrong code"),
    "settings.contact_changed": _l("E-mail or phone changed"),
    "document.signed_container_refused": _l("Signed package refused"),
    "document.signing_completed": _l("Signed at the signing service"),
    "document.file_downloaded": _l("Document file downloaded"),
    "document.version_downloaded": _l("Document version downloaded (ZIP)"),
    "document.signed_container_downloaded": _l("Signed container downloaded"),
    "message.attachment_downloaded": _l("Message attachment downloaded"),
    "message.staff_reply": _l("Replied to a message"),
    "message.delay_explained": _l("Explained a delay in answering"),
    "notification.send_again": _l("Notification to be sent again"),
    "notification.delivered": _l("Notification marked as delivered"),
    "notification.close": _l("Notification closed"),
    "staff.exported": _l("Exported a list as CSV"),
    "invoice.issued": _l("Invoice issued"),
    "invoice.payment_recorded": _l("Payment recorded by hand"),
    "invoice.credit_note_issued": _l("Credit note issued"),
    "finance.statement_imported": _l("Bank statement imported"),
    "finance.entry_assigned": _l("Statement entry assigned to an invoice"),
    "service.created": _l("Service added to a client"),
    "service.changed": _l("Client's service changed"),
    "service.request_sent": _l("Request about a service sent"),
    "staff.created": _l("Staff user created"),
    "register.imported": _l("Company-register data imported"),
    "main_user.confirmed_by_register": _l("Became main user: confirmed by the company register"),
    "main_user.register_refused": _l("Becoming main user refused: the company register does not confirm it"),
    "main_user.requested": _l("Main-user rights requested with a signed authorisation"),
    "main_user.granted": _l("Main-user rights granted"),
    "main_user.refused": _l("Main-user rights refused"),
    "main_user.granted_at_visit": _l("Main-user rights granted after a visit"),
    "main_user.removed": _l("Main-user rights taken away by staff"),
    "main_user.file_downloaded": _l("Signed authorisation downloaded"),
    "power_of_attorney.uploaded": _l("Power of attorney sent for verification"),
    "power_of_attorney.verified": _l("Power of attorney verified: rights granted"),
    "power_of_attorney.refused": _l("Power of attorney refused"),
    "power_of_attorney.expired": _l("Power of attorney expired: the access it gave ended"),
    "power_of_attorney.file_downloaded": _l("Signed power of attorney downloaded"),
    "company.invitation_sent": _l("Colleague invited"),
    "company.invitation_resent": _l("Invitation sent again"),
    "company.invitation_cancelled": _l("Invitation cancelled"),
    "company.invitation_accepted": _l("Invitation accepted"),
    "eid.invitation_joined": _l("Joined a company by invitation at the first e-identity sign-in"),
    "eid.invitation_refused": _l("Invitation refused at the first e-identity sign-in"),
    "company.rights_changed": _l("User's rights changed"),
    "company.main_user_demoted": _l("Main user made a colleague"),
    "company.access_revoked": _l("User's access revoked"),
    "demo.seeded": _l("Demo data loaded"),
    "application.start": _l("Application started"),
    "application.submit": _l("Application submitted"),
    "identification.required": _l("Identification required (invited by e-mail if not the registrant)"),
    "identification.started": _l("Identification started at the provider"),
    "identification.result": _l("Identification result from the provider"),
    "identification.decided": _l("Identification result recorded by hand"),
    "identification.in_person": _l("Identification in person required"),
    "identification.video_requested": _l("Video identification agreed"),
    "identification.photo_viewed": _l("Identification photo opened"),
    "identification.webhook_refused": _l("Identification provider's message refused"),
    "identification.webhook_unknown_session": _l("Identification provider's message for an unknown session"),
    "application.decision": _l("Decision on an application"),
    "application.add_service": _l("Service added to an application"),
}
ACTION_LABELS.update(staff.AUDIT_ACTION_LABELS)  # the back office (issue 15)
# document.<action>: what the document's history calls the action ("document.created" too).
ACTION_LABELS.update({f"document.{action}": _l("Document: %(action)s", action=label)
                      for action, label in R.ACTION_LABELS.items()})

EID_FAILURE_LABELS = {
    identity.CANCELLED: _l("cancelled at the identity provider"),
    identity.PROVIDER_ERROR: _l("the identity provider answered with an error"),
    identity.STATE: _l("the answer's state did not match (another browser, or used already)"),
    identity.CODE_REFUSED: _l("the authorization code was refused (expired or used already)"),
    identity.TOKEN_INVALID: _l("the ID token did not verify (signature, issuer, audience, nonce or time)"),
    identity.NO_PERSONAL_CODE: _l("no personal code in the ID token"),
    identity.UNAVAILABLE: _l("the identity provider could not be reached"),
    identity.EXPIRED: _l("took too long"),
    identity.ACCOUNT_CLOSED: _l("the linked account is closed"),
    identity.OTHER_PERSON: _l("another person's e-identity than the signed-in account's"),
    identity.NOT_FRESH: _l("linking without a recent password confirmation"),
    # an employee's first e-identity sign-in with a company's invitation (eid.invitation_refused)
    "invitation_unknown": _l("no invitation has this code"),
    "invitation_expired": _l("the invitation has expired"),
    "invitation_used": _l("the invitation was used already"),
    "invitation_cancelled": _l("the invitation was cancelled"),
    "invitation_other_person": _l("the invitation was sent to another person's account"),
    "invitation_needs_account": _l("an account has the invitation's e-mail or phone: it must be linked "
                                   "with its password"),
}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}
CLIENT_TYPE_LABELS = {NATURAL: _l("Natural person"), LEGAL: _l("Legal person")}
CONTACT_FIELD_LABELS = {"email": _l("E-mail"), "phone": _l("Phone number")}
PROFILE_FIELD_LABELS = {"full_name": _l("Name, surname"), "language": _l("Language for communication"),
                        "notify_email": _l("E-mail"), "notify_sms": _l("SMS")}
LIMIT_LABELS = {
    throttle.SIGN_IN_PER_SOURCE.name: _l("sign-ins from one address"),
    throttle.SIGN_IN_PER_ACCOUNT.name: _l("sign-ins to one account from unknown browsers"),
    throttle.SIGN_IN_PER_DEVICE.name: _l("sign-ins from one known browser"),
    throttle.RECOVERY_PER_SOURCE.name: _l("password recoveries from one address"),
    throttle.RECOVERY_MESSAGES_PER_TARGET.name: _l("recovery messages to one address or number"),
    throttle.RECOVERY_PER_DEVICE.name: _l("password recoveries from one known browser"),
    throttle.REGISTRATION_PER_SOURCE.name: _l("registrations from one address"),
    throttle.REGISTRATION_MESSAGES_PER_TARGET.name: _l("registration messages to one address or number"),
    throttle.PASSWORD_CHANGE_PER_ACCOUNT.name: _l("password changes of one account"),
    throttle.CONTACT_CHANGE_PER_SOURCE.name: _l("e-mail or phone changes from one address"),
    throttle.CONTACT_CHANGE_PER_ACCOUNT.name: _l("e-mail or phone changes of one account from unknown browsers"),
    throttle.CONTACT_CHANGE_PER_DEVICE.name: _l("e-mail or phone changes from one known browser"),
    throttle.CONTACT_CHANGE_MESSAGES_PER_TARGET.name: _l("codes for a new e-mail or phone to one address or number"),
    throttle.INVITATIONS_PER_COMPANY.name: _l("invitations of one company"),
    throttle.INVITATION_MESSAGES_PER_TARGET.name: _l("invitations to one address or number"),
    throttle.SECOND_STEP_PER_ACCOUNT.name: _l("second-step codes for one account from unknown browsers"),
    throttle.SECOND_STEP_PER_DEVICE.name: _l("second-step codes from one known browser"),
}
RIGHT_LABELS = {p: PERMISSION_LABELS[p] for p in PERMISSIONS}


def _number(value):
    return f"Nr. {value}"


def _signers(value):
    return "; ".join(f"{s.get('name') or '?'} ({s.get('detail') or '—'})" if isinstance(s, dict) else str(s)
                     for s in value)


# key: (label, how its value reads: a dict of labels or a function; None: as it is)
DETAILS = {
    "document": (_l("Document"), _number),
    "application": (_l("Application"), _number),
    "status": (_l("Status"), R.STATUS_LABELS),
    "channel": (_l("Channel"), CHANNEL_LABELS),
    "client_type": (_l("Client type"), CLIENT_TYPE_LABELS),
    "changed": (_l("Changed"), PROFILE_FIELD_LABELS),
    "limit": (_l("Limit"), LIMIT_LABELS),
    "contact": (_l("Contact"), CONTACT_FIELD_LABELS),
    "previous": (_l("Previous"), None),
    "new": (_l("New"), None),
    "role": (_l("Role"), STAFF_ROLE_LABELS),
    "invitation": (_l("Signing invitation"), _number),
    "version": (_l("Version"), None),
    "thread": (_l("Conversation"), _number),
    "message": (_l("Message"), _number),
    "file": (_l("File"), _number),
    "notification": (_l("Notification"), _number),
    "template": (_l("Notification type"), None),  # labelled by the caller (the subjects are the jobs')
    "problems": (_l("Reasons"), None),
    "refused_signers": (_l("Refused signers"), _signers),
    "provider": (_l("Identity provider"), None),
    "reason": (_l("Reason"), EID_FAILURE_LABELS),
    "acr": (_l("Assurance level"), None),
    "method": (_l("Method"), {"password": _l("password"), "eid": _l("e-identity"), "totp": _l("code from the app"),
                              "passkey": _l("passkey")}),
    "passkey": (_l("Passkey"), _number),
    "target_user": (_l("Whose sessions"), _number),
    "amr": (_l("Authentication methods"), None),
    "client": (_l("Client"), _number),
    "client_user": (_l("Client user"), _number),
    "request": (_l("Request"), _number),
    "power_of_attorney": (_l("Power of attorney"), _number),
    "registration_number": (_l("Registration number"), None),
    "outcome": (_l("Register says"), register.OUTCOME_LABELS),
    "source": (_l("Source"), None),
    "rows": (_l("Rows"), None),
    "companies": (_l("Companies"), None),
    "persons": (_l("Persons"), None),
    "skipped": (_l("Invalid rows left out"), None),
    "member": (_l("User"), None),
    "note": (_l("Note"), None),
    "last": (_l("The last main user"), None),
    "revoked_before": (_l("A main user had revoked their access"), None),
    "invited": (_l("Invited"), None),
    "rights": (_l("Rights"), RIGHT_LABELS),
    "own_items_only": (_l("Own items only"), None),
    "via": (_l("Invitation found by"), {"link": _l("its link"), "code": _l("its code"),
                                          "phone": _l("the verified phone number")}),
    "created": (_l("Account created"), None),
    "invoice": (_l("Invoice"), _number),
    **staff.AUDIT_DETAILS,
    "number": (_l("Invoice number"), None),
    "amount": (_l("Amount"), None),
    "payment": (_l("Payment"), _number),
    "credit_note": (_l("Credit note"), _number),
    "statement": (_l("Bank statement"), _number),
    "account": (_l("Account (IBAN)"), None),
    "entries": (_l("New entries"), None),
    "matched": (_l("Matched"), None),
    "duplicates": (_l("Imported before"), None),
    "entry": (_l("Statement entry"), _number),
    "service": (_l("Service"), _number),
    "category": (_l("Kind of service"), services.CATEGORY_LABELS),
    "session": (_l("Session"), _number),
    "count": (_l("How many"), None),
    "export": (_l("List"), {"audit": _l("audit log"), "documents": _l("documents queue"),
                            "messages": _l("messages queue")}),
    "filters": (_l("Filters"), None),
    "second_factor": (_l("Second step"), {"totp": _l("code from the app"), "recovery": _l("recovery code"),
                                          "passkey": _l("passkey")}),
    "identification": (_l("Identification"), _number),
    "identified": (_l("Identification result"), I.STATUS_LABELS),
    "result": (_l("Provider's result"), None),
    "event": (_l("Provider's event"), None),
    "scheduled_at": (_l("Agreed time (UTC)"), None),
    "service_code": (_l("Service"), onboarding.SERVICE_LABELS),
    "document_type": (_l("Document type"), {code: t.title for code, t in R.DOCUMENT_TYPES.items()}),
    "decision": (_l("Decision"), {code: d.label for code, d in decisions.DECISIONS.items()}),
    "parent": (_l("Added to application"), _number),
}


def action_label(action):
    """The words for an action code; the code itself when it has none."""
    return ACTION_LABELS.get(action, action)


def _text(value, reads):
    if isinstance(value, (list, tuple)) and not callable(reads):
        return ", ".join(_text(v, reads) for v in value) or "—"
    if callable(reads):
        return reads(value)
    if isinstance(reads, dict) and value in reads:
        return str(reads[value])
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v, None)}" for k, v in value.items())
    return "—" if value in (None, "") else str(value)


def describe(details, values=None):
    """The details of an audit row as (label, text) pairs for people; ``values`` adds labels
    for the values of some keys (``{"template": {code: label}}``). Unknown keys keep their name."""
    pairs = []
    for key, value in (details or {}).items():
        label, reads = DETAILS.get(key, (key, None))
        if values and key in values:
            reads = values[key]
        pairs.append((str(label), _text(value, reads)))
    return pairs
