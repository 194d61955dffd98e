"""A provider's minimum acr (issue 12): the portal asks the broker for ``acr_values`` and refuses an
ID token whose ``acr`` is below ``min_acr`` — on the provider's ordered levels, or as an exact set —
with the translated failure page and an ``eid.failed`` audit row, signing nobody in. Against the
development broker on loopback (tests/oidc_broker.py), whose tokens say ``LoA/high``."""
import json
import shutil

import pytest

import models
from adapters.identity import ProviderConfigError, providers_from_config
from blueprints.extensions import limiter
from conftest import build_app, make_config
from oidc_broker import provider_config, query_of, running_broker
from rules import identity as eid
from test_eid import assert_refused, flow, linked_user, signed_in, start

LOA = "http://eidas.europa.eu/LoA/"
LEVELS = [LOA + "low", LOA + "substantial", LOA + "high"]


@pytest.fixture
def broker():
    with running_broker() as running:
        yield running


def portal_trusting(tmp_path, sqlite_template, redis_url, smtp_server, broker, **acr):
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port, UPLOAD_DIR=str(tmp_path / "up"),
                                EID_PROVIDERS=json.dumps([provider_config(broker, **acr)])))
    with app.app_context():
        limiter.reset()
    return app


@pytest.fixture
def strict_app(tmp_path, sqlite_template, redis_url, smtp_server, broker):
    app = portal_trusting(tmp_path, sqlite_template, redis_url, smtp_server, broker,
                          acr_values=LOA + "substantial", min_acr=LOA + "substantial", acr_order=LEVELS)
    yield app
    models.db.close()


def test_the_portal_asks_for_the_acr_and_a_stronger_one_passes(strict_app, broker):
    linked_user(strict_app)
    client = strict_app.test_client()
    assert query_of(start(client))["acr_values"] == LOA + "substantial"
    assert flow(client).status_code == 303 and signed_in(client)  # the broker says LoA/high


@pytest.mark.parametrize("acr", [LOA + "low", "", "urn:something:else"], ids=["lower", "none", "unknown"])
def test_an_id_token_below_the_minimum_acr_is_refused(strict_app, broker, acr):
    linked_user(strict_app)
    client = strict_app.test_client()
    broker.id_token_hook = lambda claims: {**{k: v for k, v in claims.items() if k != "acr"},
                                           **({"acr": acr} if acr else {})}
    response = flow(client)
    assert_refused(strict_app, client, response, eid.ACR_TOO_LOW, status=403)
    assert "eParaksts" in response.get_data(as_text=True)  # the translated words, in Latvian


def test_an_exact_set_of_accepted_acr_values(tmp_path, sqlite_template, redis_url, smtp_server, broker):
    app = portal_trusting(tmp_path, sqlite_template, redis_url, smtp_server, broker,
                          min_acr=[LOA + "substantial"])
    try:
        linked_user(app)
        client = app.test_client()
        assert "acr_values" not in query_of(start(client))
        assert_refused(app, client, flow(client), eid.ACR_TOO_LOW, status=403)  # "high" is not in the set
    finally:
        models.db.close()


def test_the_acr_rules():
    assert eid.acr_sufficient("anything", "")
    assert eid.acr_sufficient(LOA + "high", LOA + "substantial", LEVELS)
    assert eid.acr_sufficient(LOA + "substantial", LOA + "substantial", LEVELS)
    assert not eid.acr_sufficient(LOA + "low", LOA + "substantial", LEVELS)
    assert not eid.acr_sufficient("", LOA + "substantial", LEVELS)
    assert eid.acr_sufficient("a", ("a", "b")) and not eid.acr_sufficient("c", ("a", "b"))


@pytest.mark.parametrize("entry", [{"min_acr": "x", "acr_order": ["a", "b"]}, {"acr_order": "a b"},
                                   {"min_acr": 3}, {"acr_values": ["a"]}, {"min_acr": ["a"], "acr_order": ["a"]}])
def test_unusable_acr_settings_are_refused_at_start(entry):
    base = {"name": "x", "issuer": "https://broker.example", "client_id": "c", "client_secret": "s"}
    with pytest.raises(ProviderConfigError):
        providers_from_config(json.dumps([{**base, **entry}]), {}, production=True)
