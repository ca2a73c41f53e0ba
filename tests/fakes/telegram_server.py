"""A local fake of the Telegram Bot API, for the bot's real polling loop.

Serves `getUpdates` from a queue, records every call, and refuses what
Telegram refuses: empty text, text over 4096 UTF-16 units, edits that change
nothing. `flood` makes the next call of a method answer 429 with retry_after;
`refuse` makes a method fail as an older or broken Bot API server does (an
error status, or no answer at all until the fake closes).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


#: What `getFile` and the file endpoint serve, by file id.
def tiny_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` (built by hand: offsets and all)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


FILES = {
    "photo-1": b"\xff\xd8\xff\xe0 a tiny jpeg",
    "photo-2": b"\xff\xd8\xff\xe0 another one",
    "doc-1": b"%PDF-1.4 a tiny pdf",
    "voice-1": b"OggS a short voice message",
    "song-1": b"ID3 a short song",
    "code-1": b"def main():\n    print('hi')\n",
    "report-1": tiny_pdf("Quarterly revenue grew by 12 percent."),
    "big-text": ("a line of a long log file\n" * 4000).encode(),
}

BOT = {"id": 4242, "is_bot": True, "first_name": "Hub", "username": "hub_test_bot"}
_JSON_FIELDS = {
    "entities",
    "reply_markup",
    "reply_parameters",
    "commands",
    "allowed_updates",
    "link_preview_options",
    "results",
    "button",
}


#: What the bot shows the moment it takes a message up, until the answer's first words.
PLACEHOLDER = "⏳"
#: The callback data of the stop button under an answer being written.
STOP = "st"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Refusal:
    """How a refused method answers: `status` 0 means it never answers."""

    status: int
    description: str
    times: int | None  # None: every call


class FakeBotAPI:
    def __init__(self, port: int = 0) -> None:
        self.port = port  # 0: any free one
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.flood: dict[str, int] = {}
        self.refusals: dict[str, Refusal] = {}
        #: Messages the user deleted: a reply to one is refused unless it may go without.
        self.deleted: set[int] = set()
        self._hung = asyncio.Event()
        #: Answer "can't parse entities" to every message that carries entities.
        self.refuse_entities = False
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._texts: dict[tuple[int, int], str] = {}
        #: Inline messages (posted by users in their chats) as they read now, by id.
        self.inline_texts: dict[str, str] = {}
        #: Messages that still carry a stop button: answers being written.
        self._writing: set[tuple[int, int]] = set()
        self._changed = asyncio.Condition()
        #: Set by `end_polls()`: a long poll answers at once (the bot is stopping).
        self._polls_over = False
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeBotAPI:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._hung.set()  # let every call left hanging end, so the server can stop
        if self._runner is not None:
            await self._runner.cleanup()

    # -- driving ---------------------------------------------------------------------

    def refuse(
        self, method: str, status: int = 400, description: str = "", times: int | None = None
    ) -> None:
        """Make `method` fail with `status` (0: hang until the fake closes), `times` times."""
        default = {
            0: "",
            400: f"Bad Request: method {method} is not supported",
            404: "Not Found: method not found",
            500: "Internal Server Error",
        }
        self.refusals[method] = Refusal(status, description or default.get(status, "error"), times)

    def answered(self, method: str) -> int:
        """How many calls of `method` succeeded."""
        return sum(1 for name, params in self.calls if name == method and params.get("_ok"))

    async def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates; several given at once arrive in one `getUpdates` answer."""
        async with self._changed:
            for update in updates:
                self._updates.append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()

    async def end_polls(self) -> None:
        """Answer the long poll under way, and every later one, at once: a bot told to
        stop polling then stops without waiting out the poll's timeout."""
        async with self._changed:
            self._polls_over = True
            self._changed.notify_all()

    def message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language: str = "en",
        **extra: Any,
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": language,
        }
        chat: dict[str, Any] = {
            "id": chat_id if chat_id is not None else user_id,
            "type": chat_type,
        }
        if chat_type != "private":
            chat["title"] = extra.pop("chat_title", "Team chat")
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
            **extra,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": message}

    def _with_file(
        self, user_id: int, caption: str, kind: str, file: object, **kw: Any
    ) -> dict[str, Any]:
        """A message carrying `file` as its `kind` ("photo", "voice", ...), with `caption`."""
        update = self.message(user_id, caption, **kw)
        message = update["message"]
        del message["text"]
        if caption:
            message["caption"] = caption
        message[kind] = file
        return update

    @staticmethod
    def _file_object(file_id: str, size: int | None = None, **fields: Any) -> dict[str, Any]:
        """A file as an update describes it; `size` may claim more than it holds."""
        claimed = size if size is not None else len(FILES[file_id])
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": claimed,
            **fields,
        }

    def photo(self, user_id: int, caption: str, *, file_id: str = "photo-1") -> dict[str, Any]:
        """A photo message; its bytes are `FILES[file_id]`."""
        size = self._file_object(file_id, width=8, height=8)
        return self._with_file(user_id, caption, "photo", [size])

    def document(
        self,
        user_id: int,
        caption: str,
        *,
        file_id: str = "doc-1",
        mime: str = "application/pdf",
        size: int | None = None,
        name: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """A document message; `size` may claim more than the file holds (for limits)."""
        file_name = name or f"{file_id}.pdf"
        file = self._file_object(file_id, size, file_name=file_name, mime_type=mime)
        return self._with_file(user_id, caption, "document", file, **kw)

    def voice(
        self, user_id: int, *, file_id: str = "voice-1", size: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        """A voice message (no text); `size` may claim more than the file holds."""
        file = self._file_object(file_id, size, duration=3, mime_type="audio/ogg")
        return self._with_file(user_id, "", "voice", file, **kw)

    def audio(self, user_id: int, caption: str, *, file_id: str = "song-1") -> dict[str, Any]:
        """An audio file with a caption."""
        file = self._file_object(
            file_id, duration=5, mime_type="audio/mpeg", file_name=f"{file_id}.mp3"
        )
        return self._with_file(user_id, caption, "audio", file)

    def stopped(self, chat_id: int, draft_id: int) -> dict[str, Any]:
        """The user pressed the stop button of a streamed draft."""
        return {
            "stopped_message_generation": {
                "chat": {"id": chat_id, "type": "private"},
                "draft_id": draft_id,
            }
        }

    @staticmethod
    def _user(user_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language is not None:
            user["language_code"] = language
        return user

    def _press(self, user_id: int, data: str, language: str | None, **where: Any) -> dict[str, Any]:
        return {
            "callback_query": {
                "id": str(next(self._update_ids)),
                "from": self._user(user_id, language),
                "chat_instance": "ci",
                "data": data,
                **where,
            }
        }

    def callback(
        self, user_id: int, data: str, message: dict[str, Any], language: str | None = None
    ) -> dict[str, Any]:
        """A button pressed under `message`."""
        return self._press(user_id, data, language, message=message)

    def inline_press(
        self, user_id: int, data: str, inline_message_id: str, language: str = "en"
    ) -> dict[str, Any]:
        """A button pressed under an inline message (Telegram sends no message then)."""
        return self._press(user_id, data, language, inline_message_id=inline_message_id)

    def inline_query(self, user_id: int, query: str, language: str = "en") -> dict[str, Any]:
        """A user typing `@bot <query>` in some chat."""
        return {
            "inline_query": {
                "id": str(next(self._update_ids)),
                "from": self._user(user_id, language),
                "query": query,
                "offset": "",
            }
        }

    def sticker(self, user_id: int, language: str = "en") -> dict[str, Any]:
        """A sticker message."""
        update = self.message(user_id, "", language=language)
        del update["message"]["text"]
        update["message"]["sticker"] = {
            "file_id": "st-1",
            "file_unique_id": "u-st-1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return update

    async def wait_for(
        self, predicate: Callable[[FakeBotAPI], bool], timeout: float = 15.0
    ) -> None:
        """Wait until `predicate(self)` holds after some call (bounded, not timed)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    def sent(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            params
            for name, params in self.calls
            if name == method and (chat_id is None or int(params.get("chat_id", 0)) == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [str(p["text"]) for p in self.sent("sendMessage", chat_id)]

    def showing(self, chat_id: int) -> list[str]:
        """The chat's messages as they read now (edits applied, deleted ones gone),
        without the answers still being written (placeholders and previews)."""
        return [
            text
            for key, text in self._texts.items()
            if key[0] == chat_id and text != PLACEHOLDER and key not in self._writing
        ]

    def _note_buttons(self, key: tuple[int, int], params: dict[str, Any]) -> None:
        rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
        if any(b.get("callback_data") == STOP for row in rows for b in row):
            self._writing.add(key)
        else:
            self._writing.discard(key)

    # -- the API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        files: dict[str, dict[str, Any]] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):  # an upload (sendDocument): its name and bytes
                files[key] = {"filename": value.filename, "data": value.file.read()}
                continue
            text = str(value)
            params[key] = json.loads(text) if key in _JSON_FIELDS else text
        for key, value in params.items():  # "attach://<field>" names the upload's field
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files[value.removeprefix("attach://")]
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        refusal = self._refusal(method)
        if refusal is not None and refusal.status == 0:
            async with self._changed:
                self.calls.append((method, params))
                self._changed.notify_all()
            await self._hung.wait()
            return web.Response(status=504)
        async with self._changed:
            self.calls.append((method, params))
            if refusal is not None:
                result = self._error(refusal.status, refusal.description)
            else:
                result = self._answer(method, params)
                params["_ok"] = result.status == 200
            self._changed.notify_all()
        return result

    def _refusal(self, method: str) -> Refusal | None:
        refusal = self.refusals.get(method)
        if refusal is None:
            return None
        if refusal.times is not None:
            refusal.times -= 1
            if refusal.times <= 0:
                del self.refusals[method]
        return refusal

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if file_id not in FILES:
            return web.Response(status=404)
        return web.Response(body=FILES[file_id], content_type="image/jpeg")

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        async with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates:
                try:
                    async with asyncio.timeout(min(float(params.get("timeout", 0)), 1.0)):
                        await self._changed.wait_for(
                            lambda: bool(self._updates) or self._polls_over
                        )
                except TimeoutError:
                    pass
            return list(self._updates)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def _answer(self, method: str, params: dict[str, Any]) -> web.Response:
        if method in self.flood:
            return self._error(
                429, "Too Many Requests: retry after", retry_after=self.flood.pop(method)
            )
        if method == "getMe":
            return self._ok(BOT)
        if method == "getWebhookInfo":
            return self._ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})
        if method == "getFile":
            file_id = str(params["file_id"])
            if file_id not in FILES:
                return self._error(400, "Bad Request: invalid file_id")
            return self._ok(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "file_size": len(FILES[file_id]),
                    "file_path": f"files/{file_id}.bin",
                }
            )
        if method == "getChatMember":
            return self._ok(
                {
                    "status": "member",
                    "user": {"id": int(params["user_id"]), "is_bot": False, "first_name": "x"},
                }
            )
        if method == "editMessageText" and "inline_message_id" in params:
            self.inline_texts[str(params["inline_message_id"])] = str(params["text"])
            return self._ok(True)
        if method in {"sendMessage", "editMessageText"}:
            text = str(params.get("text", ""))
            if not text.strip():
                return self._error(400, "Bad Request: message text is empty")
            if _utf16(text) > 4096:
                return self._error(400, "Bad Request: message is too long")
            reply = params.get("reply_parameters") or {
                "message_id": int(params.get("reply_to_message_id", 0)),
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
            if reply["message_id"] in self.deleted and not reply.get("allow_sending_without_reply"):
                return self._error(400, "Bad Request: message to be replied not found")
            if self.refuse_entities and params.get("entities"):
                return self._error(400, "Bad Request: can't parse entities: unsupported start tag")
            chat_id = int(params["chat_id"])
            if method == "editMessageText":
                key = (chat_id, int(params["message_id"]))
                if self._texts.get(key) == text:
                    return self._error(400, "Bad Request: message is not modified")
                self._texts[key] = text
                self._note_buttons(key, params)
                return self._ok(self._message(chat_id, key[1], text))
            message_id = next(self._message_ids)
            self._texts[(chat_id, message_id)] = text
            self._note_buttons((chat_id, message_id), params)
            params["_message_id"] = message_id  # so a test can press this message's buttons
            return self._ok(self._message(chat_id, message_id, text))
        if method == "editMessageReplyMarkup":
            self._note_buttons((int(params["chat_id"]), int(params["message_id"])), params)
            return self._ok(True)
        if method == "deleteMessage":
            self._texts.pop((int(params["chat_id"]), int(params["message_id"])), None)
            return self._ok(True)
        if method == "sendDocument":
            chat_id = int(params["chat_id"])
            message = self._message(chat_id, next(self._message_ids), "")
            del message["text"]
            upload = params["document"]
            message["document"] = {
                "file_id": f"sent-{message['message_id']}",
                "file_unique_id": f"u-sent-{message['message_id']}",
                "file_name": upload["filename"],
                "file_size": len(upload["data"]),
            }
            return self._ok(message)
        if method == "sendMessageDraft":
            text = str(params.get("text", ""))
            if _utf16(text) > 4096:
                return self._error(400, "Bad Request: text is too long")
        return self._ok(True)

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT,
            "text": text,
        }
