"""Text files (code, CSV, JSON, Markdown, logs) go to any model as text.

A model that reads no files still reads a prompt: a text file is put in the prompt
under its name and size, in a fenced block, instead of being sent as a file that
the model would refuse (and the model offered instead refuse again). A file longer
than the prompt may be is cut to fit, and the prompt says so.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from aiogram.utils.i18n import gettext as _

from llmhub import Attachment

from ._media import human_size

__all__ = ["as_text", "pdf_text", "pdfs_as_text", "with_text_files"]

log = logging.getLogger("llmhub_bot.files")

#: Types Telegram's apps give data and code files besides `text/*`.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/javascript",
        "application/x-javascript",
        "application/typescript",
        "application/x-python",
        "application/x-python-code",
        "application/x-sh",
        "application/x-shellscript",
        "application/sql",
        "application/x-subrip",
    }
)
#: Names read as text whatever type the client gave them (often octet-stream).
_TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".ndjson",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".log",
        ".sql",
        ".sh",
        ".bash",
        ".zsh",
        ".ps1",
        ".py",
        ".pyi",
        ".ipynb",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".go",
        ".rs",
        ".java",
        ".kt",
        ".kts",
        ".swift",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".cs",
        ".rb",
        ".php",
        ".pl",
        ".lua",
        ".r",
        ".scala",
        ".dart",
        ".html",
        ".htm",
        ".css",
        ".scss",
        ".vue",
        ".svelte",
        ".tex",
        ".srt",
        ".vtt",
        ".diff",
        ".patch",
        ".gradle",
        ".dockerfile",
    }
)


def as_text(attachment: Attachment) -> str | None:
    """The file's text, if it is a text file (by its type or its name) in UTF-8."""
    mime = attachment.mime_type.split(";", 1)[0].strip().lower()
    suffix = PurePosixPath(attachment.name or "").suffix.lower()
    if not (mime.startswith("text/") or mime in _TEXT_TYPES or suffix in _TEXT_SUFFIXES):
        return None
    try:
        return attachment.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None  # binary after all: sent as the file it is


def with_text_files(
    prompt: str, attachments: list[Attachment], limit: int
) -> tuple[str, list[Attachment]]:
    """The prompt with each text file after it, under its name and size, cut so that
    the whole fits in `limit` characters; and the files that are not text."""
    others: list[Attachment] = []
    for attachment in attachments:
        text = as_text(attachment)
        if text is None:
            others.append(attachment)
            continue
        name = attachment.name or _("file")
        head = f"{prompt}\n\n" if prompt else ""
        head += f"📎 {name} ({human_size(attachment.size)}):\n```\n"
        room = limit - len(head) - len("\n```")
        if len(text) <= room:
            prompt = f"{head}{text}\n```"
            continue
        # The note's longest form (the count as long as the total) is kept room for.
        total = f"{len(text):,}"
        note = _("(cut: this is the file's beginning, {shown} of {total} characters)")
        room -= len("\n" + note.format(shown=total, total=total))
        kept = text[: max(room, 0)]
        cut = note.format(shown=f"{len(kept):,}", total=total)
        prompt = f"{head}{kept}\n```\n{cut}"
    return prompt, others


def pdf_text(attachment: Attachment) -> str | None:
    """The text of a PDF's pages (pypdf, imported on first use), or `None` if it has
    none to give (a scan, a broken or encrypted file)."""
    if attachment.mime_type != "application/pdf":
        return None
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(attachment.data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        log.info("no text from %s: %s", attachment.name or "a PDF", exc)
        return None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    return text or None


def pdfs_as_text(attachments: list[Attachment]) -> list[Attachment] | None:
    """The files with each PDF replaced by its text (as a text file of its name), for
    a model that reads no PDFs; `None` if a PDF gives no text (nothing to send then)."""
    replaced: list[Attachment] = []
    for attachment in attachments:
        if attachment.mime_type != "application/pdf":
            replaced.append(attachment)
            continue
        text = pdf_text(attachment)
        if text is None:
            return None
        replaced.append(Attachment(text.encode(), "text/plain", attachment.name or "file.pdf"))
    return replaced
