"""The embedded pretraining corpus of the Whetstone demo model (make_demo_model.py).

Simple English in a plain, neutral voice: short facts about colours, animals, numbers, days and
greetings, as plain sentences and as short ChatML conversations. The demo datasets
(public/datasets/demo-sft.jsonl: a playful style; demo-dpo.jsonl: polite and concise over rude or
rambling) then visibly change how the model answers, so the base answers stay plain on purpose.

Everything is a fixed table expanded by fixed templates, shuffled with a seeded RandomState: the
same documents, in the same order, every run.
"""
import numpy as np

SYSTEM = "You are a helpful assistant."

COLOURS = [
    # (thing, subject as said in a sentence, colour)
    ("the sky", "The sky", "blue"),
    ("grass", "Grass", "green"),
    ("the sun", "The sun", "yellow"),
    ("snow", "Snow", "white"),
    ("a banana", "A banana", "yellow"),
    ("an apple", "An apple", "red"),
    ("the sea", "The sea", "blue"),
    ("a leaf", "A leaf", "green"),
    ("a cloud", "A cloud", "white"),
    ("coal", "Coal", "black"),
    ("a strawberry", "A strawberry", "red"),
    ("an orange", "An orange", "orange"),
    ("milk", "Milk", "white"),
    ("the night", "The night", "dark"),
    ("a carrot", "A carrot", "orange"),
    ("a lemon", "A lemon", "yellow"),
    ("a frog", "A frog", "green"),
    ("chocolate", "Chocolate", "brown"),
    ("a tomato", "A tomato", "red"),
    ("a crow", "A crow", "black"),
]

ANIMALS = [
    # (animal, plural, sound verb, sound, legs, where it lives, what it likes)
    ("dog", "dogs", "barks", "woof", "four", "in a house", "to play with a ball"),
    ("cat", "cats", "meows", "meow", "four", "in a house", "to sleep in the sun"),
    ("cow", "cows", "moos", "moo", "four", "on a farm", "to eat grass"),
    ("duck", "ducks", "quacks", "quack", "two", "on a pond", "to swim"),
    ("sheep", "sheep", "bleats", "baa", "four", "on a farm", "to eat grass"),
    ("lion", "lions", "roars", "roar", "four", "in Africa", "to sleep in the shade"),
    ("bird", "birds", "sings", "tweet", "two", "in a tree", "to fly"),
    ("horse", "horses", "neighs", "neigh", "four", "on a farm", "to run"),
    ("pig", "pigs", "oinks", "oink", "four", "on a farm", "to roll in the mud"),
    ("owl", "owls", "hoots", "hoot", "two", "in a tree", "to fly at night"),
    ("bee", "bees", "buzzes", "buzz", "six", "in a hive", "to visit flowers"),
    ("frog", "frogs", "croaks", "ribbit", "four", "by a pond", "to jump"),
    ("spider", "spiders", "is quiet", "nothing", "eight", "in a web", "to catch flies"),
    ("fish", "fish", "is quiet", "nothing", "no", "in the water", "to swim"),
]

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

FACTS = [
    # (question, answer)
    ("How many days are in a week?", "There are seven days in a week."),
    ("How many months are in a year?", "There are twelve months in a year."),
    ("How many hours are in a day?", "There are twenty four hours in a day."),
    ("What is the first day of the week?", "The first day of the week is Monday."),
    ("What day comes after Monday?", "Tuesday comes after Monday."),
    ("What day comes after Friday?", "Saturday comes after Friday."),
    ("Where does the sun rise?", "The sun rises in the east."),
    ("Where does the sun set?", "The sun sets in the west."),
    ("Is ice hot or cold?", "Ice is cold."),
    ("Is fire hot or cold?", "Fire is hot."),
    ("What do bees make?", "Bees make honey."),
    ("What do cows give us?", "Cows give us milk."),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("What is the capital of Spain?", "The capital of Spain is Madrid."),
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("What falls from clouds?", "Rain falls from clouds."),
    ("What do we drink?", "We drink water."),
    ("When do we sleep?", "We sleep at night."),
    ("What shines at night?", "The moon and the stars shine at night."),
    ("What season is cold?", "Winter is cold."),
    ("What season is hot?", "Summer is hot."),
]

