"""The pure rules: passwords, identifiers, roles. No database, no request."""
import re
from datetime import datetime

import pytest
from flask_babel import force_locale

import rules
from rules import throttle
from rules.keys import Keyring, SealBroken, same
from portal import create_app


@pytest.fixture(scope="module")
def rules_app():
    return create_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": "rules", "DATABASE_URL": "sqlite:///:memory:"})


@pytest.fixture(autouse=True)
def app_context(rules_app):
    # lazy_gettext messages need an app to be turned into text (one app for the module)
    with rules_app.test_request_context(), force_locale("en"):
        yield


@pytest.mark.parametrize("password", ["Zilais-Kalns7!", "Āboliņš#2026", "Aa1!" + "x" * 60,
                                      "Tr1cky_Horse battery"])
def test_password_meeting_every_rule_is_accepted(password):
    assert rules.password_problems(password) == []


@pytest.mark.parametrize("password,missing", [
    ("Sh0rt!", "at least 8"),
    ("nouppercase1!", "upper-case"),
    ("NOLOWERCASE1!", "lower-case"),
    ("NoDigitsHere!", "digit"),
    ("NoSymbols123", "symbol"),
])
def test_password_missing_a_rule_names_what_is_missing(password, missing):
    problems = [str(p) for p in rules.password_problems(password)]
    assert any(missing in p for p in problems), problems


@pytest.mark.parametrize("password", ["Password1!", "Qwerty123!", "Dragon2024#", "Iloveyou1?"])
def test_common_passwords_are_refused_even_with_digits_and_symbols(password):
    problems = [str(p) for p in rules.password_problems(password)]
    assert any("common" in p for p in problems)


def test_password_longer_than_the_limit_is_refused_not_truncated():
    assert rules.password_problems("Aa1!" + "x" * rules.PASSWORD_MAX_LENGTH)


@pytest.mark.parametrize("value,expected", [
    ("Jana@Example.LV", ("email", "jana@example.lv")),
    ("+37120000000", ("phone", "+37120000000")),
    ("0037120000000", ("phone", "+37120000000")),
    (" +371 2000 0000 ", ("phone", "+37120000000")),
    ("20000000", (None, None)),  # a phone must carry its country code
    ("not an address", (None, None)),
    ("+3712", (None, None)),
    ("", (None, None)),
])
def test_identifier_is_email_or_international_phone(value, expected):
    assert rules.parse_identifier(value) == expected


def test_temporary_passwords_read_and_type_easily_and_keep_the_rule():
    """Capitals, small letters, digits in groups of four with hyphens; no look-alikes (0 O o,
    1 l I), no + or other symbols a keyboard or an SMS mangles; the password rule holds."""
    made = [rules.temporary_password() for _ in range(500)]
    for password in made:
        assert re.fullmatch(r"[A-Z]{4}-[a-z]{4}-[2-9]{4}", password), password
        assert not set(password) & set("0Oo1lI+!#%?\"' "), password
        assert rules.password_problems(password) == [], password
    assert len(set(made)) == len(made)
    assert set("".join(made)) - {"-"} == set("".join(rules.TEMPORARY_PASSWORD_GROUPS))  # the whole alphabet used


def test_test_domain_addresses_only_when_asked_for():
    """The demo accounts' .test addresses: refused unless the caller (development) asks for
    them; the other special-use domains stay refused either way."""
    assert rules.normalise_email("Admin@Kabinets.test") is None
    assert rules.normalise_email("Admin@Kabinets.test", test_domains=True) == "admin@kabinets.test"
    assert rules.parse_identifier("admin@kabinets.test") == (None, None)
    assert rules.parse_identifier("admin@kabinets.test", test_domains=True) == ("email", "admin@kabinets.test")
    for address in ("a@printer.local", "a@x.invalid", "a@localhost", "a@x.onion"):
        assert rules.normalise_email(address, test_domains=True) is None, address


@pytest.mark.parametrize("value,domain", [
    ("admin@kabinets.test", "kabinets.test"),
    ("anna@printer.local", "printer.local"),
    ("anna@localhost", "localhost"),
    ("anna@example.lv", None),  # a good address
    ("not an address@kabinets.test", None),  # the format is wrong too
    ("kabinets.test", None),
])
def test_reserved_email_domain_names_the_domain_only_when_it_is_the_problem(value, domain):
    assert rules.reserved_email_domain(value) == domain


