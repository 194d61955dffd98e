"""Identification in the browser, JavaScript on and off (issue 14; ONB-8, ONB-9): a client with a
submitted application goes from the dashboard's task list to the identification page, on to the
development provider's pages, uploads an ID photo and a selfie, reports "approved", comes back
and sees the stage done; a representative named in a company's application follows the e-mailed
personal link, without an account, and identifies the same way."""
import re

from playwright.sync_api import expect

import fixtures_files
import models
from models import identification as M
from models.applications import Application
from rules import LEGAL, NATURAL

from .helpers import Axe, sign_in


def _submitted(live_server, user, kind, services, data):
    """A submitted application of the user's client, with its identifications prepared."""
    with live_server.app.test_request_context(), models.db.connection_context():
        from blueprints.identification import links
        client = models.Membership.get(models.Membership.user == user).client
        application = Application.start(client, user, services)
        with models.action():
            application.submit(data, user)
            M.prepare(application, user, links())
        return application


def _identify_at_the_development_provider(page, outcome="#outcome-0"):
    page.wait_for_url(re.compile(r".*/dev/identification/[^/?]+\?next="))
    page.set_input_files("#document_photo", files=[{"name": "pase.png", "mimeType": "image/png",
                                                    "buffer": fixtures_files.png()}])
    page.set_input_files("#selfie", files=[{"name": "es.jpg", "mimeType": "image/jpeg",
                                            "buffer": fixtures_files.jpeg()}])
    page.check(outcome)  # approved
    page.click("#dev-identify")


def test_a_client_identifies_at_the_development_provider_and_sees_the_stage_done(page, live_server, person, js,
                                                                                axe_page):
    user = live_server.create_user(person, full_name="Jānis Bērziņš", kind=NATURAL)
    application = _submitted(live_server, user, NATURAL, ["N_NEW"], {"full_name": "Jānis Bērziņš"})
    sign_in(page, person.email)
    page.goto("/dashboard")
    expect(page.locator("#stage-photo_id [data-stage-status]")).to_have_attribute("data-stage-status",
                                                                                 "action_needed")
    page.click("#identification-link-photo_id")
    page.wait_for_url(re.compile(rf".*/applications/{application.id}/identification$"))
    page.locator("[id^=start-identification-]").click()

    _identify_at_the_development_provider(page)
    page.wait_for_url(re.compile(rf".*/applications/{application.id}/identification$"))
    expect(page.locator("#stage-photo_id-status [data-stage-status]")).to_have_attribute("data-stage-status", "done")
    expect(page.locator("[data-identification-status]")).to_have_attribute("data-identification-status", "passed")
    page.goto("/dashboard")
    expect(page.locator("#stage-photo_id [data-stage-status]")).to_have_attribute("data-stage-status", "done")
    assert page.console_errors == []

    if js:  # the pages once, with axe-core
        axe = Axe(axe_page)
        sign_in(axe_page, person.email)
        axe_page.goto(f"/applications/{application.id}/identification")
        axe.check("identification-page")
        axe.assert_clean()


def test_an_invited_representative_identifies_through_the_emailed_link_without_an_account(page, live_server,
                                                                                         person, js):
    user = live_server.create_user(person, full_name="Anna Liepa", kind=LEGAL, role="registrant")
    rep = f"rep-{person.phone}-{'js' if js else 'nojs'}@example.lv"
    application = _submitted(live_server, user, LEGAL, ["L_ACCOUNT"], {"company_name": "Zaļā Ēka SIA", "representatives": [
        {"full_name": "Anna Liepa", "email": person.email, "represents": True},
        {"full_name": "Pēteris Kalniņš", "email": rep, "represents": True}]})
    mail = live_server.emails(rep)[0]
    link = re.search(r"https?://\S+/identification/invitation/[\w-]+", mail).group(0)
    page.goto(link[link.index("/identification/"):])
    expect(page.locator("[data-identification-status]")).to_have_attribute("data-identification-status", "waiting")
    page.click("#start-identification")

    _identify_at_the_development_provider(page)
    page.wait_for_url(re.compile(r".*/identification/invitation/[\w-]+$"))
    expect(page.locator("[data-identification-status]")).to_have_attribute("data-identification-status", "passed")
    expect(page.locator("#start-identification")).to_have_count(0)  # the link is used up
    with live_server.app.app_context(), models.db.connection_context():
        assert Application.get_by_id(application.id).progress["photo_id"] == "action_needed"  # Anna's own is left
    assert page.console_errors == []


def test_with_javascript_the_page_shows_the_providers_result_when_it_arrives(page, live_server, person, js):
    """Back from the provider before its result came: the page asks again (htmx) and shows it
    without a reload; without JavaScript a reload shows it."""
    import requests

    import adapters
    from adapters.identification import signed_webhook
    from models.identification import Identification

    user = live_server.create_user(person, full_name="Jānis Bērziņš", kind=NATURAL)
    application = _submitted(live_server, user, NATURAL, ["N_NEW"], {"full_name": "Jānis Bērziņš"})
    sign_in(page, person.email)
    page.goto(f"/applications/{application.id}/identification")
    page.locator("[id^=start-identification-]").click()
    page.wait_for_url(re.compile(r".*/dev/identification/"))
    page.goto(f"/applications/{application.id}/identification")  # came back without finishing there
    expect(page.locator("[data-identification-status]")).to_have_attribute("data-identification-status", "started")
    if js:
        page.evaluate("() => { window.__samePage = true; }")

    with live_server.app.app_context(), models.db.connection_context():
        session = Identification.get(Identification.application == application.id).session_ref
        secret = adapters.of(live_server.app).identification.secret
    body, headers = signed_webhook({"event": f"browser-{person.phone}-{js}", "session": session,
                                    "result": "approved"}, secret)
    assert requests.post(live_server.url + "/identification/webhook", data=body, headers=headers,
                         timeout=10).status_code == 200
    if not js:
        page.reload()
    expect(page.locator("[data-identification-status]")).to_have_attribute("data-identification-status", "passed",
                                                                          timeout=15_000)
    expect(page.locator("#stage-photo_id-status [data-stage-status]")).to_have_attribute("data-stage-status", "done")
    if js:
        assert page.evaluate("() => window.__samePage === true")  # swapped in place, no reload
    assert page.console_errors == []
