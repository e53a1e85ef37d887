"""What the app-level real-model tests say to the model, and the app they say it through.

One app serves every module (`conftest.chat_app`): two users, and one assistant per purpose,
all pointing at the real model server with temperature 0 and each with its own reply limit,
so that each test pays only for the tokens it needs (the model writes ~30 tokens a second on
a busy 2-core machine). The texts live here so that `test_estimates` measures the very
prompts the other tests send.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from assistants_proxy.seed_tools import GET_WEATHER

PASSWORD = "real-model-tests-9"
USERS = ("alice", "bob")

INSTRUCTIONS = "You are a helpful assistant. Answer briefly."
QUESTION = "What is the capital of France?"
# Answerable only from the history: a model that did not see the first question cannot say.
ABOUT_THE_FIRST = "Which country did I just ask about?"
STORY_INSTRUCTIONS = "You are a storyteller. Your stories are long and detailed."
# SmolLM2 does not end this story on its own within 600 tokens (checked at temperature 0).
STORY = "Tell me a long story about a lighthouse keeper."
WEATHER_QUESTION = "What is the weather like in Paris today?"
SHORT_QUESTION = "How long does the cake bake?"  # answered from NOTES when it is kept

# Notes a user might paste: prose with a few numbers, ~4.4 characters a token for SmolLM2.
PARAGRAPHS = (
    "On Monday the team met at 9:30 to plan the spring release. Maria said the new search "
    "page is almost ready, but the filters still load slowly on older phones, so she wants "
    "two more days to profile them. Tom reported that 14 of the 212 open bugs are marked "
    "urgent; most of them concern the export to spreadsheets, which sometimes drops the last "
    "row. We agreed to fix those first and to move the dark theme to the next release.",
    "The river leaves the mountains in a narrow valley, where old stone bridges cross it every "
    "few miles. Farmers along its banks grow wheat, barley and vegetables, and in spring the "
    "water rises quickly after the snow melts. Travellers often stop in the small towns to buy "
    "bread, cheese and fresh fruit before they continue towards the sea, about 120 kilometres "
    "further west.",
    "My grandmother's apple cake needs four apples, 200 grams of flour, 150 grams of sugar, "
    "three eggs and a spoon of cinnamon. She always peeled the apples first, cut them into thin "
    "slices and let them rest in lemon juice while she beat the eggs with the sugar until the "
    "mixture was pale. The cake bakes for 45 minutes at 180 degrees, and it tastes even better "
    "on the second day.",
    "During the trip we visited three museums, walked along the harbour every evening and took "
    "a boat to the islands on Thursday. The weather was mild, around 18 degrees, with a little "
    "rain in the mornings. The best meal was a fish soup in a tiny restaurant near the old "
    "lighthouse, where the owner told us stories about the storms of the winter of 1987.",
)
NOTES = " ".join(PARAGRAPHS)  # 343 tokens


def notes(times: int) -> str:
    return " ".join([NOTES] * times)


# ~3,100 tokens: over the model's whole context window (2,048) on its own.
OVERFLOW = notes(9)

# A thread history over the 2,048-token window (~2,150 tokens with the template) whose
# newest messages fit in a fifth of it: trimming keeps a prompt that evaluates in seconds.
LONG_HISTORY = (
    ("user", "Here are my notes. " + notes(5)),
    ("assistant", "Thank you, I have read your notes."),
    ("user", "And some more. " + NOTES),
    ("assistant", "Noted. What would you like to know?"),
)


@dataclass(frozen=True)
class AssistantSpec:
    name: str
    instructions: str
    max_tokens: int
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    context_window: int | None = None


PLAIN = AssistantSpec("SmolLM", INSTRUCTIONS, 64)
BRIEF = AssistantSpec("SmolLM brief", INSTRUCTIONS, 8)  # first-token latency only
STORYTELLER = AssistantSpec("Storyteller", STORY_INSTRUCTIONS, 1500)  # to be stopped
SHORT_STORY = AssistantSpec("Short story", STORY_INSTRUCTIONS, 96)
WEATHER = AssistantSpec("Weather", INSTRUCTIONS, 128, [GET_WEATHER], "get_weather")
# 64 tokens: SmolLM2 ends its answer to SHORT_QUESTION within it, with or without NOTES.
WINDOW = AssistantSpec("SmolLM 2048", INSTRUCTIONS, 64, context_window=2048)
NO_WINDOW = AssistantSpec("SmolLM no window", INSTRUCTIONS, 64)  # learns it from a refusal
ASSISTANTS = (PLAIN, BRIEF, STORYTELLER, SHORT_STORY, WEATHER, WINDOW, NO_WINDOW)

# Threads made before the app starts: a long history costs nothing to write into the
# database, while sending it through the model would cost minutes of prompt evaluation.
WINDOW_SET_THREAD = "Long notes, window set"
NO_WINDOW_THREAD = "Long notes, no window"
SEEDED_THREADS = {
    WINDOW_SET_THREAD: (WINDOW, LONG_HISTORY),
    NO_WINDOW_THREAD: (NO_WINDOW, LONG_HISTORY),
}

_SETUP = """
import json
from django.contrib.auth.models import User
from chat.models import Assistant, Message, Thread
data = json.loads({data!r})
password = data["password"]
users = {{name: User.objects.create_user(name, password=password) for name in data["users"]}}
made = {{}}
for spec in data["assistants"]:
    made[spec["name"]] = Assistant.objects.create(
        protocol="chat_completions", base_url=data["base_url"], model=data["model"],
        temperature=0, **spec,
    )
for title, (assistant, history) in data["threads"].items():
    thread = Thread.objects.create(owner=users["alice"], assistant=made[assistant], title=title)
    parent = None  # a thread is a tree: each message follows the one before
    for role, content in history:
        parent = Message.objects.create(
            thread=thread, parent=parent, role=role, content=content, status="completed"
        )
"""


def setup_code(base_url: str, model: str) -> str:
    """Python for `manage.py shell -c`: the users, the assistants and the seeded threads."""
    data = {
        "password": PASSWORD,
        "users": USERS,
        "base_url": base_url,
        "model": model,
        "assistants": [asdict(spec) for spec in ASSISTANTS],
        "threads": {
            title: (spec.name, history) for title, (spec, history) in SEEDED_THREADS.items()
        },
    }
    return _SETUP.format(data=json.dumps(data))
