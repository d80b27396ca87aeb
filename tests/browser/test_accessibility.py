"""axe-core on every page of Tally, on a phone and a desktop: no serious or critical
violation (contrast, names, labels, landmarks...), and a visible focus ring on controls.

axe-core comes from npm (tests/browser/axe, installed by `make axe`); without it this test
fails, it does not skip.
"""

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from core.voters import Voter, new_voter_token
from notifications.models import Kind
from notifications.services import notification_create
from polls import services
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.browser.test_bell import signed_in
from tests.browser.test_live_tally import vote_in_page
from tests.circles.factories import CircleFactory, circle_poll, member_of
from tests.polls.factories import PollFactory, starter_templates

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).with_name("axe") / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1280)
BLOCKING = ("serious", "critical")
LIVE = 10_000  # ms


WARM_UP = 120_000  # ms: the first search of a fresh server loads the embedding model


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core in the page; its serious and critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' +
                   (n.failureSummary || '').split('\\n').slice(1).join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING]


FOCUS_RING = """() => {
  // The first few controls in tab order: each must show an outline or ring when focused
  // from the keyboard, of at least 3:1 against the page.
  function rgb(c) { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : null; }
  function lum([r, g, b]) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  function ratio(a, b) { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); }
  const active = document.activeElement;
  const style = getComputedStyle(active);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  const label = active.closest('label');
  const labelShadow = label && getComputedStyle(label).boxShadow !== 'none';
  if (!outline && !shadow && !labelShadow) return 'no focus indicator';
  if (outline) {
    const colour = rgb(style.outlineColor);
    if (colour && (colour.length < 4 || colour[3] > 0.9)) {
      const r = ratio(colour, [255, 255, 255]);
      if (r < 3) return 'outline contrast ' + r.toFixed(2);
    }
  }
  return '';
}"""


def focus_problems(page: Page, presses: int = 12) -> list[str]:
    """Tab through the first controls; those without a visible focus ring."""
    problems = []
    page.locator("body").focus()
    for _ in range(presses):
        page.keyboard.press("Tab")
        name = page.evaluate(
            "() => { const e = document.activeElement; return e === document.body ? '' :"
            " e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.innerText || e.name || '')"
            ".trim().slice(0, 30); }"
        )
        if not name:
            continue
        problem = page.evaluate(FOCUS_RING)
        if problem:
            problems.append(f"{name}: {problem}")
    return problems


@pytest.fixture
def site(live_daphne, browser_context):
    """A user with polls and a notification, and a voter who voted on one of them."""
    assert AXE.exists(), f"axe-core is not installed at {AXE}: run `make axe`"
    owner = UserFactory(username="axeowner")
    open_poll = PollFactory(question="Which lunch spot?", options=["Deli", "Noodles"], owner=owner)
    closed_poll = PollFactory(question="Which day works?", options=["Mon", "Tue"], owner=owner)
    services.poll_close(poll=closed_poll)
    voted_poll = PollFactory(
        question="Change it later?",
        options=["Yes", "No"],
        owner=owner,
        vote_changes=Poll.VoteChanges.ALLOWED,
    )
    notification_create(
        recipient_id=owner.pk,
        kind=Kind.VOTES,
        text="1 new vote on “Which lunch spot?”",
        poll=open_poll,
    )
    anonymous_poll = PollFactory(
        question="Honest feedback?", options=["Good", "Bad"], owner=owner, anonymous=True
    )
    services.vote_cast(
        poll=anonymous_poll,
        voter=Voter(token=new_voter_token(), ip="192.0.2.40"),
        option_ids=[anonymous_poll.options.first().pk],
        comment="Kept apart from my name",
    )
    circle = CircleFactory(name="Lunch crew", description="Where we eat.", user=owner)
    member_of(circle)
    circle_poll(circle, owner, question="Which lunch spot, crew?")
    return {
        "owner": owner,
        "circle": circle,
        "open": open_poll,
        "closed": closed_poll,
        "voted": voted_poll,
        "anonymous": anonymous_poll,
        "template": starter_templates()[0],
    }


def stale_token_page(context: BrowserContext, base_url: str) -> Page:
    """Tally's page for a plain form post whose token is out of date."""
    page = context.new_page()
    page.goto(f"{base_url}/")
    page.get_by_label("Question").fill("Lunch?")
    page.get_by_label("Option 1").fill("Soup")
    page.get_by_label("Option 2").fill("Salad")
    # A native submit, as without JavaScript, carrying a token from an earlier session.
    page.evaluate(
        """() => {
          const form = document.getElementById('create-form');
          form.querySelector('[name=csrfmiddlewaretoken]').value = 'x'.repeat(32);
          form.submit();
        }"""
    )
    expect(page.get_by_role("heading", name="Please send that again")).to_be_visible()
    return page


