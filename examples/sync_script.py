"""A script that asks a model, without `async`: `llmhub.sync` runs the calls on a
loop of its own, and the log is written before the script exits.

    MISTRAL_API_KEY=... python examples/sync_script.py "What is a haiku?"
"""

from __future__ import annotations

import sys

from llmhub.sync import generate_reply, stream_reply


def main() -> None:
    question = " ".join(sys.argv[1:]) or "Write a haiku about logs."
    print(generate_reply("sync-example", question, "mistral-small-latest"))
    # The same conversation goes on: the first exchange is sent as context.
    with stream_reply("sync-example", "Now one line shorter.") as stream:
        for piece in stream:
            print(piece, end="", flush=True)
    print()
    if stream.reply is not None:  # None only when the stream was left early
        usage = stream.reply.usage
        print(f"({usage.prompt_tokens} tokens in, {usage.completion_tokens} out)", file=sys.stderr)


if __name__ == "__main__":
    main()