def test_phone_is_stored_as_e164_for_the_chosen_country():
    assert rules.normalise_phone("20 000 000", "LV") == "+37120000000"
    assert rules.normalise_phone("5123 4567", "EE") == "+37251234567"
    assert rules.normalise_phone("123", "LV") is None


def test_mask_hides_most_of_the_target():
    assert rules.mask("email", "jana@example.lv") == "j***@example.lv"
    assert rules.mask("sms", "+37120001234") == "+371 ****1234"


def test_staff_roles_are_ordered():
    assert rules.staff_role_at_least("admin", "consultant")
    assert rules.staff_role_at_least("supervisor", "supervisor")
    assert not rules.staff_role_at_least("consultant", "supervisor")
    assert not rules.staff_role_at_least(None, "consultant")


def test_colleague_defaults_to_own_items_without_managing_users():
    rights = rules.ROLE_DEFAULT_RIGHTS[rules.COLLEAGUE]
    assert rights["own_items_only"] and not rights["manage_users"] and not rights["finance"]
    assert rules.ROLE_DEFAULT_RIGHTS[rules.MAIN]["manage_users"]
    assert not rules.ROLE_DEFAULT_RIGHTS[rules.REGISTRANT]["manage_users"]


def test_sealed_text_opens_only_with_the_same_secret():
    keys = Keyring("first secret")
    token = keys.seal("outbox", '{"code": "123456"}')
    assert "123456" not in token
    assert keys.unseal("outbox", token) == '{"code": "123456"}'
    with pytest.raises(SealBroken):
        Keyring("another secret").unseal("outbox", token)
    with pytest.raises(SealBroken):
        keys.unseal("another purpose", token)


def test_a_rotated_secret_still_opens_what_the_previous_one_sealed():
    token = Keyring("old secret").seal("outbox", "kods")
    assert Keyring("new secret", previous=["old secret"]).unseal("outbox", token) == "kods"


def test_each_purpose_has_its_own_key_and_none_is_the_secret():
    keys = Keyring("s" * 40)
    assert keys.key("a") != keys.key("b") and len(keys.key("a")) == 32
    assert keys.key("a") != Keyring("t" * 40).key("a")
    assert b"s" * 32 != keys.key("a")


def test_tokens_compare_as_bytes_and_never_raise():
    assert same("abc", "abc") and same(b"abc", "abc")
    assert not same("ā", "a") and not same("abc", None) and not same("\udcff", "x")


def test_countries_are_named_in_the_interface_language():
    lv = dict(rules.countries("lv"))
    en = dict(rules.countries("en"))
    assert lv["LV"] == "Latvija" and en["LV"] == "Latvia"
    assert rules.phone_regions("lv")[0][0] == "LV"


def test_a_threads_message_pointer_is_trusted_only_shortly_after_the_database_was_asked():
    from rules.polling import POINTER_TRUST_SECONDS, pointer_trusted
    now = 1_800_000_000
    assert pointer_trusted(now, now) and pointer_trusted(now - POINTER_TRUST_SECONDS + 1, now)
    assert not pointer_trusted(now - POINTER_TRUST_SECONDS, now)
    assert pointer_trusted(now + 2, now)  # another web server's clock a little ahead
    assert not pointer_trusted(now + 3600, now)


# --- Throttling: known-device tokens and the message cap (rules/throttle.py) ----------------------

