"""A seeded generator of small coherent documents: the offline pretraining corpus of the mini-BERT.

Why a generator? The course must pretrain a BERT on a laptop CPU with no download, and the
next-sentence task needs *documents*: runs of sentences that follow each other. This module writes
them from hand-written scripts (original text for this project, not taken from any corpus).

What a document is:
    Every document tells one short story in one of :data:`TOPICS` (16 everyday scripts such as a
    bakery morning, a football match or a sailing trip). A story has a main character (a name drawn
    from the topic's own cast of five, see :func:`cast`, with the matching pronoun), a place, and topic
    words drawn from small slot lists. Its sentences follow the topic's script in order: sentence 0 always introduces the
    character; the later ones are an ordered random subset of the script's stages, each written with
    one of several templates, sometimes opened by a connective ("Then", "After that", "Finally").

What there is to learn, and why it is enough for the lesson:
    * topic: two sentences of one document share the topic's vocabulary; a sentence from another
      document usually belongs to another topic (1 in 16 chance of the same one). This is the cue
      ALBERT found NSP mostly relies on.
    * local coherence: consecutive sentences share the character's name or pronoun, the place and the
      slot words (e.g. the same bread or boat), so "another document of the same topic" is detectable too.
    * order: stages follow the script (the loaves are shaped before they are sold), the character is
      introduced before "she" refers to them, and connectives never open a story. So the
      sentence-order task (SOP) is learnable, but only from finer cues than topic.
    Real text is richer; this corpus is deliberately small and regular so that a 2-4 layer BERT learns
    both objectives in minutes on a CPU, and every effect in notebook 04 can be reproduced offline.

Determinism and the held-out split:
    ``make_corpus(n_train, n_heldout, seed)`` draws every document from ``random.Random`` seeded by
    ``(seed, split, index)``; the same arguments always give the same text. The held-out documents come
    from a separate seed stream (split "heldout"), so no held-out document is a training document
    (:func:`make_corpus` removes the rare exact duplicates from the held-out side).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Main characters: (name, pronoun subject, pronoun possessive).
NAMES: tuple[tuple[str, str, str], ...] = tuple(
    [(n, "she", "her") for n in (
        "Mira", "Anna", "Lena", "Sofia", "Nadia", "Ruth", "Elena", "Ines", "Clara", "Maya",
        "Julia", "Hana", "Olga", "Tara", "Greta", "Noor", "Amira", "Rosa", "Eva", "Lucy",
        "Alma", "Bea", "Cora", "Dina", "Edith", "Fay", "Gina", "Hilde", "Iris", "Jade",
        "Kira", "Lila", "Mona", "Nell", "Opal", "Petra", "Rita", "Selma", "Uma", "Vera",
    )]
    + [(n, "he", "his") for n in (
        "Tom", "Omar", "Pablo", "Felix", "Ivan", "Sam", "Karl", "Luca", "Ben", "Hugo",
        "Ali", "Nico", "Leo", "Marco", "Jonas", "Arun", "Viktor", "Theo", "Ravi", "Dan",
        "Abel", "Bruno", "Cyril", "Dario", "Emil", "Fred", "Gus", "Henk", "Igor", "Jan",
        "Kofi", "Lars", "Milo", "Nils", "Oscar", "Piet", "Rafael", "Sven", "Timo", "Walter",
    )]
)

#: Places any story can happen in.
PLACES: tuple[str, ...] = (
    "a small town", "the old harbour", "a mountain village", "the city centre", "a quiet suburb",
    "the river valley", "a northern island", "the east coast", "a farming village", "the capital",
)

CONNECTIVES: tuple[str, ...] = ("Then", "After that", "Later", "Next", "Soon")

#: topic -> {"slots": {slot: words}, "stages": [[template, ...], ...]}. Stage 0 introduces the story.
#: Templates use {name}, {pron} (he/she), {Pron}, {poss} (his/her), {place} and the topic's slots.
TOPICS: dict[str, dict] = {
    "bakery": {
        "slots": {"bread": ["rye loaves", "sourdough", "croissants", "cinnamon rolls", "baguettes"],
                  "helper": ["an apprentice", "a nephew", "a neighbour", "an old friend"]},
        "stages": [
            ["{name} runs a small bakery in {place}.", "{name} owns the only bakery in {place}."],
            ["Before dawn {pron} mixes flour, water and yeast for the {bread}.",
             "{Pron} starts the dough for the {bread} long before sunrise."],
            ["{Pron} shapes the {bread} by hand while {helper} heats the oven.",
             "With {helper}, {pron} shapes the {bread} on the floured table."],
            ["The {bread} bake until the crust turns golden.", "The oven fills the shop with the smell of {bread}."],
            ["By seven o'clock a line of customers waits at the door.",
             "Early customers queue outside, hoping for warm {bread}."],
            ["The {bread} are sold out before noon.", "{Pron} sells the last of the {bread} before lunch."],
            ["In the afternoon {name} cleans the oven and plans tomorrow's baking.",
             "After closing, {name} sweeps the floor and orders more flour."],
        ],
    },
    "football": {
        "slots": {"position": ["striker", "goalkeeper", "defender", "winger", "midfielder"],
                  "rival": ["the city club", "their old rivals", "the league leaders", "a team from the coast"]},
        "stages": [
            ["{name} plays as a {position} for the football team of {place}.",
             "{name} is the {position} of a football club in {place}."],
            ["All week {pron} trains on the muddy pitch with the squad.",
             "{Pron} spends the week practising passes and sprints with the team."],
            ["On Saturday the team travels to play {rival}.", "The big match against {rival} arrives on Sunday."],
            ["{rival} score early and the away fans go quiet.", "In the first half {rival} take the lead."],
            ["After the break {name} levels the score with a hard shot.",
             "{name} scores the equaliser midway through the second half."],
            ["A late goal in the final minute wins the match.", "The team wins the game with a goal in stoppage time."],
            ["That night {name} celebrates the win with the whole squad.",
             "The players sing in the bus on the long ride home."],
        ],
    },
    "astronomy": {
        "slots": {"target": ["Saturn", "the Andromeda galaxy", "a faint comet", "the Orion nebula", "Jupiter's moons"],
                  "scope": ["telescope", "reflector", "old refractor", "pair of binoculars"]},
        "stages": [
            ["{name} is an amateur astronomer who lives near {place}.",
             "{name} has watched the night sky above {place} since childhood."],
            ["For a week {pron} waits for the clouds to clear.", "{Pron} checks the weather forecast for a clear, moonless night."],
            ["When night falls {pron} sets up the {scope} in the garden.",
             "After sunset {pron} carries the {scope} out and aligns it with the pole star."],
            ["After an hour of searching {pron} finds {target} low in the sky.",
             "Through the eyepiece {target} slowly comes into view."],
            ["{Pron} takes a long exposure photograph of {target}.", "{name} sketches {target} in a notebook, star by star."],
            ["Near midnight the dew covers the lens and the stars fade.", "Clouds roll in after midnight and hide {target}."],
            ["The next day {name} shares the picture with the astronomy club.",
             "In the morning {pron} posts the observation on the club's forum."],
        ],
    },
    "gardening": {
        "slots": {"crop": ["tomatoes", "pumpkins", "carrots", "sunflowers", "strawberries"],
                  "pest": ["slugs", "aphids", "snails", "hungry pigeons"]},
        "stages": [
            ["{name} keeps a vegetable garden behind a house in {place}.",
             "{name} rents a garden plot at the edge of {place}."],
            ["In early spring {pron} digs the soil and sows the {crop}.", "{Pron} plants rows of {crop} when the frost is over."],
            ["Every evening {pron} waters the young {crop}.", "{Pron} waters the seedlings by hand through the dry weeks."],
            ["In June {pest} attack the leaves of the {crop}.", "One morning {pron} finds {pest} all over the {crop}."],
            ["{Pron} protects the plants with nets and patience.", "{name} removes the {pest} by hand, one by one."],
            ["By late summer the {crop} are ripe.", "The harvest of {crop} fills three large baskets."],
            ["{name} gives the extra {crop} to the neighbours.", "In autumn {pron} saves seeds from the best {crop} for next year."],
        ],
    },
    "sailing": {
        "slots": {"boat": ["sloop", "wooden dinghy", "small yacht", "fishing boat", "catamaran"],
                  "island": ["a rocky island", "the lighthouse island", "a sandy cove", "the seal colony"]},
        "stages": [
            ["{name} owns an old {boat} moored at {place}.", "{name} learned to sail a {boat} as a child in {place}."],
            ["{Pron} checks the sails and ropes before leaving.", "At dawn {pron} loads water and food onto the {boat}."],
            ["The {boat} leaves the harbour with a light breeze.", "{Pron} steers the {boat} out past the breakwater."],
            ["By noon the wind rises and the waves grow tall.", "A squall hits the {boat} in the open water."],
            ["{name} reefs the sail and holds the course.", "{Pron} keeps the bow into the waves until the squall passes."],
            ["In the afternoon the {boat} reaches {island}.", "{Pron} anchors off {island} and swims to the beach."],
            ["At sunset {name} sails back into the harbour.", "The {boat} returns home in the evening calm."],
        ],
    },
    "music": {
        "slots": {"instrument": ["guitar", "drums", "piano", "bass", "violin"],
                  "venue": ["a crowded bar", "the town hall", "a summer festival", "a small jazz club"]},
        "stages": [
            ["{name} plays {instrument} in a band from {place}.", "{name} formed a band in {place} and plays {instrument}."],
            ["The band rehearses every Tuesday in a cold garage.", "Twice a week {pron} practises with the band until late."],
            ["{name} writes a new song about leaving home.", "{Pron} finishes the lyrics of a song the band has worked on for months."],
            ["Their first concert takes place at {venue}.", "The band is booked to play at {venue} on Friday."],
            ["The crowd sings along to the new song.", "When {pron} starts the {instrument} solo the audience cheers."],
            ["A local studio offers to record their songs.", "After the show a producer asks the band to record an album."],
            ["The following summer the band goes on a short tour.", "The album is played on the regional radio station."],
        ],
    },
    "chemistry": {
        "slots": {"compound": ["copper sulphate", "a new catalyst", "a blue dye", "an acid solution", "a salt crystal"],
                  "tool": ["burner", "centrifuge", "spectrometer", "microscope"]},
        "stages": [
            ["{name} works as a chemist in a laboratory in {place}.", "{name} is a young chemist at the university of {place}."],
            ["{Pron} wants to test how {compound} reacts with heat.", "{Pron} writes down a hypothesis about {compound}."],
            ["{Pron} weighs the powder and prepares the solution.", "In the morning {pron} measures the samples of {compound} carefully."],
            ["{Pron} heats the flask slowly and watches the {tool}.", "The samples go into the {tool} for an hour."],
            ["Suddenly the liquid changes colour from clear to green.", "The readings show an unexpected peak."],
            ["{name} records every measurement in the lab book.", "{Pron} repeats the experiment three times to be sure."],
            ["Months later the results are published in a journal.", "{name} presents the findings about {compound} at a conference."],
        ],
    },
    "hiking": {
        "slots": {"peak": ["the north peak", "a high pass", "the glacier ridge", "the old fire tower"],
                  "gear": ["a heavy backpack", "walking poles", "a thermos of tea", "a paper map"]},
        "stages": [
            ["{name} loves hiking in the hills around {place}.", "{name} plans a long hike from {place} to {peak}."],
            ["The night before {pron} packs {gear} and warm clothes.", "{Pron} checks the weather and packs {gear}."],
            ["{Pron} starts the trail at dawn through a pine forest.", "At sunrise {pron} leaves the car park and enters the forest."],
            ["The path climbs steeply above the tree line.", "After three hours the trail becomes rocky and steep."],
            ["At noon {pron} reaches {peak} and eats lunch with a wide view.",
             "From {peak} {name} can see the lakes far below."],
            ["Fog rolls in while {pron} walks down the other side.", "On the descent {pron} slips and scrapes a knee."],
            ["{name} arrives back tired but happy before dark.", "In the evening {pron} rests {poss} sore feet at home."],
        ],
    },
    "carpentry": {
        "slots": {"furniture": ["dining table", "bookshelf", "rocking chair", "wooden cradle", "garden bench"],
                  "wood": ["oak", "walnut", "pine", "cherry wood"]},
        "stages": [
            ["{name} is a carpenter with a workshop in {place}.", "{name} builds furniture in a small workshop in {place}."],
            ["A customer orders a {furniture} made of {wood}.", "{Pron} decides to build a {furniture} for {poss} sister."],
            ["{Pron} chooses planks of {wood} at the sawmill.", "{Pron} draws the plans and buys boards of {wood}."],
            ["{Pron} measures twice and cuts the pieces with a saw.", "The pieces for the {furniture} are cut and planed."],
            ["{name} joins the parts with glue and wooden pegs.", "{Pron} assembles the {furniture} without a single nail."],
            ["{Pron} sands the surface and applies two coats of oil.", "After sanding, the {wood} shines with a warm colour."],
            ["The finished {furniture} is delivered on Saturday.", "{name} proudly shows the {furniture} to the family."],
        ],
    },
    "clinic": {
        "slots": {"illness": ["a chest infection", "a broken wrist", "a high fever", "a bad allergy", "a sprained ankle"],
                  "test": ["an X-ray", "a blood test", "a scan", "a throat swab"]},
        "stages": [
            ["{name} is a doctor at the clinic in {place}.", "{name} works night shifts as a doctor in {place}."],
            ["A worried patient arrives in the early morning.", "A young patient comes in with pain and a cough."],
            ["{Pron} listens to the symptoms and examines the patient.", "{name} asks careful questions about the pain."],
            ["{Pron} orders {test} to be sure.", "The results of {test} come back within an hour."],
            ["The diagnosis is {illness}.", "{Pron} explains that the patient has {illness}."],
            ["{name} prescribes rest and medicine for a week.", "The nurse gives the first treatment for {illness}."],
            ["Two weeks later the patient returns fully recovered.", "At the follow-up visit the patient feels much better."],
        ],
    },
    "train": {
        "slots": {"city": ["Vienna", "Lisbon", "Oslo", "Prague", "Krakow"],
                  "friend": ["an old school friend", "a cousin", "a former colleague", "a pen pal"]},
        "stages": [
            ["{name} plans a train journey from {place} to {city}.", "{name} decides to visit {friend} in {city} by train."],
            ["{Pron} buys a ticket at the station counter.", "{Pron} books a seat in the quiet carriage online."],
            ["The train leaves the platform exactly on time.", "At eight o'clock the train pulls out of the station."],
            ["Fields and rivers pass by the window for hours.", "{Pron} reads a novel while the countryside rushes past."],
            ["At the border the conductor checks the tickets again.", "The train stops for a while at a small border town."],
            ["In the evening the train arrives in {city}.", "{name} steps onto the platform in {city} at dusk."],
            ["{friend} is waiting at the exit with a big smile.", "{Pron} and {friend} walk to dinner in the old town."],
        ],
    },
    "fishing": {
        "slots": {"fish": ["trout", "perch", "pike", "carp", "salmon"],
                  "lake": ["the mill pond", "a mountain lake", "the slow river", "the reservoir"]},
        "stages": [
            ["{name} goes fishing every weekend near {place}.", "{name} has fished at {lake} since {pron} was a child."],
            ["{Pron} prepares the rod and a box of bait.", "On Friday evening {pron} ties new hooks for the {fish}."],
            ["Before sunrise {pron} sits down on the bank of {lake}.", "{Pron} rows the boat to a quiet spot on {lake}."],
            ["For hours nothing bites.", "The float does not move for the whole morning."],
            ["Suddenly a large {fish} takes the bait.", "The line pulls hard as a {fish} bites."],
            ["After a long fight {pron} lands the {fish}.", "{Pron} carefully lifts the {fish} out of the water."],
            ["{name} releases the {fish} back into {lake}.", "That night {pron} cooks the {fish} for the family."],
        ],
    },
    "painting": {
        "slots": {"subject": ["the sea at dusk", "a field of poppies", "an old bridge", "a portrait of a child"],
                  "paint": ["oil paint", "watercolour", "acrylic", "pastel"]},
        "stages": [
            ["{name} is a painter with a studio in {place}.", "{name} paints landscapes in an attic studio in {place}."],
            ["{Pron} decides to paint {subject} in {paint}.", "{Pron} makes quick sketches of {subject}."],
            ["{Pron} stretches a large canvas and mixes the colours.", "{Pron} prepares the canvas and a palette of {paint}."],
            ["For weeks {pron} works on the painting every morning.", "Layer by layer, {subject} appears on the canvas."],
            ["{name} is unhappy with the light and repaints the sky.", "{Pron} scrapes off a corner and starts it again."],
            ["At last the painting of {subject} is finished.", "{Pron} signs the canvas in the lower corner."],
            ["The painting is shown at a gallery and sold on the first night.",
             "A collector buys the picture at the spring exhibition."],
        ],
    },
    "chess": {
        "slots": {"opening": ["the Sicilian defence", "a queen's gambit", "the French defence", "an English opening"],
                  "event": ["the regional championship", "a weekend tournament", "the club final", "a rapid open"]},
        "stages": [
            ["{name} is a chess player from {place}.", "{name} leads the chess club of {place}."],
            ["{Pron} prepares for {event} by studying old games.", "Every night {pron} practises {opening} on a board."],
            ["In the first round {pron} wins a quick game.", "{Pron} draws a strong opponent in the first round of {event}."],
            ["The opponent in the final plays {opening}.", "In the last game {name} faces the favourite of {event}."],
            ["{name} sacrifices a knight to attack the king.", "After forty moves {pron} finds a winning combination."],
            ["The opponent resigns and offers a handshake.", "{Pron} wins the final game and the title."],
            ["{name} carries the trophy home on the bus.", "The club celebrates the victory with cake."],
        ],
    },
    "beekeeping": {
        "slots": {"flower": ["clover", "lavender", "heather", "lime blossom", "wild thyme"],
                  "hive": ["wooden hives", "white hives", "old straw hives"]},
        "stages": [
            ["{name} keeps bees in {hive} near {place}.", "{name} started beekeeping in {place} with two {hive}."],
            ["In spring {pron} inspects the {hive} for the queen.", "{Pron} opens the {hive} on the first warm day of spring."],
            ["The bees fly to the fields of {flower}.", "All summer the bees gather nectar from {flower}."],
            ["In July a swarm leaves one of the {hive}.", "One afternoon the bees swarm into a tree."],
            ["{name} catches the swarm in a box.", "{Pron} calmly brushes the swarm into an empty hive."],
            ["In August {pron} harvests the {flower} honey.", "The frames are heavy with {flower} honey."],
            ["{name} sells the honey jars at the Saturday market.", "{Pron} gives a jar of honey to every neighbour."],
        ],
    },
    "software": {
        "slots": {"app": ["a banking app", "a weather website", "a ticket shop", "a game server"],
                  "bug": ["a memory leak", "a crash at login", "a wrong total", "a slow query"]},
        "stages": [
            ["{name} is a programmer at a company in {place}.", "{name} maintains {app} for a firm in {place}."],
            ["One Monday users report {bug} in {app}.", "An alert warns {name} about {bug}."],
            ["{Pron} reads the logs to find when it started.", "{Pron} tries to reproduce {bug} on a laptop."],
            ["After hours of searching {pron} finds the faulty line.", "A test finally shows where {bug} comes from."],
            ["{name} writes a fix and a new test.", "{Pron} changes three lines of code to fix {bug}."],
            ["A colleague reviews the change and approves it.", "The fix passes all the checks on the build server."],
            ["That evening the new version of {app} is released.", "{name} closes the ticket and goes home late."],
        ],
    },
}


@dataclass(frozen=True)
class Document:
    """One generated story.

    Attributes:
        doc_id: unique within its corpus ("train-17", "heldout-3").
        topic: a key of :data:`TOPICS`.
        sentences: the story, in order (4-7 sentences).
        stages: the script stage of each sentence (increasing).
    """

    doc_id: str
    topic: str
    sentences: tuple[str, ...]
    stages: tuple[int, ...]


@dataclass
class Corpus:
    """Training and held-out documents, with the arguments that made them."""

    train: list[Document]
    heldout: list[Document]
    seed: int
    topics: list[str] = field(default_factory=lambda: sorted(TOPICS))

    def texts(self, split: str = "train") -> list[str]:
        """Every sentence of one split, document after document (e.g. to train a vocabulary)."""
        docs = self._split(split)
        return [s for d in docs for s in d.sentences]

    def _split(self, split: str) -> list[Document]:
        if split not in ("train", "heldout"):
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}.")
        return self.train if split == "train" else self.heldout

    def __repr__(self) -> str:
        n_sent = sum(len(d.sentences) for d in self.train)
        return (f"Corpus({len(self.train)} training documents ({n_sent} sentences), "
                f"{len(self.heldout)} held-out documents, {len(self.topics)} topics, seed={self.seed})")


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _proper_words() -> frozenset[str]:
    words = {n for n, _, _ in NAMES}
    for spec in TOPICS.values():
        for options in spec["slots"].values():
            words.update(w.split()[0] for w in options if w[0].isupper())
    return frozenset(words)


_PROPER = _proper_words()


def _decapital(text: str) -> str:
    """Lower-case the first letter unless the sentence opens with a name (after a connective)."""
    first = text.split()[0].rstrip(",.")
    return text if first in _PROPER else text[0].lower() + text[1:]


def _fill(template: str, values: dict[str, str]) -> str:
    out = template.format(**values)
    return _capital(out)


def cast(topic: str) -> list[tuple[str, str, str]]:
    """The five characters of a topic's stories (every topic has its own cast, as every trade has its people)."""
    i = sorted(TOPICS).index(topic)
    return [NAMES[j] for j in range(i, len(NAMES), len(TOPICS))]


