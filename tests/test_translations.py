"""The Latvian catalogue is complete: every UI string has a real translation.

Latvian is the default language, so an untranslated string would show up in English.
The strings are extracted afresh from the code and templates (as `make extract-messages`
does, into a temporary file), so a string added without extraction or translation fails here.
"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
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


def extract_command(output):
    """The `pybabel extract` command of the Makefile's extract-messages target, writing to output."""
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^extract-messages:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "the Makefile has no extract-messages target"
    line = next(cmd for cmd in target.group(1).splitlines() if "pybabel extract" in cmd)
    args = shlex.split(line.strip().replace("$(BIN)/", ""))
    assert args[:2] == ["pybabel", "extract"], args
    args[args.index("-o") + 1] = str(output)
    return [sys.executable, "-m", "babel.messages.frontend"] + args[1:]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The message ids found in the code right now (not the committed messages.pot)."""
    output = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(extract_command(output), cwd=ROOT, check=True, capture_output=True, timeout=120)
    return {m.id if isinstance(m.id, str) else m.id[0] for m in messages(output)}


def test_every_extracted_message_has_a_latvian_translation(extracted):
    catalogue_ = {m.id if isinstance(m.id, str) else m.id[0]: m for m in latvian()}
    assert len(extracted) > 100, "the extraction found too little: is babel.cfg still right?"
    assert sorted(extracted - set(catalogue_)) == [], "in the code but not in the lv catalogue"
    untranslated = [i for i in sorted(extracted) if not all(s.strip() for s in texts(catalogue_[i].string))]
    assert untranslated == []
    assert [i for i in sorted(extracted) if catalogue_[i].fuzzy] == []


def test_latvian_catalogue_holds_nothing_the_code_no_longer_uses(extracted):
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in latvian()}
    assert sorted(translated - extracted) == [], "in the lv catalogue but no longer in the code"


def test_latvian_catalogue_has_latvian_plural_rules():
    cat = catalogue(TRANSLATIONS / "lv" / "LC_MESSAGES" / "messages.po")
    assert str(cat.locale) == "lv"
    assert cat.plural_forms == "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2);"
