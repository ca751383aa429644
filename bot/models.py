"""The records that flow through Paper Surfer: papers as PubMed describes them, search results."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, get_args
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One paragraph of an abstract; `label` is empty for an unstructured abstract.
    `category` is NLM's reading of the label (its NlmCategory: "CONCLUSIONS", "METHODS"...,
    "" when PubMed gives none), which names a conclusion that the author labelled otherwise."""

    label: str
    text: str
    category: str = ""


@dataclass(frozen=True, slots=True)
class Grant:
    """A grant as listed on the record."""

    id: str
    agency: str
    country: str


@dataclass(frozen=True, slots=True)
class AuthorName:
    """One author as PubMed names them: its name parts, or a collective (group) name."""

    last: str = ""
    fore: str = ""
    initials: str = ""
    suffix: str = ""
    collective: str = ""


# The CommentsCorrections links a reader needs (PubMed has more: "Cites", "ReprintOf"...).
CORRECTION_TYPES = (
    "RetractionIn",
    "RetractionOf",
    "ErratumIn",
    "ErratumFor",
    "ExpressionOfConcernIn",
    "ExpressionOfConcernFor",
    "UpdateIn",
    "UpdateOf",
    "CommentIn",
    "CommentOn",
)


@dataclass(frozen=True, slots=True)
class Correction:
    """A link to another record that changes how this one reads: its retraction notice, an
    erratum, an expression of concern, an update, a comment; or, on a notice, what it concerns."""

    type: str  # one of CORRECTION_TYPES
    pmid: str  # "" when PubMed names the other record only by its citation
    source: str  # the other record's citation, as PubMed writes it

    @property
    def url(self) -> str:
        """The other record in PubMed, or "" when the link has no PMID."""
        return f"https://pubmed.ncbi.nlm.nih.gov/{quote(self.pmid, safe='')}/" if self.pmid else ""


PaperStatus = Literal["retracted", "expression-of-concern", "corrected", "preprint", ""]
PaperKind = Literal["research", "review", "notice", "commentary", "other"]
PAPER_KINDS: tuple[PaperKind, ...] = get_args(PaperKind)

# Publication types that make a record a notice about another record, not an article, and the
# link by which PubMed names the record each concerns.
NOTICE_TYPE_LINKS = {
    "Retraction of Publication": "RetractionOf",
    "Published Erratum": "ErratumFor",
    "Expression of Concern": "ExpressionOfConcernFor",
}
NOTICE_TYPES = frozenset(NOTICE_TYPE_LINKS)
COMMENTARY_TYPES = frozenset(
    {"Editorial", "Comment", "Letter", "News", "Newspaper Article", "Interview"}
)
REVIEW_TYPES = frozenset(
    {
        "Review",
        "Systematic Review",
        "Scoping Review",
        "Meta-Analysis",
        "Practice Guideline",
        "Guideline",
        "Consensus Development Conference",
        "Consensus Development Conference, NIH",
    }
)
# Records that are neither research, a review, a notice nor commentary (when nothing else says so).
OTHER_TYPES = frozenset(
    {
        "Biography",
        "Portrait",
        "Lecture",
        "Historical Article",
        "Video-Audio Media",
        "Congress",
        "Directory",
        "Dataset",
        "Patient Education Handout",
        "Bibliography",
        "Legal Case",
        "Legislation",
        "Webcast",
        "Autobiography",
        "Interactive Tutorial",
        "Dictionary",
        "Periodical Index",
    }
)


# Types of primary research: a research letter with a video is still research.
_RESEARCH_TYPES = frozenset(
    {
        "Randomized Controlled Trial",
        "Clinical Trial",
        "Clinical Trial, Phase I",
        "Clinical Trial, Phase II",
        "Clinical Trial, Phase III",
        "Clinical Trial, Phase IV",
        "Controlled Clinical Trial",
        "Pragmatic Clinical Trial",
        "Observational Study",
        "Case Reports",
        "Comparative Study",
        "Multicenter Study",
        "Evaluation Study",
        "Validation Study",
        "Twin Study",
        "Clinical Study",
    }
)


