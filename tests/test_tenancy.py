"""No object crosses a tenant: the scoping query against the rule (``rules.access``).

A table of the rule on its own (role × permission × scope × creator → reaches), then a
property-based test: hypothesis builds random companies and private clients, users with random
memberships (rights, own items only, revoked), documents and threads created by random members,
and services assigned to random members (a service is its assignee's); then, through the Flask
client as each user, every object's page answers 200 exactly when the rule says the user
reaches it and 404 otherwise, and each account's lists show exactly
the objects the rule gives for it. ``TENANCY_EXAMPLES`` sets the number of random worlds (60).
"""
import itertools
import os
import re
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import models
import rules
from models.documents import Document
from models.messages import Thread
from models.services import Service
from rules.access import Grant, grant_of, reaches

EXAMPLES = int(os.environ.get("TENANCY_EXAMPLES", "60"))
DOC_TYPES = ["loan_application", "contract_amendment", "disbursement_request", "company_documents"]


# --- The rule as a table ------------------------------------------------------------------------

ANNA, ILZE = 1, 2
COMPANY, OTHER = 10, 20


@pytest.mark.parametrize("grants, permission, owner, creator, expected", [
    # a main user reaches everything of their company, nothing of another
    ([Grant(COMPANY, frozenset(rules.PERMISSIONS))], "documents", COMPANY, ILZE, True),
    ([Grant(COMPANY, frozenset(rules.PERMISSIONS))], "documents", OTHER, ANNA, False),
    # a colleague limited to own items: their own only
    ([Grant(COMPANY, frozenset({"documents"}), own_items_only=True)], "documents", COMPANY, ANNA, True),
    ([Grant(COMPANY, frozenset({"documents"}), own_items_only=True)], "documents", COMPANY, ILZE, False),
    ([Grant(COMPANY, frozenset({"documents"}), own_items_only=True)], "documents", COMPANY, None, False),
    # the permission decides: documents without messages
    ([Grant(COMPANY, frozenset({"documents"}))], "messages", COMPANY, ANNA, False),
    ([Grant(COMPANY, frozenset({"messages"}))], "messages", COMPANY, ILZE, True),
    # a revoked membership reaches nothing, even one's own
    ([Grant(COMPANY, frozenset(rules.PERMISSIONS), revoked=True)], "documents", COMPANY, ANNA, False),
    # two accounts: each grant answers for its own client only
    ([Grant(COMPANY, frozenset({"documents"}), own_items_only=True), Grant(OTHER, frozenset({"documents"}))],
     "documents", OTHER, ILZE, True),
    ([Grant(COMPANY, frozenset({"documents"}), own_items_only=True), Grant(OTHER, frozenset({"messages"}))],
     "documents", OTHER, ANNA, False),
    ([], "documents", COMPANY, ANNA, False),
])
def test_the_rule_table(grants, permission, owner, creator, expected):
    assert reaches(grants, permission, owner, creator, ANNA) is expected


def test_each_roles_defaults_as_the_rule_sees_them():
    class M:  # a membership's fields, as a model row carries them
        def __init__(self, role):
            self.client_id, self.revoked_at = COMPANY, None
            for name, value in rules.ROLE_DEFAULT_RIGHTS[role].items():
                setattr(self, name if name == "own_items_only" else f"can_{name}", value)
    colleague, main = grant_of(M(rules.COLLEAGUE)), grant_of(M(rules.MAIN))
    assert reaches([main], "documents", COMPANY, ILZE, ANNA) and reaches([main], "manage_users", COMPANY, None, ANNA)
    assert reaches([colleague], "documents", COMPANY, ANNA, ANNA)
    assert not reaches([colleague], "documents", COMPANY, ILZE, ANNA)
    assert not reaches([colleague], "finance", COMPANY, ANNA, ANNA)


# --- Random companies through the Flask client ----------------------------------------------------

RIGHTS = st.fixed_dictionaries({p: st.booleans() for p in ("documents", "submit", "messages", "services")})
MEMBERSHIP = st.fixed_dictionaries({"rights": RIGHTS, "own_items_only": st.booleans(),
                                    "revoked": st.sampled_from([False, False, False, True])})


@st.composite
def worlds(draw):
    """Clients (companies and private ones), users with memberships, objects made by members."""
    clients = draw(st.lists(st.sampled_from(["legal", "natural"]), min_size=2, max_size=3))
    users = draw(st.integers(min_value=2, max_value=4))
    memberships = {}
    for u in range(users):
        for c in draw(st.lists(st.integers(0, len(clients) - 1), min_size=0, max_size=len(clients), unique=True)):
            memberships[(u, c)] = draw(MEMBERSHIP)
    objects = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.sampled_from(["document", "thread", "service"]))
        client = draw(st.integers(0, len(clients) - 1))
        members = [u for (u, c) in memberships if c == client]
        creator = draw(st.sampled_from(members)) if members and draw(st.booleans()) else None
        objects.append((kind, client, creator))
    return clients, users, memberships, objects


