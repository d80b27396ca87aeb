"""A labelled evaluation set for "ask this poll": polls with their comments, and questions
phrased in other words than the comments (synonyms, paraphrases), each naming the comments
that answer it.

Each poll: question, options, comments as key → (option its author chose, text), and
questions as (question, keys of the comments that answer it).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalPoll:
    key: str
    question: str
    options: tuple[str, ...]
    comments: dict[str, tuple[str, str]]
    questions: tuple[tuple[str, tuple[str, ...]], ...]


POLLS = (
    EvalPoll(
        key="offsite",
        question="Where should the team offsite be this year?",
        options=("Mountains", "Beach", "City"),
        comments={
            "m1": ("Mountains", "Hiking trails and fresh air would recharge everyone."),
            "m2": ("Mountains", "The cabin rental costs half of what any hotel we saw costs."),
            "m3": ("Mountains", "I want to see snow at least once this year."),
            "m4": ("Mountains", "Phones get no signal up there, which forces a real break."),
            "b1": ("Beach", "Nothing beats swimming in the sea after a long meeting."),
            "b2": ("Beach", "Sunshine and warm weather always lift my mood."),
            "b3": ("Beach", "My kids could come along and build sandcastles."),
            "b4": ("Beach", "Last time we went up the mountains it rained the entire week."),
            "c1": ("City", "Museums and restaurants give us plenty to do in the evenings."),
            "c2": ("City", "The railway station is right there, so nobody has to drive."),
            "c3": ("City", "Mountain roads make me carsick with all those bends."),
            "c4": ("City", "The seaside is packed with tourists in July."),
        },
        questions=(
            ("Which choice is easiest on the budget for lodging?", ("m2",)),
            ("What are the objections to going up into the hills?", ("c3", "b4")),
            ("Can we get there without a car?", ("c2",)),
            ("Will families with children be able to join?", ("b3",)),
            ("Does anyone want to disconnect from work emails and calls?", ("m4",)),
            ("Is the coast too crowded in the summer holidays?", ("c4",)),
            ("What would we do at night?", ("c1",)),
        ),
    ),
    EvalPoll(
        key="language",
        question="Which language should we use for the new backend service?",
        options=("Python", "Go", "Rust"),
        comments={
            "p1": ("Python", "Everyone on the team already knows it well."),
            "p2": ("Python", "The data science libraries are unmatched."),
            "p3": ("Python", "We can prototype an idea in an afternoon."),
            "g1": ("Go", "A single static binary makes deployment trivial."),
            "g2": ("Go", "Goroutines handle thousands of connections with little memory."),
            "g3": ("Go", "Compile times are a few seconds even on a big codebase."),
            "g4": ("Go", "The interpreter's global lock would hold back our throughput."),
            "r1": ("Rust", "The borrow checker catches memory bugs before they ship."),
            "r2": ("Go", "Hiring experienced Rust developers is hard in our region."),
            "r3": ("Rust", "Zero-cost abstractions give C-like speed."),
            "r4": ("Python", "Rust's learning curve scared two of our juniors."),
            "p4": ("Python", "Type hints and mypy give us enough safety for this service."),
        },
        questions=(
            ("Which option lets us ship an experiment fastest?", ("p3",)),
            ("How easy is it to release to production servers?", ("g1",)),
            ("Will it cope with many simultaneous users?", ("g2",)),
            ("What are the downsides of Rust?", ("r2", "r4")),
            ("Why do people choose Python over the others?", ("p1", "p2", "p3")),
            ("Is it safe against crashes caused by bad pointers?", ("r1",)),
            ("Does anyone worry that Python is too slow for parallel work?", ("g4",)),
        ),
    ),
    EvalPoll(
        key="pet",
        question="Which pet should our family adopt?",
        options=("Dog", "Cat", "Fish"),
        comments={
            "d1": ("Dog", "A dog would get us out walking every single day."),
            "d2": ("Dog", "They are loyal and protect the house at night."),
            "d3": ("Dog", "Our son has wanted a puppy since he was four."),
            "k1": ("Cat", "A cat is fine alone while we are at the office."),
            "k2": ("Cat", "Our flat is small and has no garden."),
            "k3": ("Cat", "Purring on the sofa is the best way to relax."),
            "k4": ("Cat", "Barking would annoy the neighbours downstairs."),
            "f1": ("Fish", "My daughter is allergic to fur."),
            "f2": ("Fish", "An aquarium costs very little to run."),
            "f3": ("Fish", "Watching them swim calms me down after work."),
            "f4": (
                "Fish",
                "Nobody has to come round to feed them when we travel, with an auto feeder.",
            ),
            "d4": ("Dog", "Vet bills for a fish tank are nothing, but fish cannot cuddle."),
        },
        questions=(
            ("Does anyone in the family have an allergy?", ("f1",)),
            ("Which pet copes when we are out at our jobs all day?", ("k1",)),
            ("Would it help us exercise more?", ("d1",)),
            ("Is our apartment big enough for an animal?", ("k2",)),
            ("What about going on holiday?", ("f4",)),
            ("Which is the cheapest to keep?", ("f2",)),
            ("Will the people who live below us complain about the noise?", ("k4",)),
        ),
    ),
    EvalPoll(
        key="commute",
        question="How should the city improve the morning commute?",
        options=("More buses", "Bike lanes", "Wider roads"),
        comments={
            "u1": ("More buses", "Buses every five minutes would make a car unnecessary."),
            "u2": ("More buses", "Older residents cannot cycle up the steep hills."),
            "u3": ("More buses", "A bus carries fifty people in the space of two cars."),
            "u4": ("More buses", "Night services would help shift workers get home."),
            "k1": ("Bike lanes", "Painted lanes are cheap compared with new tarmac."),
            "k2": ("Bike lanes", "Cycling keeps me fit without a gym membership."),
            "k3": ("Bike lanes", "Protected lanes would let my children ride to school safely."),
            "k4": ("Bike lanes", "Extra lanes for cars just fill up again within a year."),
            "w1": ("Wider roads", "Deliveries and tradespeople need to drive their vans."),
            "w2": ("Wider roads", "It rains here most of the year, nobody will cycle."),
            "w3": ("Wider roads", "Traffic jams at the bridge add forty minutes each day."),
            "w4": ("Wider roads", "Ambulances get stuck behind queues of cars."),
        },
        questions=(
            ("What helps the elderly get around?", ("u2",)),
            ("Which option costs the taxpayer least?", ("k1",)),
            ("Why won't more asphalt fix congestion?", ("k4",)),
            ("What about the weather?", ("w2",)),
            ("Is it safe for kids to pedal to class?", ("k3",)),
            ("How do emergency vehicles cope with the congestion?", ("w4",)),
            ("What about people who work late shifts?", ("u4",)),
        ),
    ),
    EvalPoll(
        key="meeting",
        question="When should the weekly team meeting happen?",
        options=("Monday morning", "Wednesday lunch", "Friday afternoon"),
        comments={
            "mo1": ("Monday morning", "It sets priorities for the whole week ahead."),
            "mo2": ("Monday morning", "Everyone is fresh and has not started anything yet."),
            "mo3": ("Monday morning", "I drop my kids at school later on other days."),
            "we1": ("Wednesday lunch", "Free sandwiches would make people actually show up."),
            "we2": ("Wednesday lunch", "Midweek is the right moment to fix blocked work."),
            "we3": ("Wednesday lunch", "Our colleagues in New York are awake by then."),
            "we4": ("Wednesday lunch", "Mondays are full of catching up on email."),
            "fr1": ("Friday afternoon", "We can celebrate what we shipped during the week."),
            "fr2": ("Friday afternoon", "Nobody does deep work late on a Friday anyway."),
            "fr3": (
                "Friday afternoon",
                "Half the team works remotely and leaves early on Fridays.",
            ),
            "fr4": ("Friday afternoon", "A retrospective fits naturally at the end of the week."),
            "mo4": (
                "Monday morning",
                "Friday meetings get cancelled whenever someone is on leave.",
            ),
        },
        questions=(
            ("Which slot suits the overseas office in America?", ("we3",)),
            ("Would food make attendance better?", ("we1",)),
            ("What's the argument for planning at the start of the week?", ("mo1",)),
            ("Why not meet before the weekend?", ("fr3", "mo4")),
            ("When is the best time to look back on what we accomplished?", ("fr1", "fr4")),
            ("Is the inbox a problem at the beginning of the week?", ("we4",)),
        ),
    ),
    EvalPoll(
        key="library",
        question="What should the library spend its extra budget on?",
        options=("More books", "Longer hours", "Study rooms"),
        comments={
            "bo1": ("More books", "The science fiction shelf has not changed in years."),
            "bo2": ("More books", "Waiting lists for new novels are three months long."),
            "bo3": ("More books", "Children's picture books are worn out and torn."),
            "bo4": ("More books", "We need more titles in Polish and Arabic for new residents."),
            "ho1": ("Longer hours", "I work until six and it closes at five thirty."),
            "ho2": ("Longer hours", "Sunday opening would let families visit together."),
            "ho3": ("Longer hours", "Students need somewhere warm in the evening before exams."),
            "st1": ("Study rooms", "There is nowhere quiet to take a video interview."),
            "st2": ("Study rooms", "Group projects end up shouting across the reading area."),
            "st3": ("Study rooms", "Bookable rooms could host tutoring for teenagers."),
            "st4": ("Study rooms", "Ebooks already cover most of what people borrow."),
            "ho4": (
                "Longer hours",
                "Staff costs for late shifts are small compared with building work.",
            ),
        },
        questions=(
            ("Is there enough material for immigrants in their own languages?", ("bo4",)),
            ("Can people with office jobs get there before it shuts?", ("ho1",)),
            ("How long do readers wait for the latest fiction?", ("bo2",)),
            ("Where can I have a private online call?", ("st1",)),
            ("Is the noise from teams working together a problem?", ("st2",)),
            ("Could it open at the weekend?", ("ho2",)),
        ),
    ),
    EvalPoll(
        key="festival",
        question="Which headline act should the town festival book?",
        options=("Rock band", "Jazz orchestra", "DJ set"),
        comments={
            "ro1": ("Rock band", "Guitars and drums get the whole crowd jumping."),
            "ro2": ("Rock band", "The local band started here and deserves a homecoming."),
            "ro3": ("Rock band", "Teenagers would finally have a reason to come."),
            "ja1": ("Jazz orchestra", "Grandparents and toddlers can both enjoy it."),
            "ja2": (
                "Jazz orchestra",
                "Last year's loud show brought noise complaints from residents.",
            ),
            "ja3": ("Jazz orchestra", "It suits the old square and its acoustics."),
            "ja4": ("Jazz orchestra", "Swing dancing lessons before the show would be lovely."),
            "dj1": ("DJ set", "It is by far the cheapest to book and needs one small stage."),
            "dj2": ("DJ set", "The party can go on past midnight."),
            "dj3": ("DJ set", "Electronic music draws visitors from the nearby university."),
            "dj4": ("DJ set", "Setting up takes an hour instead of a whole day."),
            "ro4": ("Rock band", "A DJ feels like a nightclub, not a town celebration."),
        },
        questions=(
            ("Which act fits every generation?", ("ja1",)),
            ("What keeps the fee lowest?", ("dj1",)),
            ("Were neighbours bothered by the volume before?", ("ja2",)),
            ("Will young people turn up?", ("ro3", "dj3")),
            ("Is there a musician from our own town?", ("ro2",)),
            ("How long does it take to get the stage ready?", ("dj4",)),
        ),
    ),
    EvalPoll(
        key="office",
        question="What should we do with the empty room on the third floor?",
        options=("Gym", "Quiet room", "Game room"),
        comments={
            "gy1": ("Gym", "A treadmill would help me shake off sitting all day."),
            "gy2": ("Gym", "Showers there would let people cycle to work."),
            "gy3": ("Gym", "Yoga classes at lunchtime could share the space."),
            "qu1": ("Quiet room", "Open plan makes it impossible to concentrate."),
            "qu2": ("Quiet room", "Nursing mothers need a private place."),
            "qu3": ("Quiet room", "A short nap after lunch makes me far more productive."),
            "qu4": ("Quiet room", "Prayer times need a calm spot away from desks."),
            "ga1": ("Game room", "Table football brings different teams together."),
            "ga2": ("Game room", "New hires would get to know people faster."),
            "ga3": ("Game room", "Recruiting gets easier when the office looks fun."),
            "ga4": ("Game room", "Gym equipment is expensive and the insurance is a headache."),
            "qu5": ("Quiet room", "A game room would be loud right next to the finance team."),
        },
        questions=(
            ("Where can new parents breastfeed at work?", ("qu2",)),
            ("Is there a spot for religious observance?", ("qu4",)),
            ("What helps people from separate departments mingle?", ("ga1",)),
            ("What are the objections to the game room?", ("qu5",)),
            ("Could I take a quick snooze somewhere?", ("qu3",)),
            ("Would it encourage biking in to the office?", ("gy2",)),
            ("What are the drawbacks of fitness machines?", ("ga4",)),
        ),
    ),
)