def make_document(rng: random.Random, doc_id: str, topic: str | None = None) -> Document:
    """Draw one story from ``rng`` (a ``random.Random``); ``topic`` None draws a topic too."""
    names = sorted(TOPICS)
    if topic is None:
        topic = rng.choice(names)
    if topic not in TOPICS:
        raise ValueError(f"Unknown topic {topic!r}: use one of {names}.")
    spec = TOPICS[topic]
    name, pron, poss = rng.choice(cast(topic))
    values = {"name": name, "pron": pron, "Pron": _capital(pron), "poss": poss, "place": rng.choice(PLACES)}
    for slot, words in sorted(spec["slots"].items()):
        values[slot] = rng.choice(words)
    n_stages = len(spec["stages"])
    k = rng.randint(3, n_stages - 1)  # later stages besides the introduction
    stages = [0] + sorted(rng.sample(range(1, n_stages), k))
    sentences = []
    for i, stage in enumerate(stages):
        text = _fill(rng.choice(spec["stages"][stage]), values)
        if i > 0:
            roll = rng.random()
            if i == len(stages) - 1 and roll < 0.3:
                text = "Finally, " + _decapital(text)
            elif roll < 0.25:
                text = f"{rng.choice(CONNECTIVES)}, " + _decapital(text)
        sentences.append(text)
    return Document(doc_id=doc_id, topic=topic, sentences=tuple(sentences), stages=tuple(stages))


def make_corpus(n_train: int = 3000, n_heldout: int = 400, seed: int = 0) -> Corpus:
    """Generate the corpus: ``n_train`` training and ``n_heldout`` held-out documents.

    Topics are balanced (documents cycle through the sorted topics); everything else is drawn from
    ``random.Random`` seeded per document, so the same arguments always give the same corpus.

    Raises:
        ValueError: negative sizes, or fewer than two training documents.
    """
    if n_train < 2 or n_heldout < 0:
        raise ValueError(f"Need n_train >= 2 and n_heldout >= 0, got {n_train} and {n_heldout}.")
    topics = sorted(TOPICS)

    def build(split: str, n: int) -> list[Document]:
        docs = []
        for i in range(n):
            rng = random.Random(f"{seed}-{split}-{i}")
            docs.append(make_document(rng, f"{split}-{i}", topics[i % len(topics)]))
        return docs

    train = build("train", n_train)
    seen = {d.sentences for d in train}
    heldout = [d for d in build("heldout", n_heldout) if d.sentences not in seen]
    return Corpus(train=train, heldout=heldout, seed=seed, topics=topics)
