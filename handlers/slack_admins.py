"""SLACK_CHANGES_BY=admins: who may change a Slack channel's subscriptions and settings.

Slack's counterpart of a Telegram group's administrators: the workspace's admins and owners
(users.info `is_admin`, `is_owner`) and the channel's creator (conversations.info `creator`).
A DM with the app is its user's own. Answers are kept for CACHE_SECONDS, so a burst of commands
costs two Web API calls, and a role taken away applies within a minute.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0


class _Recent:
    """Answers by key, each forgotten CACHE_SECONDS after it was learned."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, key: tuple[str, str]) -> Any:
        kept = self._answers.get(key)
        if kept is None or time.monotonic() - kept[0] > CACHE_SECONDS:
            return None
        return kept[1]

    def put(self, key: tuple[str, str], answer: Any) -> None:
        now = time.monotonic()
        if len(self._answers) > 10_000:  # never grows without bound on a big workspace
            self._answers = {k: v for k, v in self._answers.items() if now - v[0] <= CACHE_SECONDS}
        self._answers[key] = (now, answer)


class ChannelAdmins:
    """Who may change a channel when SLACK_CHANGES_BY=admins."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._admins = _Recent()  # (team, user) -> bool
        self._creators = _Recent()  # (team, channel) -> creator's user id

    async def may_change(self, team: str, channel: str, user: str) -> bool:
        """True for a DM, a workspace admin or owner, or the channel's creator. When Slack cannot
        tell (an error, a missing scope) the answer is no, with a log line saying why."""
        if channel.startswith("D"):  # a DM with the app: its user's own chat
            return True
        try:
            if await self._is_workspace_admin(team, user):
                return True
            return await self._creator(team, channel) == user
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            log.warning(
                "Slack: cannot tell whether %s may change %s (%s%s); refused",
                user,
                channel,
                error,
                f", needed: {exc.response.get('needed')}" if error == "missing_scope" else "",
            )
        except (ClientError, TimeoutError) as exc:
            log.warning(
                "Slack: cannot tell whether %s may change %s (%s); refused", user, channel, exc
            )
        return False

    async def _is_workspace_admin(self, team: str, user: str) -> bool:
        known = self._admins.get((team, user))
        if known is None:
            info = (await self._client.users_info(user=user)).get("user") or {}
            roles = ("is_admin", "is_owner", "is_primary_owner")
            known = any(info.get(role) for role in roles)
            self._admins.put((team, user), known)
        return bool(known)

    async def _creator(self, team: str, channel: str) -> str:
        known = self._creators.get((team, channel))
        if known is None:
            info = (await self._client.conversations_info(channel=channel)).get("channel") or {}
            known = str(info.get("creator") or "")
            self._creators.put((team, channel), known)
        return str(known)
