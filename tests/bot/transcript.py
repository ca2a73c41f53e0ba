"""A transcript of the bot's moments, in English and Russian, as a user and an admin
see them: the real dispatcher against the fake Bot API and a scripted model server,
on 127.0.0.1 (nothing reaches the internet).

    .venv/bin/python -m tests.bot.transcript [en|ru]

Each step prints what was sent and what the chat showed: messages with their
buttons, drafts, "typing…", edits, inline answers. Not a test: the tests assert
each moment; this shows them together, for people.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from llmhub.testing.openai_server import Behaviour
from tests.bot.conftest import ADMIN, MEMBER, STRANGER, World, open_world
from tests.fakes.telegram_server import FakeBotAPI

GROUP = -100700
FORUM = -100800


class Transcript:
    """Prints the Bot API calls made since the last step, as a person would read them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen = 0

    def step(self, who: str, what: str) -> None:
        print(f"\n▶ {who}: {what}")

    async def settle(self, done: Callable[[FakeBotAPI], bool]) -> None:
        try:
            await self.world.tg.wait_for(done, timeout=20)
        except TimeoutError:
            self.flush()
            raise
        await asyncio.sleep(0.05)  # the calls that follow at once, for the printout
        self.flush()

    def flush(self) -> None:
        calls = self.world.tg.calls[self.seen :]
        self.seen = len(self.world.tg.calls)
        typing = False
        for i, (method, params) in enumerate(calls):
            if _growing(method, params) and i + 1 < len(calls) and _growing(*calls[i + 1]):
                continue  # of a streamed preview, the moments that matter and its last state
            line = _line(method, params)
            if method == "sendChatAction":
                if typing:
                    continue
                typing = True
            if line:
                print(f"  {line}")


def _data(params: dict[str, Any]) -> str:
    markup = params.get("reply_markup") or {}
    return " ".join(
        str(b.get("callback_data")) for row in markup.get("inline_keyboard", []) for b in row
    )


def _growing(method: str, params: dict[str, Any]) -> bool:
    """A preview of an answer as it grows (not a placeholder, a thinking or a tool line)."""
    text = str(params.get("text", ""))
    preview = method == "sendMessageDraft" or (
        method == "editMessageText" and "⏹" in _buttons(params)
    )
    return preview and not text.startswith(("⏳", "💭", "🔗", "🔧"))


def _buttons(params: dict[str, Any]) -> str:
    markup = params.get("reply_markup") or {}
    labels = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
    return f"  [{' | '.join(labels)}]" if labels else ""


def _where(params: dict[str, Any]) -> str:
    chat = params.get("chat_id")
    if chat is None:
        return "inline message"
    chat = int(chat)
    name = {ADMIN: "admin", MEMBER: "member", STRANGER: "stranger"}.get(chat)
    if name is None:
        name = "group" if chat == GROUP else "forum" if chat == FORUM else str(chat)
    topic = params.get("message_thread_id")
    return f"{name}, topic {topic}" if topic else name


def _line(method: str, params: dict[str, Any]) -> str | None:
    text = str(params.get("text", "")).replace("\n", "\n      ")
    where = _where(params)
    if method == "sendMessage":
        return f"[{where}] 💬 {text}{_buttons(params)}"
    if method == "editMessageText":
        return f"[{where}] ✏️ {text}{_buttons(params)}"
    if method == "sendMessageDraft":
        return f"[{where}] 📝 (draft) {text}"
    if method == "sendChatAction":
        return f"[{where}] … typing"
    if method == "deleteMessage":
        return f"[{where}] 🗑 (placeholder removed)"
    if method == "answerCallbackQuery" and params.get("text"):
        return f"[button answer] {params['text']}"
    if method == "sendDocument":
        return f"[{where}] 📎 {params['document']['filename']}"
    if method == "answerInlineQuery":
        results = [r["title"] for r in params.get("results", [])]
        button = (params.get("button") or {}).get("text")
        return f"[inline results] {results or ''}{f' [{button}]' if button else ''}"
    return None


