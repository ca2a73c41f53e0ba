"""Voice messages for models that cannot hear: transcribed first by a model that can
(`BOT_TRANSCRIBE_MODEL`, e.g. Voxtral or Gemini), the transcript shown to the user,
then answered by the chat's own model as if it had been typed.

The transcription is logged like any call, under a conversation of its own
(`<chat>:voice`), so its instruction never becomes a turn of the chat's context;
the chat's context holds the transcript, as the user's words.
"""

from __future__ import annotations

from llmhub import Attachment, Hub, Prompt

__all__ = ["INSTRUCTION", "transcribe"]

INSTRUCTION = (
    "Transcribe this voice message word for word, in the language it is spoken in."
    " Reply with the transcript only, without quotes or comments."
)


async def transcribe(
    hub: Hub,
    model: str,
    conversation: int | str,
    voice: Attachment,
    *,
    user_id: int | None,
    request_id: str,
) -> str:
    """What the voice message says, by `model` (empty when it heard no words)."""
    reply = await hub.reply(
        Prompt(
            f"{conversation}:voice",
            INSTRUCTION,
            model=model,
            user_id=user_id,
            attachments=(voice,),
            context=False,
            fallbacks=(),
            request_id=f"{request_id}-voice",
        )
    )
    return reply.text.strip()
