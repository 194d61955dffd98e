"""Password hashes follow the argon2 parameters: one made with others is hashed again at the
next successful sign-in. (The tests hash with a cheap profile, conftest.TEST_PASSWORD_HASHER:
"today's parameters" here are that profile's.)"""
import argon2

import models
from conftest import PASSWORD, TEST_PASSWORD_HASHER, create_user, form_token, login

OLDER = argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)


def stored_hash(email="anna@example.lv"):
    return models.User.get(models.User.email == email).password_hash


def with_hash(password_hash):
    models.User.update(password_hash=password_hash).execute()


def test_sign_in_rehashes_a_hash_made_with_older_parameters(client, app, db):
    create_user(app)
    with_hash(OLDER.hash(PASSWORD))
    version = models.User.get().session_version
    assert login(client, "anna@example.lv").status_code == 303
    upgraded = stored_hash()
    assert upgraded.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert not TEST_PASSWORD_HASHER.check_needs_rehash(upgraded)
    assert TEST_PASSWORD_HASHER.verify(upgraded, PASSWORD)
    user = models.User.get()
    assert user.session_version == version  # the session just started stays valid
    assert models.PasswordHistory.select().count() == 0  # the same password, not a new one
    assert client.get("/dashboard").status_code == 200
    client.post("/logout", data={"csrf_token": form_token(client, "/dashboard")})
    assert login(client, "anna@example.lv").status_code == 303  # and it still signs in


def test_a_wrong_password_leaves_an_old_hash_alone(client, app, db):
    create_user(app)
    old = OLDER.hash(PASSWORD)
    with_hash(old)
    assert login(client, "anna@example.lv", "Nepareiza-Parole1!").status_code == 422
    assert stored_hash() == old


def test_a_current_hash_is_not_written_again(client, app, db):
    create_user(app)
    current = stored_hash()
    assert login(client, "anna@example.lv").status_code == 303
    assert stored_hash() == current


def test_an_unreadable_hash_signs_nobody_in_and_is_not_rewritten(client, app, db):
    create_user(app)
    with_hash("not-an-argon2-hash")
    assert login(client, "anna@example.lv").status_code == 422
    assert stored_hash() == "not-an-argon2-hash"

