"""A tool for the bot's models: dice a user can ask to be rolled.

Give it to the bot by path (`BOT_TOOLS=examples/bot_tool/dice.py:roll_dice`), or
ship it in a package of your own under the `llmhub_bot.tools` entry points:

    [project.entry-points."llmhub_bot.tools"]
    dice = "my_bot_tools.dice:roll_dice"

Its name, docstring and type hints become the schema the model sees; `/help`
lists it, and the chat shows "🔧 using roll_dice…" while it runs.
"""

from __future__ import annotations

import random


def roll_dice(count: int = 1, sides: int = 6) -> list[int]:
    """Roll dice and say what each shows.

    Args:
        count: How many dice, 1 to 20.
        sides: How many sides each die has, 2 to 120.
    """
    if not 1 <= count <= 20 or not 2 <= sides <= 120:
        raise ValueError("from 1 to 20 dice of 2 to 120 sides")  # the model is told, and retries
    return [random.randint(1, sides) for _ in range(count)]