async def _site() -> tuple[web.AppRunner, str]:
    page = (
        "<html><head><title>Otters hold hands</title></head><body><article>"
        "<h1>Otters hold hands</h1><p>Sea otters hold hands while they sleep so that"
        " they do not drift apart; a group of them is called a raft.</p>"
        "</article></body></html>"
    )

    async def article(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/otters", article)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/otters"


async def run(language: str) -> None:
    ru = language == "ru"
    runner, url = await _site()
    with tempfile.TemporaryDirectory() as folder:
        async with open_world(
            Path(folder),
            bot_tools="read_link",
            bot_read_link_allow="127.0.0.1",
            bot_transcribe_model="mistral/voxtral-mini-latest",
            bot_limit_tokens_day=300,
            hub_env={"LLMHUB_CONTEXT_TURNS": "2"},
        ) as world:
            await _scenes(world, Transcript(world), language, ru, url)
    await runner.cleanup()


async def _scenes(world: World, t: Transcript, lang: str, ru: bool, url: str) -> None:
    tg, llm = world.tg, world.llm

    def w(english: str, russian: str) -> str:
        return russian if ru else english

    async def say(user: int, text: str, done: Callable[[FakeBotAPI], bool], **kw: Any) -> None:
        t.step(f"user {user}", text)
        await tg.push(tg.message(user, text, language=lang, **kw))
        await t.settle(done)

    def texts(chat: int, n: int) -> Callable[[FakeBotAPI], bool]:
        before = len(tg.texts(chat))
        return lambda tg: len(tg.texts(chat)) >= before + n

    print(f"=== 1. Never silent ({lang}) ===")
    llm.then(Behaviour(hang=True))
    t.step(f"user {ADMIN}", w("tell me a long story", "расскажи длинную историю"))
    await tg.push(
        tg.message(ADMIN, w("tell me a long story", "расскажи длинную историю"), language=lang)
    )
    await t.settle(lambda tg: bool(tg.sent("sendMessageDraft", ADMIN)))
    await say(ADMIN, "/stop", lambda tg: any("(" in x for x in tg.texts(ADMIN)))
    llm.then(Behaviour(text=w("Forty-two.", "Сорок два."), reasoning="6 × 7 = 42"))
    await say(ADMIN, w("what is six times seven?", "сколько будет шесть на семь?"), texts(ADMIN, 1))
    llm.then(
        Behaviour(
            text=w("Once upon a time there was a", "Жили-были в одном далёком царстве"), cut_after=2
        )
    )
    await say(ADMIN, w("another story", "ещё историю"), texts(ADMIN, 2))
    llm.then(Behaviour(status=503, body={"message": "overloaded"}))
    await say(MEMBER, w("are you there?", "ты здесь?"), texts(MEMBER, 1))
    await say(MEMBER, w("first", "первое"), texts(MEMBER, 1))
    await say(MEMBER, w("second", "второе"), texts(MEMBER, 1))
    await say(MEMBER, w("third", "третье"), texts(MEMBER, 1))

    print(f"\n=== 2. Groups ({lang}) ===")
    await say(
        STRANGER,
        w("/ask what is a raft of otters?", "/ask что такое плот выдр?"),
        texts(GROUP, 1),
        chat_id=GROUP,
        chat_type="group",
    )
    request = next(p for p in tg.sent("sendMessage", ADMIN) if "gacc:" in _data(p))
    t.step("admin", "presses Approve")
    approve = request["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    shown_request = tg._message(ADMIN, request["_message_id"], "…")
    await tg.push(tg.callback(ADMIN, approve, shown_request, language=lang))
    await t.settle(texts(GROUP, 1))
    quoted = tg.message(
        MEMBER, "Bonjour tout le monde", chat_id=GROUP, chat_type="group", language=lang
    )
    await tg.push(quoted)
    await say(
        STRANGER,
        w("@hub_test_bot translate this", "@hub_test_bot переведи это"),
        lambda tg: any("Bonjour" in x for x in tg.showing(GROUP)[-1:]),
        chat_id=GROUP,
        chat_type="group",
        reply_to_message=quoted["message"],
    )
    llm.then(Behaviour(hang=True))
    t.step(f"user {STRANGER}", "/ask a long answer, then presses ⏹ stop")
    sent = len(tg.sent("sendMessage", GROUP))
    await tg.push(
        tg.message(
            STRANGER,
            w("/ask a long answer", "/ask длинный ответ"),
            chat_id=GROUP,
            chat_type="group",
            language=lang,
        )
    )
    await tg.wait_for(lambda tg: len(tg.sent("sendMessage", GROUP)) > sent)
    placeholder = tg.sent("sendMessage", GROUP)[-1]
    stop = placeholder["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    shown = tg._message(GROUP, placeholder["_message_id"], "⏳")
    await tg.push(tg.callback(STRANGER, stop, shown, language=lang))
    await t.settle(lambda tg: any("(" in x for x in tg.showing(GROUP)))
    await say(
        MEMBER,
        w("/ask hello from topic 7", "/ask привет из темы 7"),
        lambda tg: any(" 7" in x for x in tg.showing(FORUM)),
        chat_id=FORUM,
        chat_type="supergroup",
        message_thread_id=7,
        is_topic_message=True,
    )
    await say(
        STRANGER,
        "/export",
        lambda tg: bool(tg.sent("sendDocument", GROUP)),
        chat_id=GROUP,
        chat_type="group",
    )

    print(f"\n=== 3. Files and voice ({lang}) ===")
    await world.hub.chat(ADMIN).set_model("dipseek/deepseek-chat")
    files = (
        ("main.py", "code-1", "text/x-python", w("what does this do?", "что это делает?")),
        ("report.pdf", "report-1", "application/pdf", w("summarise", "перескажи кратко")),
    )
    for name, file_id, mime, caption in files:  # the chat's model reads no files
        t.step(f"user {ADMIN}", f"📎 {name}: {caption} (chat model: deepseek-chat)")
        document = tg.document(ADMIN, caption, file_id=file_id, mime=mime, name=name, language=lang)
        await tg.push(document)
        await t.settle(texts(ADMIN, 1))
    llm.then(Behaviour(text="Какая столица Франции?" if ru else "What is the capital of France?"))
    t.step(f"user {ADMIN}", "🎤 a voice message")
    await tg.push(tg.voice(ADMIN, language=lang))
    await t.settle(texts(ADMIN, 2))
    t.step(f"user {ADMIN}", "a 50 MB voice message")
    await tg.push(tg.voice(ADMIN, size=50 * 1024 * 1024, language=lang))
    await t.settle(texts(ADMIN, 1))

    print(f"\n=== 4. Language and wording ({lang}) ===")
    await say(ADMIN, "/models", texts(ADMIN, 1))
    await say(ADMIN, "/context", texts(ADMIN, 1))
    await say(ADMIN, "/frobnicate", texts(ADMIN, 1))
    t.step(f"user {ADMIN}", "a sticker")
    await tg.push(tg.sticker(ADMIN, language=lang))
    await t.settle(texts(ADMIN, 1))
    edit = tg.message(ADMIN, "hello there", language=lang)
    edit["edited_message"] = {**edit.pop("message"), "edit_date": 1}
    t.step(f"user {ADMIN}", "edits an earlier message")
    await tg.push(edit)
    await t.settle(texts(ADMIN, 1))
    await say(MEMBER, "/usage", texts(MEMBER, 1))
    await say(ADMIN, "/stats", texts(ADMIN, 1))
    await say(ADMIN, "/help", texts(ADMIN, 1))
    t.step(f"user {ADMIN}", "types “@hub_test_bot why is the sky blue?” in another chat")
    await tg.push(
        tg.inline_query(ADMIN, w("why is the sky blue?", "почему небо голубое?"), language=lang)
    )
    await t.settle(lambda tg: bool(tg.sent("answerInlineQuery")))
    offered = tg.sent("answerInlineQuery")[-1]["results"][0]
    t.step(f"user {ADMIN}", "picks it and presses 💬")
    data = offered["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await tg.push(tg.inline_press(ADMIN, data, "inline-1", language=lang))
    await t.settle(lambda tg: "echo" in tg.inline_texts.get("inline-1", ""))

    print(f"\n=== 5. Read the link ({lang}) ===")
    await world.hub.chat(ADMIN).set_model(None)
    llm.then(
        Behaviour(tool_calls=[{"name": "read_link", "arguments": {"url": url}}]),
        Behaviour(
            text="Чтобы их не унесло течением." if ru else "So that they do not drift apart."
        ),
    )
    await say(
        ADMIN, w("why do otters do this? ", "зачем выдры так делают? ") + url, texts(ADMIN, 1)
    )


def main() -> None:
    # The servers' and the bot's own log lines would cut into the transcript.
    logging.disable(logging.CRITICAL)
    for language in sys.argv[1:] or ["en", "ru"]:
        asyncio.run(run(language))


if __name__ == "__main__":
    main()