@dataclass(frozen=True, slots=True)
class Paper:
    """One PubMed record, with every field of the paper record in INTERFACES.md."""

    pmid: str
    title: str = ""
    abstract_sections: tuple[AbstractSection, ...] = ()
    authors: tuple[str, ...] = ()
    journal: str = ""
    journal_abbrev: str = ""
    pub_date: str = ""
    pub_date_text: str = ""
    doi: str = ""
    pmcid: str = ""
    keywords: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    mesh_major: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()
    vernacular_title: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    entrez_date: str = ""
    is_book: bool = False
    author_names: tuple[AuthorName, ...] = ()  # the same authors as `authors`, in parts
    corrections: tuple[Correction, ...] = ()
    coi_statement: str = ""

    # Identifiers come from records that publishers write (a DOI is whatever its publisher
    # chose, "<", ">" and all): percent-encoded in a URL, none can end a link early or smuggle
    # markup into a Slack, Telegram or Markdown link.

    @property
    def url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{quote(self.pmid, safe='')}/"

    @property
    def pmc_url(self) -> str:
        """Free full text in PubMed Central, or "" when the paper has no PMC id."""
        if not self.pmcid:
            return ""
        return f"https://pmc.ncbi.nlm.nih.gov/articles/{quote(self.pmcid, safe='')}/"

    @property
    def doi_url(self) -> str:
        """The DOI resolver's link, or "" when the paper has no DOI."""
        return f"https://doi.org/{quote(self.doi, safe='/:;()')}" if self.doi else ""

    @property
    def status(self) -> PaperStatus:
        """What PubMed says happened to the article since: the gravest of its links and types."""
        links = {c.type for c in self.corrections}
        types = set(self.publication_types)
        if "RetractionIn" in links or "Retracted Publication" in types:
            return "retracted"
        if "ExpressionOfConcernIn" in links:
            return "expression-of-concern"
        if "ErratumIn" in links or "Corrected and Republished Article" in types:
            return "corrected"
        if "Preprint" in types:
            return "preprint"
        return ""

    @property
    def kind(self) -> PaperKind:
        """What sort of record it is, by PubMed's publication types (never by its words)."""
        types = set(self.publication_types)
        if types & NOTICE_TYPES:
            return "notice"
        if types & COMMENTARY_TYPES:
            return "commentary"
        if types & REVIEW_TYPES:
            return "review"
        if types & OTHER_TYPES and not types & _RESEARCH_TYPES:
            return "other"
        return "research"

    @property
    def concerns(self) -> tuple[Correction, ...]:
        """What a notice or commentary is about (the record it retracts, corrects or comments
        on), as PubMed links it; () for other records."""
        kind = self.kind
        if kind == "notice":
            return self.links(
                *(NOTICE_TYPE_LINKS[t] for t in self.publication_types if t in NOTICE_TYPE_LINKS)
            )
        return self.links("CommentOn") if kind == "commentary" else ()

    def links(self, *types: str) -> tuple[Correction, ...]:
        """The corrections of the given types, in the record's order."""
        return tuple(c for c in self.corrections if c.type in types)

    @property
    def year(self) -> str:
        return self.pub_date[:4]

    @property
    def abstract(self) -> str:
        """Plain-text abstract; labelled sections become `LABEL: text` paragraphs."""
        return "\n\n".join(
            f"{s.label}: {s.text}" if s.label else s.text for s in self.abstract_sections
        )

    def to_record(self) -> dict[str, Any]:
        """The JSON paper record of INTERFACES.md (every key present): the fields in their order,
        then `abstract`, `url`, `status` and `kind`.

        The same dict `dataclasses.asdict` gave, built directly: asdict deep-copies every string
        and was most of the time of `paper-surfer parse` (bench/parse.py).
        """
        record: dict[str, Any] = {}
        for name in _PAPER_FIELDS:
            value = getattr(self, name)
            if type(value) is tuple:  # text, or the small parts below
                value = [item if type(item) is str else _plain(item) for item in value]
            record[name] = value
        for name in RECORD_EXTRAS:
            record[name] = getattr(self, name)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Paper:
        """Rebuild a paper from `to_record()` output (as stored in the database)."""
        return cls(
            pmid=record["pmid"],
            title=record.get("title", ""),
            abstract_sections=tuple(
                AbstractSection(s["label"], s["text"], s.get("category", ""))
                for s in record.get("abstract_sections", [])
            ),
            authors=tuple(record.get("authors", [])),
            journal=record.get("journal", ""),
            journal_abbrev=record.get("journal_abbrev", ""),
            pub_date=record.get("pub_date", ""),
            pub_date_text=record.get("pub_date_text", ""),
            doi=record.get("doi", ""),
            pmcid=record.get("pmcid", ""),
            keywords=tuple(record.get("keywords", [])),
            mesh_terms=tuple(record.get("mesh_terms", [])),
            mesh_major=tuple(record.get("mesh_major", [])),
            publication_types=tuple(record.get("publication_types", [])),
            languages=tuple(record.get("languages", [])),
            grants=tuple(
                Grant(g["id"], g["agency"], g["country"]) for g in record.get("grants", [])
            ),
            vernacular_title=record.get("vernacular_title", ""),
            volume=record.get("volume", ""),
            issue=record.get("issue", ""),
            pages=record.get("pages", ""),
            entrez_date=record.get("entrez_date", ""),
            is_book=bool(record.get("is_book", False)),
            author_names=tuple(AuthorName(**a) for a in record.get("author_names", [])),
            corrections=tuple(
                Correction(c["type"], c["pmid"], c["source"]) for c in record.get("corrections", [])
            ),
            coi_statement=record.get("coi_statement", ""),
        )


