"""Budgets: what each user may spend, in tokens or USD, per day and per month.

Kept in the store (schema version 6), so every replica counts the same:

- `usage_limits`: a user's own limits; the row of user 0 is everyone's default,
  and `BOT_LIMIT_*` apply where neither sets one. Admins have none.
- `usage_counters`: tokens, USD and requests per user per UTC day and month.
  Counters, not sums over the log, so that a user who deletes their rows
  (/forget_me) has still used what they used.
- `usage_holds`: what answers under way may still use. Before a model is asked,
  a hold (the prompt's tokens, estimated, plus `BOT_LIMIT_HOLD_TOKENS` for the
  answer) is written only if what the user used plus every hold of theirs is
  under each limit, in one statement run exclusively per user
  (`Store.execute_exclusive`): two messages at the same moment, on one replica
  or two, cannot both pass on the same remainder. The answer's real usage then
  replaces its hold; a hold left by a process that died lapses after
  `HOLD_LAPSE` seconds.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.utils.i18n import gettext as _

from llmhub import Hub, LLMHubError, Prompt, Reply, Usage, format_usd
from llmhub.store import Store

from ._settings import BotSettings

__all__ = [
    "EVERYONE",
    "HOLD_LAPSE",
    "Limits",
    "Periods",
    "Refusal",
    "Spent",
    "clear_limits",
    "hold",
    "limit_label",
    "limits_of",
    "parse_limits",
    "periods",
    "set_limits",
    "settle",
    "spent",
    "tokens_label",
    "top_users",
]

#: The `usage_limits` row that holds everyone's default.
EVERYONE = 0
#: Seconds after which a hold no answer settled no longer counts.
HOLD_LAPSE = 600.0


@dataclass(frozen=True, slots=True)
class Limits:
    """A user's limits; `None`: none on that count."""

    tokens_day: int | None = None
    tokens_month: int | None = None
    usd_day: float | None = None
    usd_month: float | None = None

    def chosen(self) -> dict[str, float]:
        """The limits set, by name ("tokens_day", ...: the count, then the period)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}

    def any(self) -> bool:
        return bool(self.chosen())

    def over(self, fallback: Limits) -> Limits:
        """These limits, with `fallback`'s where these set none."""
        mine = self.chosen()
        return Limits(*(mine.get(f.name, getattr(fallback, f.name)) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class Periods:
    """The UTC day and month a moment falls in, and when each ends."""

    day: str
    month: str
    day_ends: datetime
    month_ends: datetime


def periods(now: float) -> Periods:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)
    next_month = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return Periods(moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m"), midnight, next_month)


@dataclass(frozen=True, slots=True)
class Spent:
    requests: int = 0
    tokens: int = 0
    usd: float = 0.0


# -- limits ----------------------------------------------------------------------------

_LIMIT_COLUMNS = tuple(f.name for f in fields(Limits))


def _env_limits(settings: BotSettings) -> Limits:
    return Limits(
        settings.bot_limit_tokens_day,
        settings.bot_limit_tokens_month,
        settings.bot_limit_usd_day,
        settings.bot_limit_usd_month,
    )


async def limits_of(store: Store, settings: BotSettings, user_id: int) -> Limits:
    """What applies to `user_id`: their own limits, else everyone's, else `BOT_LIMIT_*`;
    none for admins."""
    if user_id in settings.admin_ids:
        return Limits()
    rows = await store.fetch(  # one read per message: the user's row and everyone's
        "SELECT user_id, tokens_day, tokens_month, usd_day, usd_month FROM usage_limits"
        " WHERE user_id IN (:user, :everyone)",
        {"user": user_id, "everyone": EVERYONE},
    )
    found = {int(row.pop("user_id")): Limits(**row) for row in rows}
    everyone = found.get(EVERYONE, Limits()).over(_env_limits(settings))
    return found.get(user_id, Limits()).over(everyone)


async def set_limits(store: Store, user_id: int, limits: Limits) -> None:
    """Set the limits `limits` names (the others are kept)."""
    chosen = limits.chosen()
    if not chosen:
        return
    updates = ", ".join(f"{name} = excluded.{name}" for name in chosen)
    await store.execute(
        "INSERT INTO usage_limits (user_id, tokens_day, tokens_month, usd_day, usd_month,"  # noqa: S608 - column names from the constant list
        " updated_at) VALUES (:user, :tokens_day, :tokens_month, :usd_day, :usd_month, :now)"
        f" ON CONFLICT (user_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
        {"user": user_id, "now": time.time(), **{n: getattr(limits, n) for n in _LIMIT_COLUMNS}},
    )


async def clear_limits(store: Store, user_id: int) -> None:
    await store.execute("DELETE FROM usage_limits WHERE user_id = :user", {"user": user_id})


_AMOUNT = re.compile(
    r"^(?P<dollar>\$)?(?P<number>[0-9]{1,15}(?:[.,][0-9]{1,9})?)(?P<unit>[km]?)(?P<usd>\$|usd)?"
    r"/(?P<period>day|d|month|mo|m|день|д|месяц|мес|м)$",
    re.IGNORECASE,
)


#: The largest limit taken (tokens or USD): past it a limit means nothing, and the
#: store's 64-bit counters must hold it.
MAX_LIMIT = 10.0**15


def parse_limits(specs: list[str]) -> Limits:
    """`["200k/day", "$5/month"]` as `Limits`; a `ValueError` names a spec it cannot read."""
    values: dict[str, Any] = {}
    for spec in specs:
        found = _AMOUNT.match(spec.strip())
        if found is None:
            raise ValueError(spec)
        number = float(found["number"].replace(",", "."))
        number *= {"": 1, "k": 1_000, "m": 1_000_000}[found["unit"].lower()]
        if number > MAX_LIMIT:  # ASCII digits, 15 at most: finite, but still no limit
            raise ValueError(spec)
        period = "day" if found["period"].lower() in {"day", "d", "день", "д"} else "month"
        if found["dollar"] or found["usd"]:
            values[f"usd_{period}"] = number
        else:
            values[f"tokens_{period}"] = int(number)
    return Limits(**values)


def tokens_label(tokens: int) -> str:
    """200000 as "200k", 1500000 as "1.5M", 950 as "950"."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if tokens >= size:
            return f"{tokens / size:.1f}".removesuffix(".0") + suffix
    return str(tokens)


# -- usage -----------------------------------------------------------------------------

_HOLD = (
    "INSERT INTO usage_holds (request_id, user_id, tokens, usd, created_at)"
    " SELECT :request, :user, :tokens, :usd, :now"
    " WHERE {conditions}"
    " ON CONFLICT (request_id) DO UPDATE SET tokens = excluded.tokens, usd = excluded.usd,"
    " created_at = excluded.created_at"
    " RETURNING request_id"
)
# What the user used in a period plus what their other answers under way hold.
_USED = (
    "COALESCE((SELECT {column} FROM usage_counters WHERE user_id = :user"
    " AND period = :{period}), 0) + COALESCE((SELECT SUM({column}) FROM usage_holds"
    " WHERE user_id = :user AND created_at > :lapsed AND request_id <> :request), 0)"
)
_COUNT = (
    "INSERT INTO usage_counters (user_id, period, requests, tokens, usd)"
    " VALUES (:user, :period, 1, :tokens, :usd) ON CONFLICT (user_id, period) DO UPDATE SET"
    " requests = usage_counters.requests + 1, tokens = usage_counters.tokens + excluded.tokens,"
    " usd = usage_counters.usd + excluded.usd"
)


def _lock_key(user_id: int) -> int:
    """The user's lock: negative, apart from the store's own (positive) locks."""
    return -1 - user_id


@dataclass(frozen=True, slots=True)
class Refusal:
    """The limit a user reached (`Limits`' field name), its value, and when it resets."""

    limit: str
    value: float
    resets_at: datetime


async def hold(
    hub: Hub,
    settings: BotSettings,
    limits: Limits,
    prompt: Prompt,
    user_id: int,
    request_id: str,
    now: float,
) -> Refusal | None:
    """Hold what the answer to `prompt` may use under `limits` (the user's, some
    set); `None` when held, else the limit the user reached."""
    prompt_tokens = len(prompt.text) // 4  # about four characters a token
    estimate = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=settings.bot_limit_hold_tokens,
        total_tokens=prompt_tokens + settings.bot_limit_hold_tokens,
    )
    chosen = limits.chosen()
    usd = 0.0
    if any(name.startswith("usd") for name in chosen):  # priced by the model asked
        try:
            model_name = await hub.model_for(prompt.chat_id, prompt.model)
            provider, model = hub.registry.resolve(model_name)
            usd = provider.cost(model, estimate) or 0.0
        except LLMHubError:
            pass  # no model: the call fails on its own, after holding tokens only
    span = periods(now)
    conditions = [
        f"{_USED.format(column=column, period=period)} < :{name}"
        for name in chosen
        for column, period in [name.split("_")]
    ]
    rows = await hub.store.execute_exclusive(
        _lock_key(user_id),
        _HOLD.format(conditions=" AND ".join(conditions)),
        {
            "request": request_id,
            "user": user_id,
            "tokens": estimate.total_tokens,
            "usd": usd,
            "now": now,
            "lapsed": now - HOLD_LAPSE,
            "day": span.day,
            "month": span.month,
            **{name: getattr(limits, name) for name in _LIMIT_COLUMNS},
        },
    )
    if rows:
        return None
    day, month = await spent(hub.store, user_id, now)
    used = {
        period: {"tokens": s.tokens, "usd": s.usd} for period, s in (("day", day), ("month", month))
    }
    # The limit used up; else (answers under way hold the rest) the first one set.
    reached = [
        name
        for name, value in chosen.items()
        for column, period in [name.split("_")]
        if used[period][column] >= value
    ] or list(chosen)
    limit = reached[0]
    resets = span.day_ends if limit.endswith("_day") else span.month_ends
    return Refusal(limit, chosen[limit], resets)


async def settle(
    store: Store, user_id: int, request_id: str, reply: Reply | None, now: float, *, held: bool
) -> None:
    """Count what the answer used and drop its hold, if `held` (a failed answer's use is
    not known: its hold goes, nothing is counted)."""
    if reply is not None:
        usage = reply.usage
        tokens = usage.total_tokens or (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)
        span = periods(now)
        counts = {"user": user_id, "tokens": tokens, "usd": reply.cost or 0.0}
        await store.execute_many(
            _COUNT, [{**counts, "period": span.day}, {**counts, "period": span.month}]
        )
    if held:
        await store.execute(
            "DELETE FROM usage_holds WHERE request_id = :request OR created_at < :lapsed",
            {"request": request_id, "lapsed": now - HOLD_LAPSE},
        )


async def spent(store: Store, user_id: int, now: float) -> tuple[Spent, Spent]:
    """What the user used today and this month (UTC)."""
    span = periods(now)
    rows = await store.fetch(
        "SELECT period, requests, tokens, usd FROM usage_counters"
        " WHERE user_id = :user AND period IN (:day, :month)",
        {"user": user_id, "day": span.day, "month": span.month},
    )
    found = {
        row["period"]: Spent(int(row["requests"]), int(row["tokens"]), float(row["usd"]))
        for row in rows
    }
    return found.get(span.day, Spent()), found.get(span.month, Spent())


async def top_users(
    store: Store, now: float, count: int = 10
) -> list[tuple[int, str | None, Spent]]:
    """This month's biggest users: (id, username, what they used), most tokens first."""
    rows = await store.fetch(
        "SELECT c.user_id, u.username, c.requests, c.tokens, c.usd FROM usage_counters c"
        " LEFT JOIN users u ON u.id = c.user_id WHERE c.period = :month"
        " ORDER BY c.tokens DESC, c.usd DESC, c.user_id LIMIT :count",
        {"month": periods(now).month, "count": count},
    )
    return [
        (
            int(row["user_id"]),
            row["username"],
            Spent(int(row["requests"]), int(row["tokens"]), float(row["usd"])),
        )
        for row in rows
    ]


def limit_label(name: str, value: float) -> str:
    """A limit as its command writes it, in the reader's language: "200k/day",
    "$5.00/month" ("200k в день" in Russian)."""
    amount = format_usd(value) if name.startswith("usd") else tokens_label(int(value))
    if name.endswith("_day"):
        return _("{amount}/day").format(amount=amount)
    return _("{amount}/month").format(amount=amount)
