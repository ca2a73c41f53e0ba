"""Voice messages, audio, photos and documents: each goes to the chat's model when
it reads that kind; otherwise the user is told which models do, one tap away."""

from __future__ import annotations

import base64
from pathlib import Path

from llmhub.testing.openai_server import Behaviour
from tests.bot.conftest import ADMIN, World, buttons, open_world, press, rows, shown
from tests.fakes.telegram_server import FILES


def _audio_parts(request: dict[str, object]) -> list[str]:
    messages = request["messages"]
    assert isinstance(messages, list)
    content = messages[-1]["content"]
    return [p["input_audio"] for p in content if isinstance(p, dict) and p["type"] == "input_audio"]


async def test_a_voice_message_reaches_an_audio_model_as_audio(world: World) -> None:
    await world.hub.set_chat_model(ADMIN, "mistral/voxtral-mini-latest")
    await world.tg.push(world.tg.voice(ADMIN))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)

    [request] = world.llm.requests
    assert request["model"] == "voxtral-mini-latest"
    assert _audio_parts(request) == [base64.b64encode(FILES["voice-1"]).decode()]
    assert [status for _, status, _ in rows(world.db)] == ["ok"]


async def test_an_audio_file_keeps_its_caption_beside_the_sound(world: World) -> None:
    await world.hub.set_chat_model(ADMIN, "mistral/voxtral-small-latest")
    await world.tg.push(world.tg.audio(ADMIN, "what instrument is this?"))
    await world.tg.wait_for(lambda tg: "echo: what instrument is this?" in shown(tg, ADMIN))
    assert _audio_parts(world.llm.requests[0]) == [base64.b64encode(FILES["song-1"]).decode()]


async def test_voice_to_a_text_only_model_offers_the_audio_models_and_one_tap_answers(
    world: World,
) -> None:
    update = world.tg.voice(ADMIN)
    await world.tg.push(update)
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    refusal = world.tg.sent("sendMessage", ADMIN)[0]
    assert "cannot take this file" in refusal["text"]
    labels = [b["text"] for b in buttons(refusal)]
    assert labels == ["mistral/voxtral-small-latest", "mistral/voxtral-mini-latest"]
    assert world.llm.requests == []

    await press(world, ADMIN, refusal, "voxtral-small", reply_to=update["message"])
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 2)  # the answer

    assert shown(world.tg, ADMIN)[0] == "This chat now uses mistral/voxtral-small-latest."

    assert await world.hub.store.chat_model(str(ADMIN)) == "mistral/voxtral-small-latest"
    [request] = world.llm.requests
    assert request["model"] == "voxtral-small-latest"
    assert _audio_parts(request) == [base64.b64encode(FILES["voice-1"]).decode()]


async def test_the_refusal_and_its_buttons_speak_russian(world: World) -> None:
    await world.tg.push(world.tg.voice(ADMIN, language="ru"))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    refusal = world.tg.sent("sendMessage", ADMIN)[0]
    assert "Эта модель не принимает такой файл" in refusal["text"]
    assert len(buttons(refusal)) == 2


async def test_a_switch_without_the_original_message_asks_to_send_it_again(
    world: World,
) -> None:
    await world.tg.push(world.tg.voice(ADMIN))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    refusal = world.tg.sent("sendMessage", ADMIN)[0]

    await press(world, ADMIN, refusal, "voxtral-mini")  # the voice message was deleted
    await world.tg.wait_for(lambda tg: world.tg.answered("answerCallbackQuery") == 1)
    await world.tg.wait_for(lambda tg: any("send it again" in t for t in shown(tg, ADMIN)))
    assert await world.hub.store.chat_model(str(ADMIN)) == "mistral/voxtral-mini-latest"
    assert world.llm.requests == []


async def test_a_voice_message_over_the_limit_is_not_downloaded(world: World) -> None:
    await world.hub.set_chat_model(ADMIN, "mistral/voxtral-mini-latest")
    await world.tg.push(world.tg.voice(ADMIN, size=50 * 1024 * 1024))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN)[0].startswith(
        "This file is too large (50 MB; the limit is 10 MB)."
    )
    assert world.tg.sent("getFile") == []


