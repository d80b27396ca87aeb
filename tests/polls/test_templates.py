"""Poll templates: the starter library, "Use" prefilling the create form, popularity by use,
and saving one's own poll as a template."""

import importlib
import re

import pytest

from polls.models import Poll, PollTemplate
from tests.helpers import open_browser, text
from tests.polls.factories import PollFactory, starter_templates

pytestmark = pytest.mark.django_db

starter_migration = importlib.import_module("polls.migrations.0006_starter_templates")


@pytest.fixture(autouse=True)
def starters_loaded():
    starter_templates()


def test_the_starter_set_has_at_least_24_templates_in_4_categories():
    assert len(starter_migration.STARTERS) >= 24
    starters = PollTemplate.objects.filter(owner__isnull=True)
    assert starters.count() == len(starter_migration.STARTERS)
    assert starters.count() >= 24
    assert starters.values("category").distinct().count() >= 4
    for template in starters:
        assert 2 <= len(template.options) <= 10
        assert template.question.endswith("?")


def test_the_library_lists_templates_and_filters_by_category():
    page = text(open_browser().get("/templates/"))
    assert "Start from a template" in page
    assert "Coffee or tea?" in page
    assert "Which time works best for our weekly meeting?" in page
    fun = text(open_browser().get("/templates/?category=fun"))
    assert "Coffee or tea?" in fun
    assert "Which time works best for our weekly meeting?" not in fun


def test_use_opens_the_create_form_prefilled_with_question_options_and_settings():
    template = PollTemplate.objects.get(title="Meeting time")
    page = open_browser().get(f"/create?template={template.pk}")
    assert page.status_code == 200
    body = text(page)
    assert 'value="Which time works best for our weekly meeting?"' in body
    for option in template.options:
        assert f'value="{option}"' in body
    assert re.search(r'name="choice_type" value="multiple"[^>]*\s+checked>', body)
    assert not re.search(r'name="choice_type" value="single"[^>]*\s+checked>', body)
    assert f'name="template" value="{template.pk}"' in body


def test_a_bare_create_address_opens_the_home_pages_form():
    response = open_browser().get("/create")
    assert response.status_code == 302
    assert response["Location"] == "/#create"


def test_an_unknown_template_is_404():
    assert open_browser().get("/create?template=999999").status_code == 404
    assert open_browser().get("/create?template=abc").status_code == 404


def test_creating_from_a_template_moves_it_up_the_popular_list():
    template = PollTemplate.objects.get(title="Tabs or spaces")
    browser = open_browser()
    response = browser.post(
        "/create",
        {
            "question": template.question,
            "options": template.options,
            "template": str(template.pk),
        },
        HTTP_X_CSRFTOKEN=browser.csrf_token,
    )
    assert response.status_code == 303
    assert Poll.objects.filter(question=template.question).exists()
    template.refresh_from_db()
    assert template.uses == 1
    first = PollTemplate.objects.filter(owner__isnull=True).first()
    assert first == template  # popular first
    page = text(open_browser().get("/templates/"))
    assert page.index("Tabs or spaces?") < page.index("Coffee or tea?")
    assert "Used 1 time" in page


def test_an_owner_saves_a_poll_as_a_personal_template(user):
    poll = PollFactory(
        question="Which room for the offsite?", options=["North", "South"], owner=user
    )
    browser = open_browser(user)
    response = browser.post(f"/poll/{poll.code}/save-template", HTTP_X_CSRFTOKEN=browser.csrf_token)
    assert response.status_code == 303
    mine = PollTemplate.objects.get(owner=user)
    assert (mine.question, mine.options) == ("Which room for the offsite?", ["North", "South"])
    assert "Which room for the offsite?" in text(browser.get("/templates/"))
    assert "Which room for the offsite?" not in text(open_browser().get("/templates/"))
    assert open_browser().get(f"/create?template={mine.pk}").status_code == 404
    assert browser.get(f"/create?template={mine.pk}").status_code == 200


def test_only_the_owner_may_save_a_poll_as_a_template(user):
    poll = PollFactory(owner=user)
    stranger = open_browser()
    response = stranger.post(
        f"/poll/{poll.code}/save-template", HTTP_X_CSRFTOKEN=stranger.csrf_token
    )
    assert response.status_code == 403
    assert not PollTemplate.objects.filter(owner__isnull=False).exists()