@pytest.fixture
def world_app(app):
    with app.app_context():
        password_hash = models.hash_password(uuid.uuid4().hex)
    return app, password_hash


def _build(world, password_hash):
    clients, users, memberships, objects = world
    tag = uuid.uuid4().hex[:8]
    made_clients = [models.Client.create(kind=kind, name=f"{kind} {tag} {i}") for i, kind in enumerate(clients)]
    made_users = [models.User.create(email=f"u{i}-{tag}@example.lv", phone=f"+3712{next(PHONES):07d}",
                                     password_hash=password_hash) for i in range(users)]
    grants = {u: [] for u in range(users)}
    for (u, c), m in memberships.items():
        rights = {p: m["rights"][p] if p in m["rights"] else False for p in rules.PERMISSIONS}
        membership = models.Membership.grant(made_users[u], made_clients[c], rules.COLLEAGUE,
                                             own_items_only=m["own_items_only"], **rights)
        if m["revoked"]:
            models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.id == membership.id).execute()
            membership = models.Membership.get_by_id(membership.id)
        grants[u].append(grant_of(membership))
    made = []
    for kind, c, creator in objects:
        by = made_users[creator] if creator is not None else None
        if kind == "document":
            row = Document.create(client=made_clients[c], created_by=by, doc_type=DOC_TYPES[len(made) % 4])
            made.append(("documents", f"/documents/{row.id}", row.id, made_clients[c].id, by and by.id))
        elif kind == "thread":
            row = Thread.create(client=made_clients[c], created_by=by, subject=f"Thread {len(made)}")
            made.append(("messages", f"/messages/{row.id}", row.id, made_clients[c].id, by and by.id))
        else:  # a service is its assignee's (staff create it): the "creator" the rule asks about
            row = Service.create(client=made_clients[c], assignee=by, category="permit", number=f"P-{len(made)}")
            made.append(("services", f"/services/{row.id}", row.id, made_clients[c].id, by and by.id))
    return made_clients, made_users, grants, made


def _sign_in(client, user):
    now = datetime.now(timezone.utc).timestamp()
    with client.session_transaction() as session:
        session.clear()
        session.update({"_user_id": f"{user.id}:{user.session_version}", "_fresh": True, "login_at": now,
                        "seen_at": now, "sid": uuid.uuid4().hex})


ROW_IDS = {"documents": re.compile(r'id="document-(\d+)-row"'), "messages": re.compile(r'href="/messages/(\d+)"'),
           "services": re.compile(r'id="service-(\d+)-row"')}
LISTS = {"documents": "/documents", "messages": "/messages", "services": "/services"}
CHECKED = itertools.count()
WORLDS = itertools.count()
# Answers about an object of a client the user holds no live membership of: each must be a 404.
ACROSS = itertools.count()
PHONES = itertools.count(1000000)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                  HealthCheck.data_too_large])
@given(world=worlds())
def test_every_object_is_reached_exactly_when_the_rule_says_so(world_app, world):
    app, password_hash = world_app
    with app.app_context(), models.db.connection_context():
        made_clients, made_users, grants, made = _build(world, password_hash)
    next(WORLDS)
    for u, user in enumerate(made_users):
        client = app.test_client()
        _sign_in(client, user)
        tenants = {g.client_id for g in grants[u] if not g.revoked}
        for permission, url, object_id, owner, creator in made:
            expected = reaches(grants[u], permission, owner, creator, user.id)
            status = client.get(url).status_code
            assert status == (200 if expected else 404), (url, permission, grants[u], owner, creator, user.id)
            if owner not in tenants:
                assert status == 404  # another tenant's object: never reached
                next(ACROSS)
            next(CHECKED)
        for c in made_clients:  # each account's lists hold exactly what the rule gives for it
            live = [g for g in grants[u] if g.client_id == c.id and not g.revoked]
            if not live:
                continue
            with client.session_transaction() as session:
                session["client_id"] = c.id
            for permission, list_url in LISTS.items():
                response = client.get(list_url)
                if permission not in live[0].rights:
                    assert response.status_code in (200, 404)
                    shown = set()
                else:
                    assert response.status_code == 200, (list_url, live)
                    shown = {int(i) for i in ROW_IDS[permission].findall(response.get_data(as_text=True))}
                expected = {object_id for p, _url, object_id, owner, creator in made
                            if p == permission and owner == c.id and reaches(live, p, owner, creator, user.id)}
                assert shown == expected, (list_url, live, made)
                next(CHECKED)


def test_the_random_worlds_were_checked():
    """Runs after the property test in the same worker (same module): how many random worlds it
    built and answers it checked, how many of those asked for another tenant's object (each a
    404: the property test fails on the first that is not, so reaching here means none crossed)."""
    worlds, checked, across = next(WORLDS), next(CHECKED), next(ACROSS)
    print(f"tenancy: {worlds} random worlds, {checked} answers checked against the rule, "
          f"{across} of them for another tenant's object, 0 crossed a tenant")
    if checked:  # not when this test runs alone
        assert worlds >= 1 and across >= 1