async def test_a_code_file_goes_to_a_text_only_model_as_text(world: World) -> None:
    """main.py used to be refused by a model that reads no files, and again by the
    model offered instead (a loop); any model reads text."""
    await world.hub.chat(ADMIN).set_model("dipseek/deepseek-chat")
    await world.tg.push(
        world.tg.document(
            ADMIN, "what does this do?", file_id="code-1", mime="text/x-python", name="main.py"
        )
    )
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))
    sent = world.llm.requests[-1]["messages"][-1]["content"]
    assert sent == (
        "what does this do?\n\n📎 main.py (28 B):\n```\ndef main():\n    print('hi')\n\n```"
    )
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN)[0].startswith("echo: what does this do?")


async def test_a_text_file_longer_than_a_prompt_may_be_is_cut_with_a_note(world: World) -> None:
    world.llm.then(Behaviour(text="A long log."))  # not its echo: what is sent is the point
    await world.tg.push(
        world.tg.document(ADMIN, "", file_id="big-text", mime="text/plain", name="app.log")
    )
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))
    sent = world.llm.requests[-1]["messages"][-1]["content"]
    limit = world.hub.settings.max_prompt_chars
    assert limit - 10 < len(sent) <= limit  # as much of the file as a prompt may hold
    assert sent.startswith("📎 app.log (102 KB):\n```\na line of a long log file\n")
    assert sent.endswith("```\n(cut: this is the file's beginning, 31,905 of 104,000 characters)")


async def test_a_pdf_to_a_model_that_reads_none_goes_as_its_text(world: World) -> None:
    """A model that reads no PDFs gets the PDF's text instead of a refusal; the user
    is not sent round the model list."""
    await world.hub.chat(ADMIN).set_model("dipseek/deepseek-chat")
    await world.tg.push(world.tg.document(ADMIN, "summarise", file_id="report-1", name="q3.pdf"))
    await world.tg.wait_for(lambda tg: bool(world.llm.requests))
    sent = world.llm.requests[-1]["messages"][-1]["content"]
    assert sent.startswith("summarise\n\n📎 q3.pdf (")
    assert "Quarterly revenue grew by 12 percent." in sent
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN)[0].startswith("echo: summarise")


async def test_a_voice_message_to_a_model_that_cannot_hear_is_transcribed_then_answered(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path, bot_transcribe_model="mistral/voxtral-mini-latest") as world:
        world.llm.then(Behaviour(text="What is the capital of France?"))
        await world.tg.push(world.tg.voice(ADMIN))
        await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 2)
        # The transcript is shown, then answered by the chat's own model, as text.
        assert world.tg.texts(ADMIN) == [
            "🎤 What is the capital of France?",
            "echo: What is the capital of France?",
        ]
        heard, answered = world.llm.requests
        assert heard["model"] == "voxtral-mini-latest"
        assert _audio_parts(heard) == [base64.b64encode(FILES["voice-1"]).decode()]
        assert answered["model"] == "mistral-small-latest"
        assert answered["messages"][-1]["content"] == "What is the capital of France?"
        # The chat's context holds the transcript as the user's words, not the instruction.
        [turn] = await world.hub.chat(ADMIN).conversation()
        assert (turn.prompt, turn.text) == (
            "What is the capital of France?",
            "echo: What is the capital of France?",
        )


async def test_a_voice_message_without_words_is_said_so(tmp_path: Path) -> None:
    async with open_world(tmp_path, bot_transcribe_model="mistral/voxtral-mini-latest") as world:
        world.llm.then(Behaviour(text="  "))
        await world.tg.push(world.tg.voice(ADMIN, language="ru"))
        await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
        assert world.tg.texts(ADMIN) == [
            "Я не разобрал ни одного слова в этом голосовом сообщении."
        ]
        assert len(world.llm.requests) == 1  # nothing to answer
