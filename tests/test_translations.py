"""The Latvian catalogue is complete: every UI string has a real translation.

Latvian is the default language, so an untranslated string would show up in English.
After `make update-messages` a string added to the code without a translation fails here.
"""
import re
from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def catalogue(path):
    with open(path, "rb") as f:
        return read_po(f)


def messages(path):
    """The real messages of a catalogue (the header has an empty msgid)."""
    return [m for m in catalogue(path) if m.id]


def latvian():
    return messages(TRANSLATIONS / "lv" / "LC_MESSAGES" / "messages.po")


def texts(value):
    """msgid / msgstr as a tuple: plural entries are tuples already."""
    return value if isinstance(value, (tuple, list)) else (value,)


def test_every_latvian_message_is_translated():
    untranslated = [m.id for m in latvian() if not all(s.strip() for s in texts(m.string))]
    assert untranslated == []


def test_no_latvian_message_is_fuzzy():
    assert [m.id for m in latvian() if m.fuzzy] == []


def test_latvian_translations_keep_every_placeholder():
    mismatched = []
    for m in latvian():
        wanted = {name for text in texts(m.id) for name in PLACEHOLDER.findall(text)}
        for text in texts(m.string):
            if set(PLACEHOLDER.findall(text)) != wanted:
                mismatched.append((m.id, text))
    assert mismatched == []


def test_latvian_catalogue_holds_exactly_the_extracted_messages():
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in messages(TRANSLATIONS / "messages.pot")}
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in latvian()}
    assert sorted(template - translated) == [], "in messages.pot but not in the lv catalogue"
    assert sorted(translated - template) == [], "in the lv catalogue but not in messages.pot"


def test_latvian_catalogue_has_latvian_plural_rules():
    cat = catalogue(TRANSLATIONS / "lv" / "LC_MESSAGES" / "messages.po")
    assert str(cat.locale) == "lv"
    assert cat.plural_forms == "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2);"
