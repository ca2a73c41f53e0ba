"""PDFs and audio to Mistral, against the local fake server, the payload checked
field by field against Mistral's API reference (see `llmhub_mistral`)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from llmhub import Attachment, Hub, UnsupportedInputError
from llmhub.testing.openai_server import FakeOpenAIServer

KEY = "sk-mistral-files-key-7a6b5c4d"
PDF = b"%PDF-1.4 a report of two pages"
MP3 = b"ID3\x03\x00 some mp3 frames"


def _env(llm: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'files.db'}",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": llm.url,
    }


@pytest.mark.parametrize("stream", [False, True])
async def test_a_pdf_is_uploaded_then_sent_by_its_signed_url(tmp_path: Path, stream: bool) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        async with await Hub.open(_env(llm, tmp_path)) as hub:
            pdf = Attachment(PDF, "application/pdf", "report.pdf")
            if stream:
                async with hub.stream_reply(
                    1, "sum it up", "mistral-small-latest", attachments=[pdf]
                ) as s:
                    text = "".join([piece async for piece in s])
            else:
                text = await hub.generate_reply(
                    1, "sum it up", "mistral-small-latest", attachments=[pdf]
                )
        [upload] = llm.uploads
        [request] = llm.requests
    assert text == "echo: sum it up"
    assert upload["purpose"] == "ocr"
    assert (upload["filename"], upload["content_type"], upload["data"]) == (
        "report.pdf",
        "application/pdf",
        PDF,
    )
    assert request["messages"][-1]["content"] == [
        {"type": "text", "text": "sum it up"},
        {
            "type": "document_url",
            "document_url": f"{llm.url}/signed/{upload['id']}?expiry=24",
            "document_name": "report.pdf",
        },
    ]


async def test_audio_goes_to_voxtral_as_base64_input_audio(tmp_path: Path) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        async with await Hub.open(_env(llm, tmp_path)) as hub:
            voice = Attachment(MP3, "audio/mpeg", "voice.mp3")
            await hub.generate_reply(1, "what is said?", "voxtral-mini-latest", attachments=[voice])
        [request] = llm.requests
    assert llm.uploads == []
    assert request["messages"][-1]["content"] == [
        {"type": "text", "text": "what is said?"},
        {"type": "input_audio", "input_audio": base64.b64encode(MP3).decode()},
    ]


@pytest.mark.parametrize(
    ("model", "attachment", "names"),
    [
        ("mistral-small-latest", Attachment(MP3, "audio/mpeg"), "voxtral-small-latest"),
        ("voxtral-mini-latest", Attachment(PDF, "application/pdf"), "mistral-small-latest"),
        ("voxtral-mini-latest", Attachment(b"\x89PNG", "image/png"), "mistral-small-latest"),
    ],
)
async def test_a_file_the_model_cannot_read_is_refused_naming_those_that_can(
    tmp_path: Path, model: str, attachment: Attachment, names: str
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        async with await Hub.open(_env(llm, tmp_path)) as hub:
            with pytest.raises(UnsupportedInputError, match=names):
                await hub.generate_reply(1, "read this", model, attachments=[attachment])
        assert llm.requests == []
        assert llm.uploads == []
