"""An address gets nothing from Tally but a password reset until its owner proves it is theirs."""

import re
import socket
import threading
import time

import pytest
from django.core import mail
from django.db import transaction

from notifications import verification
from notifications.models import Kind, Notification
from polls import services as poll_services
from tests.helpers import open_browser, text
from tests.notifications.conftest import cast, wait_for_mail
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"http://testserver(/accounts/verify/[^\s]+)")


def sign_up(browser, username="ada", email="ada@example.com"):
    return browser.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": email,
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
        HTTP_X_CSRFTOKEN=browser.csrf_token,
    )


def verification_link(message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def test_signing_up_mails_a_link_that_confirms_the_address(celery_worker, django_user_model):
    browser = open_browser()
    assert sign_up(browser).status_code == 303
    welcome = browser.get("/my/")
    assert "We sent a link to ada@example.com" in text(welcome)

    [message] = wait_for_mail(1)
    assert message.to == ["ada@example.com"]
    assert message.subject == "Confirm your email address for Tally"
    user = django_user_model.objects.get(username="ada")
    assert not verification.email_is_verified(user)
    settings_page = browser.get("/notifications/settings")
    assert "Nothing is emailed to ada@example.com until you open the link" in text(settings_page)

    opened = open_browser().get(verification_link(message))  # any browser: the link is the proof
    assert opened.status_code == 200
    assert "Your email is confirmed" in text(opened)
    assert verification.email_is_verified(user)
    assert "which you confirmed" in text(browser.get("/notifications/settings"))


def test_an_unconfirmed_address_gets_no_notice_until_it_is_confirmed(make_user, celery_worker):
    owner = make_user(username="owner", email="owner@example.com", verified=False)
    poll = PollFactory(question="Lunch spot?", options=["Pizza", "Sushi"], owner=owner)
    cast(poll)
    poll_services.poll_close(poll=poll)  # "closed" is emailed by default

    closed = Notification.objects.get(recipient=owner, kind=Kind.CLOSED)
    end = time.monotonic() + 20
    while closed.email == Notification.Email.PENDING and time.monotonic() < end:
        time.sleep(0.05)
        closed.refresh_from_db()
    assert closed.email == Notification.Email.UNPROVED
    assert mail.outbox == []
    assert closed.in_app  # the bell still has it

    verification.email_verify(token=verification.verification_token(owner))
    second = PollFactory(question="Dinner?", options=["Soup", "Salad"], owner=owner)
    cast(second)
    poll_services.poll_close(poll=second)
    assert [message.to for message in wait_for_mail(1)] == [["owner@example.com"]]


def test_a_password_reset_still_reaches_an_unconfirmed_address(make_user):
    user = make_user(email="reset@example.com", verified=False)
    browser = open_browser()
    response = browser.post(
        "/accounts/password_reset/",
        {"email": user.email},
        HTTP_X_CSRFTOKEN=browser.csrf_token,
    )
    assert response.status_code == 303
    assert [message.to for message in mail.outbox] == [["reset@example.com"]]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda t: t[:-2] + ("AB" if t[-2:] != "AB" else "BA"), id="forged"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
    ],
)
def test_a_forged_link_confirms_nothing(make_user, spoil):
    user = make_user(verified=False)
    response = open_browser().get(
        f"/accounts/verify/{spoil(verification.verification_token(user))}"
    )
    assert response.status_code == 400
    assert "This link does not work" in text(response)
    assert not verification.email_is_verified(user)


def test_a_link_for_an_address_the_account_no_longer_has_confirms_nothing(make_user):
    user = make_user(email="old@example.com", verified=False)
    token = verification.verification_token(user)
    user.email = "new@example.com"
    user.save()
    assert open_browser().get(f"/accounts/verify/{token}").status_code == 400
    assert not verification.email_is_verified(user)


def test_an_expired_link_confirms_nothing(make_user, monkeypatch):
    user = make_user(verified=False)
    token = verification.verification_token(user)
    later = time.time() + verification.VERIFICATION_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert verification.email_verify(token=token) is None
    assert not verification.email_is_verified(user)


def test_the_link_can_be_sent_again_within_a_limit(make_user, settings, celery_worker):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "verify-email": "2/h"}
    user = make_user(email="again@example.com", verified=False)
    browser = open_browser(user)
    for _ in range(2):
        response = browser.post("/accounts/verify-again", HTTP_X_CSRFTOKEN=browser.csrf_token)
        assert response.status_code == 303
    assert len(wait_for_mail(2)) == 2
    refused = browser.post("/accounts/verify-again", HTTP_X_CSRFTOKEN=browser.csrf_token)
    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_no_link_is_mailed_when_the_sign_up_is_rolled_back(make_user):
    user = make_user(verified=False)

    def sign_up_that_fails():
        with transaction.atomic():
            verification.verification_email_queue(user=user, site_url="http://testserver")
            raise RuntimeError("the sign-up failed after the email was asked for")

    with pytest.raises(RuntimeError):
        sign_up_that_fails()
    assert mail.outbox == []


@pytest.fixture
def silent_smtp_server():
    """A mail server that accepts connections and then never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_mail_server_that_hangs_costs_only_the_email_timeout(
    make_user, settings, silent_smtp_server, capsys
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent_smtp_server
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1.0
    user = make_user(verified=False)
    started = time.monotonic()
    sent = verification.verification_email_send(user_id=user.pk, site_url="http://testserver")
    waited = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[smtp timeout] a silent mail server held the sender {waited:.1f} s (limit 1 s)")
    assert sent is False
    assert waited < 10
