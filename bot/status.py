"""The `status` answer: what the last polls did for a chat, and why a poll sent nothing."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.i18n import t
from bot.models import Chat, PollResult, Subscription
from storage import Store


def chat_status(store: Store, settings: Settings, chat: Chat) -> str:
    lang = chat.language
    subs = store.chats.subscriptions(chat.id)
    results = store.polls.latest_results([s.id for s in subs])
    if not results:
        minutes = max(1, round(settings.poll_interval_minutes))
        return t(lang, "status.none", minutes=minutes)
    lines = [t(lang, "status.header")]
    for sub in subs:
        lines += _subscription_lines(lang, sub, results.get(sub.id))
        lines += _skipped_line(store, lang, sub, results.get(sub.id))
    counts = store.outbox.counts(chat.id)
    if chat.mode == "digest" and counts["pending"]:
        lines.append(t(lang, "status.digest_waiting", pending=counts["pending"]))
    elif counts["pending"] or counts["failed"]:
        lines.append(t(lang, "status.pending", pending=counts["pending"], failed=counts["failed"]))
    if chat.paused:
        lines.append(t(lang, "list.chat_paused"))
    lines += _followup_lines(store, settings, chat)
    return "\n".join(lines)


def _followup_lines(store: Store, settings: Settings, chat: Chat) -> list[str]:
    """When the bot last looked for retractions and corrections, and what this chat got."""
    lang = chat.language
    if not settings.followups:
        return [t(lang, "followup.status_off")]
    notices = store.followups.check("notices")
    if notices is None or notices.checked_at is None:
        return [t(lang, "followup.status_never")]
    counts = store.followups.chat_counts(chat.id)
    lines = [
        t(
            lang,
            "followup.status",
            when=_when(notices.checked_at),
            notices=notices.found,
            sent=counts.get("sent", 0),
            pending=counts.get("pending", 0),
        )
    ]
    saved = store.followups.check("saved")
    if saved is not None and saved.checked_at is not None and store.feedback.saved(chat.id):
        lines.append(
            t(lang, "followup.status_saved", when=_when(saved.checked_at), checked=saved.found)
        )
    return lines


def _subscription_lines(lang: str, sub: Subscription, result: PollResult | None) -> list[str]:
    if result is None:
        return [t(lang, "status.not_polled", number=sub.number, query=sub.query)]
    lines = [
        t(
            lang,
            "status.item",
            number=sub.number,
            query=sub.query,
            when=_when(result.started_at),
            found=result.found,
            new=result.new_matches,
            sent=result.sent,
        )
    ]
    if result.error:
        lines.append(t(lang, "status.why_error", error=result.error))
    elif result.new_deliveries == 0:
        if result.found == 0:
            lines.append(t(lang, "status.why_empty", window=result.window))
        elif result.new_matches == 0:
            lines.append(t(lang, "status.why_seen", found=result.found))
        else:
            lines.append(t(lang, "status.why_delivered"))
    if sub.status == "paused":
        lines.append(t(lang, "status.sub_paused"))
    return lines


def _skipped_line(
    store: Store, lang: str, sub: Subscription, result: PollResult | None
) -> list[str]:
    """A poll after the result shown skipped the search: PubMed had nothing new or changed."""
    state = store.polls.query_state(sub.normalized)
    if result is None or state is None or state.skipped_run <= result.poll_run:
        return []
    run = store.polls.run(state.skipped_run)
    if run is None:
        return []
    return [t(lang, "status.skipped", when=_when(run.started_at))]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"  # stored in UTC
