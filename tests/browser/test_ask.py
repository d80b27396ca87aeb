"""Ask this poll in a real browser: the answer streams in from the (stubbed) Groq API."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from chat import tasks as chat_tasks
from core.voters import Voter, new_voter_token
from polls import services
from tests.chat.groq_stub import Behaviour, GroqStub
from tests.polls.factories import PollFactory
from tests.server import LiveServer, run_daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWER = 60_000  # ms: the server's first question loads the embedding model


@pytest.fixture(scope="module")
def groq_stub() -> Iterator[GroqStub]:
    stub = GroqStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def ask_daphne(django_db_setup, tmp_path_factory, groq_stub) -> Iterator[LiveServer]:
    """A daphne process whose answers come from the real groq client, pointed at the stub."""
    env = {"GROQ_API_KEY": "test", "GROQ_BASE_URL": groq_stub.url, "GROQ_MAX_RETRIES": "0"}
    with run_daphne(log_dir=tmp_path_factory.mktemp("daphne-ask"), env=env) as server:
        yield server


def test_an_answer_streams_in_and_finishes(browser_context, ask_daphne, groq_stub):
    tokens = ["Blue", " is", " ahead", " because", " voters", " find", " it", " calm", "."]
    groq_stub.behaviour = Behaviour(tokens=tokens, token_delay=0.15)
    poll = PollFactory(options=["Red", "Blue"])
    blue = poll.options.get(text="Blue")
    services.vote_cast(
        poll=poll,
        voter=Voter(token=new_voter_token(), ip=""),
        option_ids=[blue.id],
        comment="Blue is calm <b>and</b> quiet.",
    )
    chat_tasks.wait_for_background()

    page = browser_context(ask_daphne.url).new_page()
    page.goto(f"{ask_daphne.url}{poll.get_absolute_url()}")
    question = page.get_by_label("Your question")
    expect(question).to_be_enabled(timeout=ANSWER)
    # Count the distinct states the answer goes through: streaming shows several.
    page.evaluate(
        """() => {
          window.answerStates = new Set();
          new MutationObserver(() => {
            const body = document.querySelector('#answer-body');
            if (body) window.answerStates.add(body.textContent);
          }).observe(document.querySelector('#answer'), {subtree: true, childList: true,
                                                         characterData: true});
        }"""
    )

    question.fill("Why do people pick blue?")
    page.get_by_role("button", name="Ask").click()

    answer = page.locator("#answer")
    expect(answer).to_contain_text("You asked: Why do people pick blue?", timeout=ANSWER)
    expect(page.locator("#answer-status")).to_contain_text("Answered", timeout=ANSWER)
    expect(page.locator("#answer-body")).to_have_text("".join(tokens))
    expect(answer.locator("blockquote")).to_have_text("“Blue is calm <b>and</b> quiet.”")
    expect(answer).to_contain_text("Red 0 (0.0%) · Blue 1 (100.0%) · 1 vote in total")
    expect(page.get_by_role("button", name="Ask")).to_be_enabled()
    assert page.evaluate("window.answerStates.size") > 3
    # The ask socket's events stay its own: the live tally still counts as connected.
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    prompt = "\n".join(m["content"] for m in groq_stub.last.body["messages"])
    assert "Blue is calm <b>and</b> quiet." in prompt


def test_a_bad_question_is_refused_in_the_page(browser_context, ask_daphne, groq_stub):
    poll = PollFactory()
    chat_tasks.wait_for_background()
    page = browser_context(ask_daphne.url).new_page()
    page.goto(f"{ask_daphne.url}{poll.get_absolute_url()}")
    question = page.get_by_label("Your question")
    expect(question).to_be_enabled(timeout=ANSWER)

    question.fill("   ")
    question.evaluate("input => input.removeAttribute('required')")
    page.get_by_role("button", name="Ask").click()

    expect(page.locator("#ask-error")).to_contain_text("Type a question first", timeout=ANSWER)