def pages(site: dict) -> list[tuple[str, str, bool]]:
    """(name, path, signed in as the owner)."""
    code = site["open"].code
    return [
        ("home", "/", False),
        ("poll (open)", f"/poll/{code}", False),
        ("poll (closed)", f"/poll/{site['closed'].code}", False),
        ("poll (owner)", f"/poll/{code}", True),
        ("anonymous poll (owner, with a comment)", f"/poll/{site['anonymous'].code}", True),
        ("share", f"/poll/{code}/share", True),
        ("presenter", f"/poll/{code}/present", True),
        ("search", "/search?q=lunch", False),
        ("templates", "/templates/", False),
        ("template in the create form", f"/create?template={site['template'].pk}", False),
        ("log in", "/accounts/login/", False),
        ("sign up", "/accounts/signup/", False),
        ("password reset", "/accounts/password_reset/", False),
        ("my polls", "/my/", True),
        ("notifications", "/notifications/", True),
        ("notification settings", "/notifications/settings", True),
        ("API tokens", "/accounts/tokens/", True),
        ("circles", "/circles/", True),
        ("new circle", "/circles/new", True),
        ("circle", f"/circles/{site['circle'].slug}/", True),
        ("leave a circle", f"/circles/{site['circle'].slug}/leave", True),
        ("create in a circle", f"/create?circle={site['circle'].slug}", True),
        ("join (signed out)", f"/join/{site['circle'].invite_code}", False),
        ("join (unknown invite)", "/join/no-such-invite", False),
        ("404", "/poll/nosuchpoll", False),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_has_no_serious_accessibility_violation(
    browser_context, live_daphne, site, width, capsys
):
    viewport = {"width": width, "height": 900}
    url = live_daphne.url
    anonymous = browser_context(url, viewport=viewport, bypass_csp=True)
    owner = signed_in(
        browser_context, live_daphne, site["owner"], viewport=viewport, bypass_csp=True
    )
    report: dict[str, list] = {}
    focus: dict[str, list] = {}

    def check(name: str, page: Page) -> None:
        report[name] = axe_violations(page)
        focus[name] = focus_problems(page)

    for name, path, as_owner in pages(site):
        page = (owner if as_owner else anonymous).new_page()
        page.goto(f"{url}{path}")
        page.wait_for_load_state("networkidle")
        # Search answers "warming up" until the server's model has loaded, then fetches the
        # results again: check the page once it has settled, not the part being replaced.
        expect(page.locator('[hx-trigger^="load delay"]')).to_have_count(0, timeout=WARM_UP)
        page.wait_for_load_state("networkidle")
        check(name, page)
        page.close()

    creating = anonymous.new_page()
    creating.goto(f"{url}/")
    creating.get_by_role("button", name="Create poll").click()
    expect(creating.locator("#create-form [aria-invalid=true]").first).to_be_visible()
    check("create (with errors)", creating)

    voter = anonymous.new_page()
    voter.goto(f"{url}{site['voted'].get_absolute_url()}")
    vote_in_page(voter, "Yes")
    expect(voter.locator("#vote-panel")).to_contain_text("You voted for Yes.", timeout=LIVE)
    check("poll (voted)", voter)
    voter.get_by_text("Change my vote").click()
    check("poll (changing the vote)", voter)

    check("stale token", stale_token_page(anonymous, url))

    new_circle = owner.new_page()
    new_circle.goto(f"{url}/circles/new")
    new_circle.get_by_role("button", name="Create circle").click()
    expect(new_circle.locator("[aria-invalid=true]").first).to_be_visible()
    check("new circle (with errors)", new_circle)

    with capsys.disabled():
        print(f"\naxe-core at {width}px: serious/critical violations, focus-ring problems")
        for name in report:
            found = ", ".join(v["id"] for v in report[name]) or "0"
            print(f"  {name:26} {found:30} focus: {len(focus[name])}")
    details = {
        name: [f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes']}" for v in violations]
        for name, violations in report.items()
        if violations
    }
    assert details == {}
    assert {name: problems for name, problems in focus.items() if problems} == {}