GREETINGS = [
    ("Hello!", "Hello! How can I help you today?"),
    ("Hi!", "Hi! How can I help you today?"),
    ("Good morning!", "Good morning! How can I help you today?"),
    ("Good night!", "Good night! Sleep well."),
    ("How are you?", "I am fine, thank you. How can I help you?"),
    ("Thank you!", "You are welcome."),
    ("Thanks for the help.", "You are welcome."),
    ("Goodbye!", "Goodbye! Have a nice day."),
    ("What is your name?", "I am a small helpful assistant."),
    ("Who are you?", "I am a small helpful assistant."),
    ("Can you help me?", "Yes, I can help you. What do you need?"),
]

STORIES = [
    "The cat sat on the mat. The dog ran in the park. The bird sang in the tree.",
    "Tom has a red ball. He likes to play with his dog. The dog likes the ball too.",
    "Anna has a small garden. The flowers are red and yellow. The grass is green.",
    "It is a sunny day. The sky is blue and the sun is yellow. We go to the park.",
    "It is raining today. The sky is grey. We stay in the house and read a book.",
    "In the morning the sun rises. In the evening the sun sets. At night we sleep.",
    "Sam counts his apples. One, two, three. He has three apples.",
    "The cow is on the farm. The pig is in the mud. The horse runs in the field.",
    "Mia likes to draw. She draws a blue sea, a white cloud and a yellow sun.",
    "The owl is awake at night. It sits in a tree and says hoot.",
    "Ben has a little fish. The fish is orange. It swims in a bowl of water.",
    "We eat an apple and a banana. The apple is red. The banana is yellow.",
]


def _colour_docs(rng):
    docs, convs = [], []
    for thing, subj, col in COLOURS:
        ans = f"{subj} is {col}."
        docs.append(f"{ans} The colour of {thing} is {col}.")
        for q in (f"What colour is {thing}?", f"What is the colour of {thing}?", f"Tell me the colour of {thing}."):
            convs.append([("user", q), ("assistant", ans)])
    return docs, convs


def _animal_docs(rng):
    docs, convs = [], []
    for a, pl, verb, sound, legs, home, likes in ANIMALS:
        art = "An" if a[0] in "aeiou" else "A"
        says = f"{art} {a} {verb}." if sound == "nothing" else f"{art} {a} {verb}. It says {sound}."
        docs.append(f"{art} {a} has {legs} legs. {says} {art} {a} lives {home}. {pl.capitalize()} like {likes}.")
        convs.append([("user", f"What sound does {art.lower()} {a} make?"), ("assistant", says)])
        convs.append([("user", f"How many legs does {art.lower()} {a} have?"), ("assistant", f"{art} {a} has {legs} legs.")])
        convs.append([("user", f"Where does {art.lower()} {a} live?"), ("assistant", f"{art} {a} lives {home}.")])
        convs.append([("user", f"What do {pl} like?"), ("assistant", f"{pl.capitalize()} like {likes}.")])
    return docs, convs


def _number_docs(rng):
    docs, convs = [], []
    for a in range(1, 6):
        for b in range(1, 6):
            s = f"{NUMBERS[a].capitalize()} plus {NUMBERS[b]} is {NUMBERS[a + b]}."
            docs.append(s)
            convs.append([("user", f"What is {NUMBERS[a]} plus {NUMBERS[b]}?"), ("assistant", s)])
    for n in range(0, 10):
        convs.append([("user", f"What comes after {NUMBERS[n]}?"), ("assistant", f"{NUMBERS[n + 1].capitalize()} comes after {NUMBERS[n]}.")])
    for n in range(2, 6):
        seq = ", ".join(NUMBERS[1 : n + 1])
        convs.append([("user", f"Count to {NUMBERS[n]}."), ("assistant", f"{seq[0].upper()}{seq[1:]}.")])
        docs.append(f"We count: {seq}.")
    return docs, convs


def corpus_documents(seed=0):
    """(plain_texts, conversations): conversations are lists of (role, content), system-less
    (the chat template adds the default system line)."""
    rng = np.random.RandomState(seed)
    texts, convs = list(STORIES), []
    for make in (_colour_docs, _animal_docs, _number_docs):
        d, c = make(rng)
        texts += d
        convs += c
    texts += [f"{q} {a}" for q, a in FACTS]
    convs += [[("user", q), ("assistant", a)] for q, a in FACTS]
    convs += [[("user", q), ("assistant", a)] for q, a in GREETINGS]
    # A few two-turn conversations, so a second user turn is not new.
    pairs = [c for c in convs if len(c) == 2]
    for _ in range(24):
        i, j = rng.randint(len(pairs), size=2)
        convs.append(pairs[i] + pairs[j])
    return texts, convs
