"""Translatable text for the domain, without Flask.

``rules`` and ``models`` mark user-visible strings with ``_l`` as the web layer
does; the text is looked up only when it is shown (``str()``), through the
translator the application installs at start-up (``set_translator``, given
Flask-Babel's ``gettext`` by ``portal.create_app``). With none installed — a
job or a test without an app — the English source text is used.
"""
from babel.support import LazyProxy

_translator = None


def set_translator(gettext):
    """Install ``gettext(msgid, **params) -> str`` (the web layer's translator)."""
    global _translator
    _translator = gettext


def _translate(msgid, params):
    if _translator is not None:
        return _translator(msgid, **params)
    return msgid % params if params else msgid


class LazyText(LazyProxy):
    """A message translated each time it is shown, in the language of that moment."""

    def __html__(self):
        # As Flask-Babel's lazy strings: the catalogue's text is ours, so Jinja
        # and Flask's session serialiser take it as it is.
        return str(self)


def lazy_gettext(msgid, **params):
    """A translatable message with %(name)s parameters, translated when shown."""
    return LazyText(_translate, msgid, params, enable_cache=False)


_l = lazy_gettext
