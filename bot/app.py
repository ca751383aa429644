"""The one place where settings, storage, PubMed, channels and the scheduler meet."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING

from bot import digest, notices, recheck
from bot.commands import Context, Reply, execute
from bot.config import Settings
from bot.delivery import DeliveryReport, deliver_pending
from bot.followups import deliver_followups
from bot.health import Health
from bot.llm import LlmSummarizer
from bot.messages import Channel
from bot.metrics import Metrics
from bot.models import Chat, FollowupCheck
from bot.notices import NoticeWatch
from bot.poller import PollReport, poll_cycle
from bot.pubmed.client import EutilsClient
from bot.scheduler import PRUNE_JOB, build_scheduler, schedule_digest, schedule_prune
from bot.service import ChatService
from bot.summary import Summarize, summarize
from handlers import build_channels
from storage import Store

log = logging.getLogger("paper_surfer")

LOCAL_CHAT = ("local", "", "local")
STOP_GRACE_SECONDS = 30


@dataclass(frozen=True, slots=True)
class FollowupsNow:
    """What `paper-surfer followups` did."""

    notices: NoticeWatch
    saved: FollowupCheck
    sent: int
    failed: int
    requests: int


@dataclass
class App:
    settings: Settings
    store: Store
    client: EutilsClient
    channels: dict[str, Channel] = field(default_factory=dict)
    _jobs: set[asyncio.Task[object]] = field(default_factory=set)
    _delivering: asyncio.Lock = field(default_factory=asyncio.Lock)
    # A prune never runs in the middle of a poll in this process (see bot/poller.py for one in
    # another process): a paper the poll found stored would be gone by the time it commits.
    _poll_or_prune: asyncio.Lock = field(default_factory=asyncio.Lock)
    _scheduler: AsyncIOScheduler | None = None
    _llm: LlmSummarizer | None = None
    _stopping: bool = False
    metrics: Metrics = field(default_factory=Metrics)
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.settings.poll_interval_minutes * 60)
        self.client.metrics = self.metrics

    @classmethod
    def create(
        cls, settings: Settings, out: IO[str] | None = None, *, client: EutilsClient | None = None
    ) -> App:
        app = cls(
            settings, Store(settings.database_path), client or EutilsClient.from_settings(settings)
        )
        app.channels = build_channels(settings, app.service, out or sys.stdout)
        return app

    @property
    def context(self) -> Context:
        return Context(
            self.settings,
            self.store,
            self.client,
            on_chat_changed=self._chat_changed,
            summarizer=self.summarizer,
        )

    @property
    def summarizer(self) -> Summarize:
        """The language model when one is configured, else the offline summary."""
        if self._llm is None and self.settings.llm_base_url:
            self._llm = LlmSummarizer(self.settings, self.store)
        return self._llm or summarize

    @property
    def service(self) -> ChatService:
        return ChatService(self.context, self.chat_defaults())

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
        self.store.close()

    def chat_defaults(self) -> dict[str, str]:
        s = self.settings
        return {
            "language": s.default_language,
            "timezone": s.default_timezone,
            "mode": s.default_mode,
            "digest_time": s.digest_time,
        }

    def local_chat(self) -> Chat:
        return self.store.chats.get_or_create(*LOCAL_CHAT, self.chat_defaults())

    def command(self, text: str) -> Reply:
        """One chat command as the local user."""
        return execute(self.context, self.local_chat(), text)

    async def poll_and_deliver(self) -> tuple[PollReport, DeliveryReport]:
        async with self._poll_or_prune:
            self.health.poll_starting()
            try:
                report = await asyncio.to_thread(poll_cycle, self.store, self.client, self.settings)
            except Exception as exc:
                self._poll_ended("error", error=f"{type(exc).__name__}: {exc}")
                raise
            self._poll_ended("queries_failed" if report.failures else "ok", report)
        delivered = await self.deliver()
        report.sent, report.send_failures = delivered.sent, delivered.failed
        return report, delivered

    async def poll_once(self) -> tuple[PollReport, DeliveryReport]:
        """`paper-surfer poll`: one poll, delivered on every configured platform without `run`."""
        async with self.sending():
            return await self.poll_and_deliver()

    async def followups_once(self) -> FollowupsNow:
        """`paper-surfer followups`: the notice check and the saved-paper re-check now, then
        every follow-up due sent, without `run`."""
        async with self.sending():
            before = self.client.requests_made
            async with self._poll_or_prune:
                watch = await asyncio.to_thread(
                    notices.check_now,
                    self.store,
                    self.client,
                    today=datetime.now(UTC).date(),
                    backfill_days=self.settings.backfill_days,
                )
                saved = await asyncio.to_thread(recheck.recheck_saved, self.store, self.client)
            requests = self.client.requests_made - before
            async with self._delivering:
                sent = await deliver_followups(self.store, self.channels, self.settings)
        return FollowupsNow(watch, saved, sent.sent, sent.failed, requests)

    async def send_digests_once(self) -> DeliveryReport:
        """`paper-surfer digest`: every digest chat's digest, delivered without `run`."""
        async with self.sending():
            return await self.send_digests_now()

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """The configured platforms connected to send only (no listener), closed afterwards,
        also when the work in between fails. Rows of a platform that could not connect stay
        pending for the next try; a `run` process sending at the same time never sends the
        same row (the outbox leases each row to one sender)."""
        try:
            await asyncio.gather(*(c.open_for_sending() for c in self.channels.values()))
            yield
        finally:
            for channel in self.channels.values():
                await channel.stop()

    async def deliver(self) -> DeliveryReport:
        # The poll job and the retry job both deliver; one pass at a time in this process.
        async with self._delivering:
            report = await deliver_pending(
                self.store,
                self.channels,
                self.settings,
                summarizer=self.summarizer,
                metrics=self.metrics,
            )
            # After the cards: a follow-up replies to a card that has gone out.
            followed = await deliver_followups(self.store, self.channels, self.settings)
            # Its failures are retried like a card's; the report's `failed` counts papers.
            report.followups = followed.sent
            return report

    async def prune(self) -> int:
        """Remove the papers nobody has needed for RETENTION_DAYS; how many went."""
        days = self.settings.retention_days
        async with self._poll_or_prune:
            removed = await asyncio.to_thread(self.store.retention.prune, days)
        log.info("retention: removed %d papers not needed for %d days", removed, days)
        return removed

    def _poll_ended(self, result: str, report: PollReport | None = None, error: str = "") -> None:
        failed = len(report.failures) if report else 0
        self.health.poll_ended(result, failed_queries=failed, error=error)
        self.metrics.poll_ended(result, report.new_papers if report else 0, time.time())

    def healthz(self) -> tuple[bool, dict[str, Any]]:
        """/healthz's answer: alive or not, and the JSON body."""
        return self.health.verdict(self._scheduler_state())

    def _scheduler_state(self) -> str:
        if self._stopping:
            return "stopping"
        if self._scheduler is None:
            return "starting"
        states = {STATE_RUNNING: "running", STATE_PAUSED: "paused"}
        return states.get(self._scheduler.state, "stopped")

    async def _count_pending(self) -> None:
        """Before each scrape: the outbox's pending rows (an indexed count, off the loop)."""
        try:
            pending = await asyncio.to_thread(self.store.outbox.pending_count)
        except Exception:  # a scrape must not fail because the database is busy
            log.warning("could not count pending deliveries for /metrics", exc_info=True)
            return
        self.metrics.pending_deliveries.set(pending)

    async def run(self) -> None:
        """Run until SIGINT or SIGTERM: channels, then the scheduler; stop cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Every chat's database work runs in threads; asyncio's default of cpu+4 threads is too
        # few for hundreds of chats delivering at once.
        loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="worker"))
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        monitor = None
        if self.settings.health_port is not None:  # first: a bad port stops us before anything
            from handlers.monitoring import MonitoringServer  # aiohttp only when it is needed

            monitor = MonitoringServer(
                self.settings.bind_address,
                self.settings.health_port,
                self.healthz,
                self.metrics,
                self._count_pending,
            )
            await monitor.start()
        for channel in self.channels.values():
            await channel.start()
        scheduler = build_scheduler(
            self._poll_job, self._deliver_job, self.settings.poll_interval_minutes
        )
        schedule_prune(scheduler, self._prune_job)
        for chat in self.store.chats.all():  # digest jobs are rebuilt from the database
            schedule_digest(scheduler, chat, self._digest_job)
        self._scheduler = scheduler
        scheduler.start()
        log.info(
            "Paper Surfer is running: channels %s; database %s; polling PubMed every %s min",
            ", ".join(self._channel_labels()),
            self.settings.database_path,
            f"{self.settings.poll_interval_minutes:g}",
        )
        prune = scheduler.get_job(PRUNE_JOB)
        log.info(
            "retention: papers not needed for %d days are pruned daily, next at %s",
            self.settings.retention_days,
            f"{prune.next_run_time:%Y-%m-%d %H:%M %Z}" if prune else "never",
        )
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            self._stopping = True  # /healthz says so while the current poll finishes
            self._scheduler = None
            # Pause, not shut down, first: APScheduler's asyncio executor cancels running jobs
            # when it shuts down, which would cut the grace period of _finish_jobs to nothing.
            scheduler.pause()
            await self._finish_jobs()
            scheduler.shutdown(wait=False)
            if monitor is not None:  # before the executor goes: a scrape counts in a thread
                await monitor.stop()
            # A cancelled job's database work may still run in a thread: let it end before the
            # connections close (closing one under a running statement crashed the process).
            await loop.shutdown_default_executor()
            for channel in self.channels.values():
                await channel.stop()
            self.close()
        log.info("stopped")

    def _chat_changed(self, chat: Chat) -> None:
        """`mode` or `digest` changed a chat: its digest job follows at once."""
        if self._scheduler is not None:
            schedule_digest(self._scheduler, chat, self._digest_job)

    async def send_digests_now(self) -> DeliveryReport:
        """What the scheduler does at each digest chat's time, for every digest chat at once."""
        now = datetime.now(UTC)
        for chat in await asyncio.to_thread(self.store.chats.all):
            if chat.mode == "digest":
                await asyncio.to_thread(digest.plan, self.store, chat, now)
        return await self.deliver()

    async def _digest_job(self, chat_id: int) -> None:
        async def one() -> None:
            chat = await asyncio.to_thread(self.store.chats.get, chat_id)
            if chat.active and chat.mode == "digest":
                await asyncio.to_thread(digest.plan, self.store, chat, datetime.now(UTC))
                await self.deliver()

        await self._job("digest", one)

    def _channel_labels(self) -> list[str]:
        labels = []
        for name in self.channels:
            if name == "local":
                labels.append(f"local (cards in {self.settings.alerts_dir}/)")
            else:
                labels.append(name)
        return labels

    async def _finish_jobs(self) -> None:
        """Let a running poll or delivery pass finish (it commits as it goes) before exiting."""
        running = {task for task in self._jobs if not task.done()}
        if not running:
            return
        log.info("waiting up to %d s for the current poll to finish", STOP_GRACE_SECONDS)
        _, unfinished = await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
        for task in unfinished:  # safe: what is not committed is redone after the restart
            task.cancel()
        if unfinished:
            await asyncio.wait(unfinished)

    async def _poll_job(self) -> None:
        await self._job("poll", self.poll_and_deliver)

    async def _prune_job(self) -> None:
        await self._job("prune", self.prune)

    async def _deliver_job(self) -> None:
        await self._job("delivery pass", self.deliver)

    async def _job(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._jobs.add(task)
        try:
            await work()
        except asyncio.CancelledError:
            log.info("%s interrupted by shutdown; it resumes after the restart", name)
        except Exception:  # the scheduler must keep running; the next run retries
            log.exception("%s failed", name)
        finally:
            if task is not None:
                self._jobs.discard(task)