_PAPER_FIELDS = tuple(f.name for f in fields(Paper))
# The keys a paper record has after the fields, derived from them (`paper-surfer parse` writes
# a record as its fields, then these, without building the dict: bot/cli.py).
RECORD_EXTRAS = ("abstract", "url", "status", "kind")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(item: Any) -> dict[str, Any]:
    """`asdict` of a record's small parts (AbstractSection, Grant, AuthorName, Correction), whose
    fields are all text: a dict of its fields in their order, whatever fields it has."""
    names = _FIELD_NAMES.get(type(item))
    if names is None:
        names = _FIELD_NAMES[type(item)] = tuple(f.name for f in fields(item))
    return {name: getattr(item, name) for name in names}


def search_url(query: str) -> str:
    """PubMed's own search for `query`: every paper it finds, not only the new ones."""
    return f"https://pubmed.ncbi.nlm.nih.gov/?term={quote(query, safe='')}"


@dataclass(frozen=True, slots=True)
class Deletion:
    """A PMID that an NLM update file withdraws (`DeleteCitation`)."""

    pmid: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What esearch said about a query: the ids and PubMed's own messages, as data."""

    count: int
    pmids: tuple[str, ...]
    query_translation: str = ""
    phrases_not_found: tuple[str, ...] = ()
    fields_not_found: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    requests: int = 1


@dataclass(frozen=True, slots=True)
class MatchReason:
    """One query term and the fields of the paper it was found in."""

    term: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.term}: {', '.join(self.fields)}"