def test_a_device_token_names_its_device_only_for_its_user_and_password():
    keys, now = Keyring("device-secret"), 1_800_000_000
    token = throttle.device_token(keys, 7, "$argon2id$old", now, nonce="n0nce")
    assert throttle.known_device(keys, token, 7, "$argon2id$old", now + 60) == "n0nce"
    assert throttle.known_device(keys, token, 8, "$argon2id$old", now) is None  # another user
    assert throttle.known_device(keys, token, 7, "$argon2id$new", now) is None  # the password changed
    assert throttle.known_device(Keyring("another-secret"), token, 7, "$argon2id$old", now) is None
    lifetime = throttle.KNOWN_DEVICE_LIFETIME.total_seconds()
    assert throttle.known_device(keys, token, 7, "$argon2id$old", now + lifetime + 1) is None  # too old
    assert throttle.known_device(keys, token, 7, "$argon2id$old", now - 3600) is None  # from the future
    tampered = token.replace(".n0nce.", ".other.")
    assert throttle.known_device(keys, tampered, 7, "$argon2id$old", now) is None
    for junk in ("", "v1", "v1.x.1.n.m", "v2" + token[2:], token + ".extra"):
        assert throttle.known_device(keys, junk, 7, "$argon2id$old", now) is None


def test_a_browser_remembers_a_few_accounts_newest_first():
    keys = Keyring("device-secret")
    cookie = ""
    for user_id in (1, 2, 3, 4):
        cookie = throttle.remember_device(cookie, throttle.device_token(keys, user_id, "h", 1_800_000_000))
    assert [t.split(".")[1] for t in throttle.device_tokens(cookie)] == ["4", "3", "2"]
    again = throttle.device_token(keys, 2, "h", 1_800_000_100, nonce="fresh")
    cookie = throttle.remember_device(cookie, again)
    assert throttle.device_tokens(cookie) == [again, *throttle.device_tokens(cookie)[1:]]
    assert [t.split(".")[1] for t in throttle.device_tokens(cookie)] == ["2", "4", "3"]


def test_past_the_cap_another_message_is_due_only_when_the_newest_code_has_expired():
    now = datetime(2026, 12, 1, 12, 0)
    assert throttle.another_message_due(None, now, rules.CODE_LIFETIME)
    assert not throttle.another_message_due(now - rules.CODE_LIFETIME / 2, now, rules.CODE_LIFETIME)
    assert throttle.another_message_due(now - rules.CODE_LIFETIME, now, rules.CODE_LIFETIME)


@pytest.mark.parametrize("seconds,minutes", [(0, 1), (1, 1), (60, 1), (61, 2), (899, 15), (900, 15)])
def test_minutes_until_rounds_up_to_whole_minutes(seconds, minutes):
    assert throttle.minutes_until(1000 + seconds, 1000) == minutes


# --- Names of files shown or packed together (issue 11) ----------------------------------------

@pytest.mark.parametrize("names, expected", [
    (["līgums.pdf", "līgums.pdf"], ["līgums.pdf", "līgums (2).pdf"]),
    (["līgums.pdf", "Līgums.PDF", "līgums.pdf"], ["līgums.pdf", "Līgums (2).PDF", "līgums (3).pdf"]),
    (["līgums.pdf", "līgums.pdf", "līgums (2).pdf"], ["līgums.pdf", "līgums (3).pdf", "līgums (2).pdf"]),
    (["README", "README", ".profile", ".profile"], ["README", "README (2)", ".profile", ".profile (2)"]),
    (["a.tar.gz", "a.tar.gz"], ["a.tar.gz", "a.tar (2).gz"]),
    (["viens.pdf", "divi.pdf"], ["viens.pdf", "divi.pdf"]),
])
def test_names_shown_together_are_made_distinct(names, expected):
    from rules.uploads import distinct_names
    assert distinct_names(names) == expected
    assert len({n.casefold() for n in distinct_names(names)}) == len(names)


def test_the_accounts_overview_groups_private_managed_and_colleague_accounts_in_order():
    from types import SimpleNamespace
    from rules import access

    def membership(name, legal, manages):
        return SimpleNamespace(name=name, client=SimpleNamespace(is_legal=legal),
                               allows=lambda permission: manages and permission == "manage_users")

    mine = [membership("B", True, False), membership("me", False, False), membership("A", True, True),
            membership("C", True, False)]
    groups = [(group, [m.name for m in members]) for group, members in access.grouped_accounts(mine)]
    assert groups == [("private", ["me"]), ("managed", ["A"]), ("colleague", ["B", "C"])]
    assert access.grouped_accounts([mine[0]])[0][0] == "colleague"  # empty groups are left out
    assert access.grouped_accounts([]) == []
