"""Scale-out (issue 10): several identical web instances behind one address.

Two gunicorns, each started as the Procfile starts its web process (two workers, four
threads, a control socket of its own), share what a deployment of several machines shares:
``SECRET_KEY``, one PostgreSQL, one Redis (the RQ queue, the rate limits, the threads'
"newest message" pointers) and one S3 bucket (moto's server on loopback). Each has an upload
folder of its own, as a separate machine would; with S3 nothing is written there.

A person is one cookie jar whose requests go to whichever instance the test names, as a load
balancer without sticky sessions would send them: requests keeps cookies by host, not port,
so both instances on 127.0.0.1 see one browser. Each person also has a client address of its
own, sent as the proxy in front would send it (``X-Forwarded-For``; both instances trust one
proxy hop, ``TRUSTED_PROXIES=1``, as DEPLOY.md sets them up).
"""
import itertools
import re
import secrets
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import boto3
import pytest
import requests

import models
from conftest import (PASSWORD, _empty_postgres, _postgres_missing_message, assign_clients, build_app,
                      create_user, make_config)
from live_portal import CSRF_RE, gunicorn_portal

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]

REGION = "eu-north-1"
AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CLIENT = {"email": "anna@example.lv", "phone": "+37121111111", "full_name": "Anna Bērziņa"}
STAFF = {"email": "konsultante@example.lv", "phone": "+37123333333", "full_name": "Ilze Konsultante",
         "staff_role": "consultant"}
HX = {"HX-Request": "true"}
SESSION_COOKIE = "kabinets_session"


@dataclass
class Instance:
    name: str
    base: str
    log: object

    def log_tail(self):
        return f"--- instance {self.name} ---\n" + self.log.read_text(errors="replace")[-2000:]


@dataclass
class Cluster:
    a: Instance
    b: Instance
    bucket: str
    s3: object

    def objects(self):
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        return {o["Key"] for o in listing.get("Contents", [])}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_url, redis_url, s3_endpoint):
    """Instances A and B on one PostgreSQL database, one Redis and one bucket, with a client
    (Anna) and a consultant in the database."""
    if postgres_url is None:
        pytest.skip(_postgres_missing_message())
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"kabinets-scaleout-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # This process only writes the two users; the instances get the same SECRET_KEY, database,
    # Redis, RQ_QUEUE and rate-limit prefix from its configuration (live_portal.gunicorn_portal).
    app = build_app(make_config(postgres_url, redis_url, 25, MAIL_BACKEND="dev"))
    with app.app_context():
        _empty_postgres()
    create_user(app, **CLIENT)
    create_user(app, **STAFF)
    assign_clients(app, STAFF["email"])
    models.db.close()
    shared = {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_endpoint,
              "S3_REGION": REGION, "TRUSTED_PROXIES": "1", **AWS_CREDENTIALS}
    with ExitStack() as stack:
        instances = []
        for name in ("a", "b"):
            workdir = tmp_path_factory.mktemp(f"instance-{name}")
            env = {**shared, "UPLOAD_DIR": str(workdir / "uploads")}  # a machine's own disk
            base, _master, log = stack.enter_context(gunicorn_portal(app, workdir, extra_env=env))
            instances.append(Instance(name, base, log))
        yield Cluster(*instances, bucket=bucket, s3=s3)


_ADDRESSES = (f"10.20.{a}.{b}" for a, b in itertools.product(range(1, 255), range(1, 255)))


class Person:
    """One browser behind the balancer: one cookie jar, one client address, each request sent
    to the instance named."""

    def __init__(self):
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = next(_ADDRESSES)

    def get(self, instance, path, **kwargs):
        return self.http.get(instance.base + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, instance, path, data, files=None, page=None, page_on=None):
        """POST a form with the CSRF token of its page (``page``, else ``path``), read from
        ``page_on`` (else the same instance)."""
        form_page = self.get(page_on or instance, page or path)
        match = CSRF_RE.search(form_page.text)
        assert match, f"no form on {page or path} at {(page_on or instance).name} ({form_page.status_code})"
        return self.http.post(instance.base + path, data={"csrf_token": match.group(1), **data}, files=files,
                              allow_redirects=False, timeout=30)

    def sign_in(self, instance, who):
        r = self.post(instance, "/login", {"identifier": who["email"], "password": PASSWORD})
        assert r.status_code == 303, f"sign-in on {instance.name}: {r.status_code}"
        return self


