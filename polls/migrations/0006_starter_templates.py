"""The starter set of poll templates everyone sees on /templates/."""

from django.db import migrations

FINAL = {"vote_changes": "off"}
CHANGEABLE = {"vote_changes": "allowed"}
AFTER_VOTE = {"results_visibility": "after_vote"}
AFTER_CLOSE = {"results_visibility": "after_close"}
MULTIPLE = {"choice_type": "multiple"}
UNLISTED = {"visibility": "unlisted"}

STARTERS = [
    # (category, title, question, options, settings)
    (
        "team",
        "Meeting time",
        "Which time works best for our weekly meeting?",
        ["Monday 10:00", "Tuesday 14:00", "Wednesday 09:30", "Thursday 16:00"],
        {**MULTIPLE, **UNLISTED, **CHANGEABLE},
    ),
    (
        "team",
        "Retrospective mood",
        "How did this sprint feel?",
        [
            "Great: let's keep going",
            "Fine, with a few bumps",
            "Rough: we need to talk",
            "I'd rather not say",
        ],
        {**AFTER_VOTE, **UNLISTED},
    ),
    (
        "team",
        "What to improve next",
        "What should the team improve first?",
        [
            "Fewer meetings",
            "Clearer priorities",
            "Better documentation",
            "Faster reviews",
            "More pairing",
        ],
        {**MULTIPLE, **UNLISTED},
    ),
    (
        "team",
        "Office or remote",
        "Where do you prefer to work on Fridays?",
        ["In the office", "At home", "Either is fine"],
        {**UNLISTED, **CHANGEABLE},
    ),
    (
        "team",
        "Team lunch",
        "Where should the team lunch be?",
        ["Pizza place", "Sushi bar", "Tacos", "Salad and soup", "Something new"],
        {**UNLISTED},
    ),
    (
        "class",
        "Did it make sense?",
        "How well did you follow today's lesson?",
        ["Completely", "Mostly", "Partly", "I got lost"],
        {**AFTER_CLOSE, **UNLISTED},
    ),
    (
        "class",
        "Quick quiz",
        "Which of these is a prime number?",
        ["21", "27", "29", "33"],
        {**AFTER_CLOSE, **UNLISTED},
    ),
    (
        "class",
        "Next topic",
        "Which topic should we cover next?",
        [
            "A worked example",
            "Practice problems",
            "The history behind it",
            "A review of the basics",
        ],
        {**UNLISTED, **CHANGEABLE},
    ),
    (
        "class",
        "Exam date",
        "Which date suits you for the exam?",
        ["Next Monday", "Next Wednesday", "Next Friday"],
        {**MULTIPLE, **UNLISTED},
    ),
    (
        "class",
        "Study format",
        "How do you learn best?",
        ["Reading", "Videos", "Exercises", "Group discussion"],
        {**MULTIPLE},
    ),
    (
        "events",
        "Date for the get-together",
        "Which weekend works for you?",
        ["First weekend of the month", "Second weekend", "Third weekend", "Last weekend"],
        {**MULTIPLE, **UNLISTED, **CHANGEABLE},
    ),
    (
        "events",
        "Party theme",
        "What should the party's theme be?",
        ["Eighties", "Costumes", "Garden party", "Board games night"],
        {**UNLISTED},
    ),
    (
        "events",
        "Where to eat tonight",
        "Where should we eat tonight?",
        ["Italian", "Indian", "Thai", "Burgers", "Cook at home"],
        {**UNLISTED, **CHANGEABLE},
    ),
    (
        "events",
        "Trip destination",
        "Where should our next trip go?",
        ["The mountains", "The seaside", "A city break", "Somewhere nobody has been"],
        {**UNLISTED},
    ),
    (
        "events",
        "Talk questions",
        "Which question should the speaker answer first?",
        [
            "How did you start?",
            "What went wrong?",
            "What would you do differently?",
            "What comes next?",
        ],
        {},
    ),
    (
        "feedback",
        "Rate the event",
        "How would you rate today's event?",
        ["Excellent", "Good", "Okay", "Poor"],
        {**AFTER_VOTE},
    ),
    (
        "feedback",
        "Feature priorities",
        "Which feature should we build next?",
        ["Dark mode", "Offline use", "Exports", "Integrations", "Something else (comment)"],
        {**MULTIPLE},
    ),
    (
        "feedback",
        "Would you recommend us?",
        "How likely are you to recommend us to a friend?",
        ["Very likely", "Likely", "Not sure", "Unlikely"],
        {**AFTER_VOTE},
    ),
    (
        "feedback",
        "Workshop length",
        "Was the workshop's length right?",
        ["Too short", "Just right", "Too long"],
        {},
    ),
    (
        "feedback",
        "Newsletter frequency",
        "How often would you like our newsletter?",
        ["Weekly", "Every two weeks", "Monthly", "Only for big news"],
        {},
    ),
    ("fun", "Coffee or tea", "Coffee or tea?", ["Coffee", "Tea", "Neither", "Both, please"], {}),
    (
        "fun",
        "Best pizza topping",
        "What is the best pizza topping?",
        ["Mushrooms", "Pineapple", "Pepperoni", "Olives", "Just cheese"],
        {},
    ),
    (
        "fun",
        "Tabs or spaces",
        "Tabs or spaces?",
        ["Tabs", "Spaces", "Whatever the formatter says"],
        {},
    ),
    (
        "fun",
        "Superpower",
        "Which superpower would you pick?",
        ["Flying", "Invisibility", "Time travel", "Reading minds", "Teleporting"],
        {},
    ),
    (
        "fun",
        "Weekend plans",
        "What's your ideal weekend?",
        ["Outdoors all day", "A good book", "Friends and food", "Sleeping in"],
        {**MULTIPLE},
    ),
    (
        "fun",
        "Icebreaker: morning or night",
        "Are you a morning person or a night owl?",
        ["Morning person", "Night owl", "Depends on the coffee"],
        {},
    ),
]


def load(apps, schema_editor):
    PollTemplate = apps.get_model("polls", "PollTemplate")
    PollTemplate.objects.bulk_create(
        PollTemplate(
            category=category,
            title=title,
            question=question,
            options=options,
            form_settings=settings,
        )
        for category, title, question, options, settings in STARTERS
    )


def unload(apps, schema_editor):
    apps.get_model("polls", "PollTemplate").objects.filter(owner__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("polls", "0005_poll_templates")]

    operations = [migrations.RunPython(load, unload)]
