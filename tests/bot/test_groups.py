"""Groups let in as a whole: one request per group, the verdict said in the group in
its asker's language, members answered without approvals of their own, revoked."""

from __future__ import annotations

from llmhub_bot._access import GroupDecision
from llmhub_bot._users import Users
from tests.bot.conftest import ADMIN, MEMBER, STRANGER, World, say

GROUP = -100600
OTHER = 8  # another stranger, in the same group


def _requests(world: World) -> list[str]:
    return [t for t in world.tg.texts(ADMIN) if "asks for access" in t]


async def test_a_group_asks_once_and_is_let_in_for_all_its_members(world: World) -> None:
    [asked] = await say(
        world, STRANGER, "/ask what is rafting?", chat_id=GROUP, chat_type="group", language="ru"
    )
    assert asked == "Доступ для этой группы запрошен. Я скажу здесь, когда администратор решит."
    await world.tg.wait_for(lambda tg: bool(_requests(world)))
    # The admin's request is in the admin's language, names the group and its asker.
    assert _requests(world) == [
        f"User{STRANGER} (id {STRANGER}) asks for access for the group Team chat (id {GROUP})."
    ]
    [waiting] = await say(world, OTHER, "/ask me too", chat_id=GROUP, chat_type="group")
    assert waiting == "This group's access request is waiting for an admin."
    assert len(_requests(world)) == 1  # one request per group, not one per member
    assert world.llm.requests == []

    request = next(p for p in world.tg.sent("sendMessage", ADMIN) if "asks for" in p["text"])
    approve = GroupDecision(approve=True, chat_id=GROUP).pack()
    assert request["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == approve
    admin_message = world.tg._message(ADMIN, request["_message_id"], request["text"])
    await world.tg.push(world.tg.callback(ADMIN, approve, admin_message))
    # Said in the group (its members may never have opened the bot), in the asker's
    # language.
    verdict = "Администратор открыл доступ этой группе: теперь со мной может говорить каждый здесь."
    await world.tg.wait_for(lambda tg: verdict in tg.texts(GROUP))

    assert await say(world, OTHER, "/ask now?", chat_id=GROUP, chat_type="group") == ["echo: now?"]
    # The group's approval is the group's: in a private chat a member still asks alone.
    [own] = await say(world, OTHER, "hello")
    assert own.startswith("Access requested.")


async def test_an_admin_approves_and_revokes_a_group_by_command(world: World) -> None:
    [status] = await say(world, ADMIN, "/group", chat_id=GROUP, chat_type="group")
    assert status == "This group's access: not asked for."
    [said] = await say(world, ADMIN, "/group approve", chat_id=GROUP, chat_type="group")
    assert said == "An admin let this group in: everyone here can talk to me now."
    assert await say(world, OTHER, "/ask hi", chat_id=GROUP, chat_type="group") == ["echo: hi"]
    # Someone the admins denied stays denied, in a group let in too.
    await Users(world.hub.store).set_status(STRANGER, "denied")
    assert await say(world, STRANGER, "/ask me", chat_id=GROUP, chat_type="group") == [
        "Access denied."
    ]
    assert await say(world, MEMBER, "/group revoke", chat_id=GROUP, chat_type="group") == [
        "Only admins decide on access."
    ]

    # From the admin's private chat, by the group's id.
    [done] = await say(world, ADMIN, f"/group revoke {GROUP}", replies=1)
    assert done == f"{GROUP}: denied"
    assert world.tg.texts(GROUP)[-1] == (
        "An admin decided that this group has no access to the bot."
    )
    assert await say(world, OTHER, "/ask again", chat_id=GROUP, chat_type="group") == [
        "This group has no access to the bot."
    ]
    assert await say(world, ADMIN, "/group", chat_id=GROUP, chat_type="group") == [
        "This group's access: denied."
    ]
    requests = len(world.llm.requests)
    assert requests == 1  # only the approved group's question reached a model