def test_a_session_started_on_one_instance_works_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    anna = Person().sign_in(a, CLIENT)
    page = anna.get(b, "/dashboard")
    assert page.status_code == 200, \
        f"B answered {page.status_code} → {page.headers.get('Location')}\n{b.log_tail()}"
    assert CLIENT["full_name"] in page.text
    # Signing out on B ends the session on A as well: the session version is in the database.
    cookie = anna.http.cookies.get(SESSION_COOKIE)
    assert anna.post(b, "/logout", {}, page="/dashboard").status_code == 303
    replayed = requests.Session()
    replayed.cookies.set(SESSION_COOKIE, cookie)
    r = replayed.get(a.base + "/dashboard", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def _codes_asked_until_refused(instances):
    """One person registering sends step 2 (contact details: the codes go out) again and again,
    round-robin over ``instances``, each time for the same e-mail and phone. Returns the number
    of the first request refused with 429, and the instance that refused it."""
    person = Person()  # a client address of its own, so each run starts with fresh counts
    email = f"reg-{uuid.uuid4().hex[:10]}@example.lv"
    phone = f"2{secrets.randbelow(10 ** 7):07d}"
    r = person.post(instances[0], "/register", {"client_type": "natural", "citizenship": "LV",
                                                "accept_privacy": "y", "accept_terms": "y"})
    assert r.status_code == 303, r.status_code
    contact = {"email": email, "phone_region": "LV", "phone": phone, "password": PASSWORD, "confirm": PASSWORD}
    for attempt in range(1, 41):
        instance = instances[(attempt - 1) % len(instances)]
        r = person.post(instance, "/register/contact", contact)
        if r.status_code == 429:
            return attempt, instance, person, contact
        assert r.status_code == 303, f"attempt {attempt} on {instance.name}: {r.status_code}"
    raise AssertionError("40 requests for codes and none was refused: is there still a limit?")


def test_rate_limits_count_requests_on_every_instance(cluster):
    """Whatever the limit is, a person asking through A and B alternately is refused after
    as many requests as through A alone: A and B count in one place (Redis)."""
    a, b = cluster.a, cluster.b
    alone, _, _, _ = _codes_asked_until_refused([a])
    alternating, refused_by, person, contact = _codes_asked_until_refused([a, b])
    print(f"\nrefused at request {alone} through A alone, at request {alternating} through A and B alternately")
    assert alone > 2, "the limit must let some requests through for the alternation to show anything"
    assert alternating == alone, (f"through A alone the {alone}th request was refused, through A and B "
                                  f"alternately the {alternating}th: each instance counts its own")
    other = b if refused_by is a else a
    assert person.post(other, "/register/contact", contact).status_code == 429, \
        f"refused by {refused_by.name}, not by {other.name}"


def test_a_file_uploaded_through_one_instance_downloads_through_the_other(cluster):
    a, b = cluster.a, cluster.b
    anna = Person().sign_in(a, CLIENT)
    data = f"Izziņa {uuid.uuid4()}\n".encode() * 200
    before = cluster.objects()
    r = anna.post(a, "/messages/new", {"subject": "Izziņa", "body": "Pielikumā izziņa."},
                  files={"files": ("izzina.txt", data, "text/plain")})
    assert r.status_code == 303, f"{r.status_code}\n{a.log_tail()}"
    thread_path = r.headers["Location"]
    assert len(cluster.objects() - before) == 1, "the upload did not reach the bucket"
    page = anna.get(b, thread_path)
    assert page.status_code == 200
    links = re.findall(r'href="(/messages/\d+/files/\d+)"', page.text)
    assert len(links) == 1, links
    download = anna.get(b, links[0])
    assert download.status_code == 200, f"{download.status_code}\n{b.log_tail()}"
    assert download.content == data


def test_a_message_posted_on_one_instance_shows_up_in_a_thread_polled_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    anna = Person().sign_in(a, CLIENT)
    r = anna.post(a, "/messages/new", {"subject": "Termiņš", "body": "Labdien! Kad būs atbilde?"})
    assert r.status_code == 303
    thread_path = r.headers["Location"]
    page = anna.get(b, thread_path)  # the thread open in Anna's browser, served by B
    match = re.search(r'hx-get="(/messages/\d+/poll\?[^"]+)"', page.text)
    assert match, "no poller on the thread page"
    poll = match.group(1).replace("&amp;", "&")
    assert anna.get(b, poll, headers=HX).status_code == 204  # nothing new yet

    ilze = Person().sign_in(b, STAFF)
    reply = f"Atbilde {uuid.uuid4().hex[:8]}: līdz piektdienai."
    thread_id = thread_path.rsplit("/", 1)[1]
    r = ilze.post(a, f"/staff/messages/{thread_id}", {"body": reply}, page_on=b)
    assert r.status_code == 303, f"{r.status_code}\n{a.log_tail()}"

    news = anna.get(b, poll, headers=HX)
    assert news.status_code == 200, f"B's poll answered {news.status_code}: the reply posted on A is not there"
    assert reply in news.text
