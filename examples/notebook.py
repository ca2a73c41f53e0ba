# %% [markdown]
# # llmhub in a notebook
#
# Cells as Jupyter, VS Code and jupytext read them (`# %%`). A notebook's kernel
# runs an event loop already: `llmhub.sync` works there as in a script (its calls
# run on a loop of their own), and so does `await` on the async API.
#
# Set `MISTRAL_API_KEY` (or another provider's key) before starting the kernel.

# %%
from llmhub.sync import Hub

hub = Hub.open()  # the settings from the environment and .env; the log in llmhub.db
MODEL = "mistral-small-latest"

# %%
questions = ["Name a prime number.", "Name a river in Europe.", "Name a colour."]
answers = [hub.generate_reply(f"notebook-{i}", q, MODEL) for i, q in enumerate(questions)]
for question, answer in zip(questions, answers, strict=True):
    print(f"{question} -> {answer}")

# %% [markdown]
# Every exchange is in the log, with its tokens and cost: the same table a team
# reads with `llmhub logs`.

# %%
import sqlite3  # noqa: E402 - a notebook imports where it first needs
from contextlib import closing  # noqa: E402

hub.close()  # writes what is queued; the file is then complete
with closing(sqlite3.connect(hub.hub.settings.database_url.removeprefix("sqlite:///"))) as db:
    rows = db.execute(
        "SELECT q.chat_id, q.prompt, r.text, r.total_tokens FROM requests q"
        " JOIN responses r ON r.request_id = q.id ORDER BY q.created_at"
    ).fetchall()
for row in rows:
    print(row)
print(f"{len(rows)} exchanges logged")