@dataclass(frozen=True, slots=True)
class Score:
    """The keyword matching score of a paper against a query, its category and why."""

    value: float
    category: str
    reasons: tuple[MatchReason, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # e.g. why the chat's feedback moved it


# --- chats, subscriptions and the outbox (stored by storage/) ---------------------------------

ChatMode = Literal["instant", "digest"]
CHAT_MODES: tuple[ChatMode, ...] = get_args(ChatMode)
SubscriptionStatus = Literal["active", "paused", "removed"]
DeliveryState = Literal["pending", "sent", "failed", "cancelled"]
DELIVERY_STATES: tuple[DeliveryState, ...] = get_args(DeliveryState)
# How a delivery goes out; "" until it is planned.
DeliveryKind = Literal["", "card", "list", "digest"]
FeedbackKind = Literal["up", "down", "save"]  # the buttons on a card
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = get_args(FeedbackKind)


@dataclass(frozen=True, slots=True)
class Chat:
    """A place that receives papers: a Slack channel or DM, a Telegram chat, the local user."""

    id: int
    platform: str
    workspace: str
    chat_id: str
    language: str = "en"
    timezone: str = "UTC"
    mode: ChatMode = "instant"
    digest_time: str = "08:00"
    # In digest mode: the weekday of a weekly digest (0 is Monday), None for a daily one.
    digest_day: int | None = None
    active: bool = True
    paused: bool = False

    @property
    def weekly(self) -> bool:
        return self.mode == "digest" and self.digest_day is not None

    @property
    def label(self) -> str:
        where = f"{self.workspace}/{self.chat_id}" if self.workspace else self.chat_id
        return f"{self.platform}:{where}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat's PubMed query; `number` is the id the chat sees (ids are scoped to their chat)."""

    id: int
    chat: int
    number: int
    query: str
    normalized: str
    status: SubscriptionStatus = "active"
    created_at: datetime | None = None
    last_paper_at: datetime | None = None  # None: no paper yet
    translation: str = ""  # PubMed's QueryTranslation when subscribed; "" for older ones


@dataclass(frozen=True, slots=True)
class MatchedQuery:
    """One of the chat's subscriptions that matched a paper, with its score."""

    number: int
    query: str
    score: Score


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: a paper owed to a chat (unique per chat and PMID)."""

    id: int
    chat: int
    pmid: str
    state: DeliveryState
    kind: DeliveryKind
    batch: str
    attempts: int
    score: float
    created_at: datetime | None
    poll_run: int | None = None


# --- poll runs and query cursors (stored by storage/polls.py) ---------------------------------


@dataclass(frozen=True, slots=True)
class QueryState:
    """Where the polls are with one (normalised) query, shared by every chat that follows it."""

    normalized: str
    cursor: date | None = None  # the last Entrez day searched through; None before any search
    idle: bool = False  # nobody polled it lately: a comeback does not reach back that far
    last_success_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    success_run: int = 0  # the last poll that searched it without an error
    skipped_run: int = 0  # the last poll that skipped its search (PubMed had not changed)


@dataclass(frozen=True, slots=True)
class PollRun:
    """One poll and its figures."""

    id: int
    started_at: datetime
    finished_at: datetime | None = None  # None while it runs, or when it never finished
    queries: int = 0
    failed_queries: int = 0
    requests: int = 0
    new_papers: int = 0
    matches: int = 0
    deliveries: int = 0
    probe: str = ""  # PubMed's answer to "what was entered or modified lately?"
    full: bool = True  # it searched every query
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll did for one subscription, with its run's times and what went out."""

    poll_run: int
    subscription: int
    chat: int
    window: str  # the Entrez dates searched, YYYY/MM/DD-YYYY/MM/DD
    started_at: datetime
    finished_at: datetime | None
    found: int = 0
    new_matches: int = 0
    new_deliveries: int = 0
    sent: int = 0
    error: str = ""


# --- the operator's view (`paper-surfer stats` and `chats`) -------------------------------------
# Their JSON is `dataclasses.asdict` of these (times written as ISO 8601 text), so field order
# is the JSON's key order.


@dataclass(frozen=True, slots=True)
class PlatformChats:
    active: int
    retired: int


@dataclass(frozen=True, slots=True)
class SubscriptionCounts:
    active: int
    paused: int


@dataclass(frozen=True, slots=True)
class DatabaseSize:
    path: str
    bytes: int
    file_bytes: int
    wal_bytes: int


@dataclass(frozen=True, slots=True)
class Stats:
    chats: dict[str, PlatformChats]
    subscriptions: SubscriptionCounts
    queries: int
    papers: int
    deliveries: dict[str, int]  # by state, every state named
    oldest_pending: datetime | None
    last_poll: PollRun | None
    database: DatabaseSize


@dataclass(frozen=True, slots=True)
class ChatSubscription:
    id: int
    query: str
    paused: bool


@dataclass(frozen=True, slots=True)
class ChatOverview:
    platform: str
    workspace: str
    chat_id: str
    language: str
    timezone: str
    mode: str
    digest_time: str
    active: bool
    paused: bool
    retired_because: str
    created_at: datetime
    subscriptions: tuple[ChatSubscription, ...]
    digest_day: int | None = None  # a weekly digest's weekday (0 is Monday)


# --- follow-ups (stored by storage/followups.py) ------------------------------------------------

# What happened to a paper a chat received or saved, gravest first.
FollowupKind = Literal["retracted", "expression-of-concern", "corrected", "updated", "free"]
FOLLOWUP_KINDS: tuple[FollowupKind, ...] = get_args(FollowupKind)
# The link on the paper's own record that says so ("PMC": it gained a PubMed Central copy).
FOLLOWUP_LINKS: dict[str, FollowupKind] = {
    "RetractionIn": "retracted",
    "ExpressionOfConcernIn": "expression-of-concern",
    "ErratumIn": "corrected",
    # A newer version: a preprint published as an article, an updated review or guideline.
    "UpdateIn": "updated",
    "PMC": "free",
}
# A notice's link to the paper it concerns, and the link it puts on that paper.
NOTICE_LINKS = {
    "RetractionOf": "RetractionIn",
    "ExpressionOfConcernFor": "ExpressionOfConcernIn",
    "ErratumFor": "ErratumIn",
}


@dataclass(frozen=True, slots=True)
class Followup:
    """One follow-up owed to a chat: `pmid` (a paper it received or saved) was retracted,
    corrected... by `notice` (a notice's PMID, the newer version's for "updated", or for "free"
    the PMC id)."""

    id: int
    chat: int
    pmid: str
    notice: str
    kind: FollowupKind
    state: DeliveryState
    attempts: int = 0
    reply_to: str = ""  # the platform's id of the message that carried the paper ('' if none)
    received_at: datetime | None = None  # when its card (or list, digest) went out
    saved_at: datetime | None = None  # when the chat saved it (None: never)
    subscriptions: tuple[tuple[int, str], ...] = ()  # the chat's (number, query) that found it
    batch: str = ""  # the digest it goes in ('' when it goes on its own)


@dataclass(frozen=True, slots=True)
class FollowupCheck:
    """What the last notice check or saved-paper re-check did."""

    name: str  # "notices" or "saved"
    cursor: date | None = None  # notices: the last Entrez day searched through
    probe: str = ""  # PubMed's "what changed?" answer at that check
    checked_at: datetime | None = None
    requests: int = 0
    found: int = 0  # notices found, or saved papers checked
    followups: int = 0  # follow-ups it queued
    error: str = ""
