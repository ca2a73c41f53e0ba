"""/usage (everyone: what they used, their limits) and /limit (admins: set them).

The budgets themselves, and how they stay exact under concurrency, are in `_budgets`.
"""

from __future__ import annotations

import re
import time

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from llmhub import Hub, format_usd
from llmhub.store import Store

from . import _budgets as budgets
from ._runtime import Runtime

__all__ = ["make_router", "spent_line"]


def spent_line(spent: budgets.Spent) -> str:
    return _("tokens: {tokens}, cost: {cost}, requests: {requests}").format(
        tokens=f"{spent.tokens:,}", cost=format_usd(spent.usd), requests=spent.requests
    )


def _limits_line(limits: budgets.Limits, period: str) -> str:
    chosen = [
        budgets.limit_label(name, getattr(limits, name))
        for name in (f"tokens_{period}", f"usd_{period}")
        if getattr(limits, name) is not None
    ]
    return ", ".join(chosen) if chosen else _("none")


def _report(limits: budgets.Limits, day: budgets.Spent, month: budgets.Spent, now: float) -> str:
    span = budgets.periods(now)
    # An answer's size is known only once it is written: the one that reaches a limit
    # is finished, not cut, and may pass the limit by its own length.
    overshoot = (
        [
            _(
                "A limit is checked before each answer: the answer that reaches it may pass it a little."
            )
        ]
        if limits.any()
        else []
    )
    return "\n".join(
        [
            _("Today (UTC): {spent}; limits: {limits}; resets {time} UTC.").format(
                spent=spent_line(day),
                limits=_limits_line(limits, "day"),
                time=span.day_ends.strftime("%Y-%m-%d %H:%M"),
            ),
            _("This month: {spent}; limits: {limits}; resets {time} UTC.").format(
                spent=spent_line(month),
                limits=_limits_line(limits, "month"),
                time=span.month_ends.strftime("%Y-%m-%d %H:%M"),
            ),
            *overshoot,
        ]
    )


async def usage(message: Message, hub: Hub, runtime: Runtime) -> None:
    user = message.from_user.id if message.from_user else message.chat.id
    now = time.time()
    limits = await budgets.limits_of(hub.store, runtime.settings, user)
    day, month = await budgets.spent(hub.store, user, now)
    await message.answer(_report(limits, day, month, now), parse_mode=None)


async def _user_named(store: Store, who: str) -> int | None:
    """A user by id, by @username (as the store knows them), or `EVERYONE` for "all"."""
    if who.lower() in {"all", "все"}:
        return budgets.EVERYONE
    if _USER_ID.fullmatch(who):  # ASCII digits only ("²" is a digit to str.isdigit)
        user = int(who)
        return user if -(2**63) <= user < 2**63 else None
    rows = await store.fetch(
        "SELECT id FROM users WHERE LOWER(username) = LOWER(:name)", {"name": who.lstrip("@")}
    )
    return int(rows[0]["id"]) if rows else None


_USER_ID = re.compile(r"-?[0-9]{1,19}")

_LIMIT_USAGE = (
    "/limit <user id|@username|all> 200k/day 5M/month $1/day $20/month\n"
    "/limit <user id|@username|all> off\n"
    "/limit <user id|@username|all>"
)


async def limit(message: Message, command: CommandObject, hub: Hub, runtime: Runtime) -> None:
    if not runtime.is_admin(message.from_user.id if message.from_user else None):
        await message.answer(_("Only admins set limits."), parse_mode=None)
        return
    words = (command.args or "").split()
    if not words:
        await message.answer(
            _("Usage:") + "\n" + _LIMIT_USAGE + "\n\n" + await _describe(hub, runtime, 0),
            parse_mode=None,
        )
        return
    user = await _user_named(hub.store, words[0])
    if user is None:
        await message.answer(
            _("I do not know {name}: use their numeric id.").format(name=words[0]),
            parse_mode=None,
        )
        return
    specs = words[1:]
    if specs == ["off"]:
        await budgets.clear_limits(hub.store, user)
    elif specs:
        try:
            await budgets.set_limits(hub.store, user, budgets.parse_limits(specs))
        except ValueError as bad:
            await message.answer(
                _("I cannot read {spec}. Usage:").format(spec=str(bad)) + "\n" + _LIMIT_USAGE,
                parse_mode=None,
            )
            return
    await message.answer(await _describe(hub, runtime, user), parse_mode=None)


async def _describe(hub: Hub, runtime: Runtime, user: int) -> str:
    now = time.time()
    if user == budgets.EVERYONE:
        limits = await budgets.limits_of(hub.store, runtime.settings, user)
        return _("Everyone's default limits: per day {day}; per month {month}.").format(
            day=_limits_line(limits, "day"), month=_limits_line(limits, "month")
        )
    limits = await budgets.limits_of(hub.store, runtime.settings, user)
    day, month = await budgets.spent(hub.store, user, now)
    heading = _("User {user}:").format(user=user)
    if runtime.is_admin(user):
        heading += " " + _("an admin, without limits.")
    return heading + "\n" + _report(limits, day, month, now)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="budgets")
    router.message.register(usage, Command("usage"))
    router.message.register(limit, Command("limit"))
    return router
