"""Adapters for the systems outside the portal: mail, SMS, file storage, the signing service,
the identification provider.

Each is an object with a production implementation and, where useful, a development
one (``development_only = True``) that keeps everything on this machine. ``build``
makes them once from the configuration; ``portal.create_app`` hands them to the
domain (``models.runtime``) and the jobs (``adapters.of(app)``). In production a
development adapter is refused at start-up (``refuse_development_parts``).
"""
from dataclasses import dataclass


class DeliveryError(Exception):
    """Not delivered, and known not to be: the server or gateway could not be reached, or
    refused the message. ``permanent`` when trying again cannot help (an address it
    rejects for good); otherwise the notification is tried again after a back-off."""

    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.permanent = permanent


class DeliveryUnknown(Exception):
    """Handed over, but no answer came (a timeout, a dropped connection): it may have
    arrived. Never tried again by itself (that could deliver it twice)."""


def no_handover():
    """The default ``on_handover`` hook of ``send``: nothing to record."""


@dataclass
class Adapters:
    mail: object
    sms: object
    storage: object
    signing: object
    identification: object = None  # adapters.identification

    def development_parts(self):
        """Names of the development adapters in use (empty in a proper production set-up)."""
        return [f"{kind}={getattr(self, kind).name}" for kind in DEVELOPMENT_KINDS
                if getattr(getattr(self, kind), "development_only", False)]


# The kinds that have a development backend, and the setting that gives each a real one.
DEVELOPMENT_KINDS = {
    "mail": "set MAIL_SERVER to the SMTP server (MAIL_BACKEND=smtp)",
    "sms": "set SMS_GATEWAY_URL to the HTTP SMS gateway (SMS_BACKEND=http)",
    "signing": "set SIGNING_BACKEND=none (no signing service: clients upload the package "
               "signed elsewhere)",
    "identification": "set IDENTIFICATION_BACKEND=hosted with IDENTIFICATION_START_URL and "
                      "IDENTIFICATION_WEBHOOK_SECRET, or none (staff identify in person or by video)",
}


class DevelopmentPartsRefused(RuntimeError):
    """Production was asked to run with a development backend."""


def refuse_development_parts(outside):
    """Raise ``DevelopmentPartsRefused`` naming each development backend in ``outside`` and
    the setting that replaces it (production calls this at start-up)."""
    parts = [kind for kind in DEVELOPMENT_KINDS
             if getattr(getattr(outside, kind), "development_only", False)]
    if parts:
        fixes = "; ".join(f"{kind}={getattr(outside, kind).name}: {DEVELOPMENT_KINDS[kind]}"
                          for kind in parts)
        raise DevelopmentPartsRefused(
            f"PORTAL_ENV=production does not start with development backends ({fixes}). "
            "On a development machine set PORTAL_ENV=development.")


def build(config, signing_path_for_token, webhook_secret, identification_path_for_session=None,
          identification_secret=b""):
    """The adapters a configuration mapping names."""
    from adapters import identification
    from adapters.mail import DevMail, SmtpMail
    from adapters.signing import DevSigningService, NoSigningService
    from adapters.sms import DevSms, HttpSms
    from adapters.storage import storage_from_config

    mail = (SmtpMail(config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"],
                     config["MAIL_USERNAME"], config["MAIL_PASSWORD"], config["MAIL_FROM"],
                     timeout=config.get("MAIL_TIMEOUT", 15))
            if config["MAIL_BACKEND"] == "smtp" else DevMail())
    sms = (HttpSms(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"], config["SMS_SENDER"],
                   timeout=config.get("SMS_TIMEOUT", 15))
           if config["SMS_BACKEND"] == "http" else DevSms())
    signing_backend = config.get("SIGNING_BACKEND", "dev")
    if signing_backend == "dev":
        signing = DevSigningService(webhook_secret, signing_path_for_token)
    elif signing_backend == "none":
        signing = NoSigningService(webhook_secret)
    else:
        raise RuntimeError(f"unknown SIGNING_BACKEND {signing_backend!r} (dev or none)")
    provider = identification.from_config(config, identification_secret, identification_path_for_session)
    return Adapters(mail=mail, sms=sms, storage=storage_from_config(config), signing=signing,
                    identification=provider)


def of(app):
    """The adapters an application was built with."""
    return app.extensions["adapters"]
