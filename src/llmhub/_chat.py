"""One conversation's state, through one door: `hub.chat(chat_id)`.

A chat has a chosen model, a system prompt of its own and a context (its turns since
it was last reset); the hub applies the first two to every prompt that does not set
its own, and sends the context along. Apps and the bot read and change all of it
here, never through the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .store import ContextInfo, Exchange, Turn

if TYPE_CHECKING:
    from ._hub import Hub
    from ._types import ChatId

__all__ = ["Chat"]


class Chat:
    """A conversation of the hub, by its id (`hub.chat(chat_id)`); cheap to make, holds
    nothing but the id: every read goes to the store, so replicas agree."""

    __slots__ = ("_hub", "id")

    def __init__(self, hub: Hub, chat_id: ChatId) -> None:
        self._hub = hub
        self.id = str(chat_id)

    # -- the model ----------------------------------------------------------------------

    async def model(self) -> str:
        """The model this chat's next prompt goes to (its choice, else the hub's default)."""
        return await self._hub.model_for(self.id)

    async def chosen_model(self) -> str | None:
        """The model chosen for this chat, if one was."""
        return await self._hub.store.chat_model(self.id)

    async def set_model(self, model: str | None) -> None:
        """Choose the chat's model (`None`: back to the default); it must resolve to an
        installed provider (`ModelNotFoundError`, `UnknownProviderError` if not)."""
        if model is not None:
            self._hub.registry.resolve(model)
        await self._hub.store.set_chat_model(self.id, model)

    # -- the system prompt ------------------------------------------------------------------

    async def system(self) -> str | None:
        """The chat's own system prompt, if it set one."""
        return await self._hub.store.chat_system(self.id)

    async def set_system(self, text: str | None) -> None:
        """Set the chat's system prompt, sent with the chat's context: by every prompt of
        the chat that sets none of its own and carries the context (not one with
        `context=False` or its own `history`). `None` or blank clears it."""
        await self._hub.store.set_chat_system(self.id, text if text and text.strip() else None)

    # -- the context ------------------------------------------------------------------------

    async def reset(self) -> None:
        """Start afresh: later prompts carry none of the earlier turns (they stay logged)."""
        await self._hub.store.reset_context(self.id)

    async def context(self) -> ContextInfo:
        """How many turns and characters the chat's next prompt will carry."""
        settings = self._hub.settings
        return await self._hub.store.context_info(
            self.id, settings.context_turns, settings.context_chars
        )

    async def last_turn(self) -> Turn | None:
        """The latest answered exchange of the current context, however long it is."""
        turns = await self._hub.store.recent_turns(self.id, 1, 2**62)
        return turns[-1] if turns else None

    async def author(self, request_id: str) -> int | None:
        """Who asked the exchange `request_id` of this chat (its `user_id`), if it was
        answered and its author given."""
        row = await self._hub.store.answer_of(request_id)
        if row is None or str(row["chat_id"]) != self.id:
            return None  # not answered, or another chat's
        return int(row["user_id"]) if row["user_id"] is not None else None

    async def conversation(self, limit: int = 10_000) -> list[Exchange]:
        """The current conversation, oldest first: every answered exchange since the
        last reset, but those a regeneration replaced (what an export holds)."""
        return await self._hub.store.conversation(self.id, limit)

    async def exchanges(self, limit: int = 20) -> list[Exchange]:
        """The latest requests of the chat with their responses (failed ones too), newest first."""
        return await self._hub.store.recent_exchanges(limit, self.id)

    def __repr__(self) -> str:
        return f"<llmhub.Chat {self.id!r}>"
