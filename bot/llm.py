"""Summaries by a language model (optional): an OpenAI-compatible /chat/completions endpoint.

With LLM_BASE_URL and LLM_MODEL set, a paper's summary is two or three sentences the model
writes from the title and abstract, in the chat's language. Every answer is kept per PMID,
language and model, so the model is never asked twice for the same paper; a failure is kept for
an hour (RETRY_FAILED_AFTER), so one timeout does not cost the paper its summary. A timeout,
an error, an empty or unusable answer gives the offline summary instead, and nothing waits
longer than LLM_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta

import requests

from bot.config import Settings
from bot.finding import shorten
from bot.models import Paper
from bot.summary import LANGUAGE_NAMES, Summary, summarize
from storage import Store

log = logging.getLogger(__name__)

MAX_ABSTRACT = 6000  # characters of abstract sent; enough for any structured abstract
MAX_SUMMARY = 600
# A chat-completions answer of 400 tokens is a few kilobytes; anything far beyond is not one.
MAX_ANSWER_BYTES = 256 * 1024
WORKERS = 8
RETRY_FAILED_AFTER = timedelta(hours=1)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LETTER = re.compile(r"[^\W\d_]")


class LlmSummarizer:
    """Callable like `bot.summary.summarize`: (paper, language) -> Summary."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self._model = settings.llm_model
        self._key = settings.llm_api_key
        self._timeout = settings.llm_timeout_seconds
        self._store = store
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._session = threading.local()
        self._clock = clock
        # requests' timeout bounds each socket read, not the call: a server that trickles a
        # byte at a time would hold a delivery for minutes. The call runs in a worker, and the
        # caller waits for it at most LLM_TIMEOUT_SECONDS; a late answer is dropped.
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="llm")

    def __call__(self, paper: Paper, language: str = "en") -> Summary:
        offline = summarize(paper, language)
        if not paper.abstract or paper.kind in ("notice", "commentary"):
            return offline  # a notice or an editorial is named for what it is, not summarised
        with self._guard:
            lock = self._locks[(paper.pmid, language)]
        with lock:  # two chats needing the same summary at once still ask once
            now = self._clock()
            known = self._store.summaries.get(
                paper.pmid, language, self._model, failures_after=now - RETRY_FAILED_AFTER
            )
            if known is None:
                text, error = self._ask(paper, language)
                self._store.summaries.put(paper.pmid, language, self._model, text, error, at=now)
            else:
                text, error = known
        if not text:
            return offline
        return Summary(language, offline.design, "", text)

    def close(self) -> None:
        """Stop waiting for answers nobody will use."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _ask(self, paper: Paper, language: str) -> tuple[str, str]:
        """(summary, "") or ("", why not), within LLM_TIMEOUT_SECONDS."""
        deadline = time.monotonic() + self._timeout
        call = self._pool.submit(self._request, paper, language, deadline)
        try:
            return call.result(timeout=self._timeout)
        except FutureTimeout:
            call.cancel()
            return _failed(paper, f"no complete answer within {self._timeout:g} s")

    def _request(self, paper: Paper, language: str, deadline: float) -> tuple[str, str]:
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        body = {
            "model": self._model,
            "temperature": 0.2,
            "max_tokens": 400,
            "messages": [
                {"role": "system", "content": _instructions(language)},
                {"role": "user", "content": _prompt(paper)},
            ],
        }
        try:
            with self._http().post(
                self._url,
                json=body,
                headers=headers,
                timeout=(min(5.0, self._timeout), self._timeout),
                stream=True,
            ) as response:
                if response.status_code != 200:
                    return _failed(paper, f"HTTP {response.status_code}")
                answer = _read_capped(response, deadline)
        except requests.RequestException as exc:
            return _failed(paper, f"unreachable: {type(exc).__name__}")
        except _Unusable as exc:
            return _failed(paper, str(exc))
        except _Late:
            return "", "late"  # the caller said so already, and used the offline summary
        if time.monotonic() > deadline:
            return "", "late"
        try:
            text = str(json.loads(answer)["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            return _failed(paper, "not a chat-completions answer")
        text = " ".join(text.split())
        problem = _unusable(text, language)
        if problem:
            return _failed(paper, problem)
        return shorten(text, MAX_SUMMARY), ""

    def _http(self) -> requests.Session:
        session: requests.Session | None = getattr(self._session, "value", None)
        if session is None:
            session = self._session.value = requests.Session()
        return session


class _Unusable(Exception):
    """An answer not worth reading on: too big."""


class _Late(Exception):
    """An answer still arriving at the deadline: the caller has already moved on."""


def _read_capped(response: requests.Response, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _Unusable(f"answer of {int(declared):,} bytes")
    body = bytearray()
    for chunk in response.iter_content(16 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise _Unusable(f"answer over {MAX_ANSWER_BYTES:,} bytes")
        if time.monotonic() > deadline:
            raise _Late
    return bytes(body)


def _prompt(paper: Paper) -> str:
    title = paper.title or paper.vernacular_title  # some records have only the original title
    return f"Title: {title}\n\nAbstract:\n{paper.abstract[:MAX_ABSTRACT]}"


def _instructions(language: str) -> str:
    return (
        "You summarize biomedical research papers for busy clinicians and researchers. "
        f"Write two or three plain sentences in {LANGUAGE_NAMES[language]}: the study design, "
        "what was studied, and the main finding with its key number if there is one. "
        "No preamble, no lists, no markdown, nothing that is not in the abstract."
    )


def _unusable(text: str, language: str) -> str:
    if len(text) < 20:
        return "empty answer"
    if not _LETTER.search(text):
        return "no words in the answer"
    if language == "ko" and not _HANGUL.search(text):
        return "answer not in Korean"
    return ""


def _failed(paper: Paper, why: str) -> tuple[str, str]:
    log.warning(
        "language model gave no summary for PMID %s (%s); using the offline one", paper.pmid, why
    )
    return "", why
