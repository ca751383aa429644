"""The schema, as sqlite-utils migrations applied in order at start, each once."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("paper_surfer")


@migrations()
def m001_initial(db: Database) -> None:
    """Chats, subscriptions, papers, matches, the delivery outbox, query cursors and poll runs."""
    _run(
        db,
        """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL DEFAULT '',
            chat_id TEXT NOT NULL,
            language TEXT NOT NULL,
            timezone TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('instant', 'digest')),
            digest_time TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            paused INTEGER NOT NULL DEFAULT 0,
            deactivated_reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            UNIQUE (platform, workspace, chat_id)
        );

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat INTEGER NOT NULL REFERENCES chats(id),
            number INTEGER NOT NULL,
            query TEXT NOT NULL,
            normalized TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'removed')),
            created_at TEXT NOT NULL,
            last_paper_at TEXT NOT NULL DEFAULT '',
            UNIQUE (chat, number)
        );
        CREATE INDEX subscriptions_normalized ON subscriptions (normalized, status);

        CREATE TABLE papers (
            pmid TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            entrez_date TEXT NOT NULL DEFAULT '',
            fetched_at TEXT NOT NULL
        );

        CREATE TABLE matches (
            subscription INTEGER NOT NULL REFERENCES subscriptions(id),
            pmid TEXT NOT NULL REFERENCES papers(pmid),
            score REAL NOT NULL,
            category TEXT NOT NULL,
            reasons TEXT NOT NULL,
            poll_run INTEGER,
            matched_at TEXT NOT NULL,
            PRIMARY KEY (subscription, pmid)
        );
        CREATE INDEX matches_pmid ON matches (pmid);

        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            chat INTEGER NOT NULL REFERENCES chats(id),
            pmid TEXT NOT NULL REFERENCES papers(pmid),
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
            kind TEXT NOT NULL DEFAULT '',
            batch TEXT NOT NULL DEFAULT '',
            score REAL NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            next_attempt_at TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            poll_run INTEGER,
            created_at TEXT NOT NULL,
            sent_at TEXT NOT NULL DEFAULT '',
            UNIQUE (chat, pmid)
        );
        CREATE INDEX deliveries_due ON deliveries (state, chat);

        CREATE TABLE query_state (
            normalized TEXT PRIMARY KEY,
            cursor TEXT NOT NULL DEFAULT '',
            idle INTEGER NOT NULL DEFAULT 0,
            last_success_at TEXT NOT NULL DEFAULT '',
            last_error TEXT NOT NULL DEFAULT '',
            last_error_at TEXT NOT NULL DEFAULT ''
        );

        CREATE TABLE poll_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL DEFAULT '',
            queries INTEGER NOT NULL DEFAULT 0,
            failed_queries INTEGER NOT NULL DEFAULT 0,
            requests INTEGER NOT NULL DEFAULT 0,
            new_papers INTEGER NOT NULL DEFAULT 0,
            matches INTEGER NOT NULL DEFAULT 0,
            deliveries INTEGER NOT NULL DEFAULT 0
        );

        -- What one poll did for one subscription: the answer to `status`.
        CREATE TABLE poll_results (
            poll_run INTEGER NOT NULL REFERENCES poll_runs(id),
            subscription INTEGER NOT NULL REFERENCES subscriptions(id),
            window TEXT NOT NULL,
            found INTEGER NOT NULL DEFAULT 0,
            new_matches INTEGER NOT NULL DEFAULT 0,
            new_deliveries INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (poll_run, subscription)
        );
        CREATE INDEX poll_results_subscription ON poll_results (subscription, poll_run);
        """,
    )


@migrations()
def m002_delivery_leases(db: Database) -> None:
    """A delivery in flight is leased, so two processes (`run` and a manual `poll`) never send
    the same row at once; a crashed sender's lease runs out and the row is sent again."""
    db.execute("ALTER TABLE deliveries ADD COLUMN lease_until TEXT NOT NULL DEFAULT ''")


@migrations()
def m003_feedback(db: Database) -> None:
    """Button presses on cards: 👍 / 👎 (one opinion per person and paper) and 💾 saves."""
    _run(
        db,
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            chat INTEGER NOT NULL REFERENCES chats(id),
            user TEXT NOT NULL,
            pmid TEXT NOT NULL REFERENCES papers(pmid),
            kind TEXT NOT NULL CHECK (kind IN ('up', 'down', 'save')),
            created_at TEXT NOT NULL,
            UNIQUE (chat, user, pmid, kind)
        );
        CREATE INDEX feedback_chat ON feedback (chat, kind)
        """,
    )


@migrations()
def m004_summaries(db: Database) -> None:
    """Language-model summaries, one per paper, language and model: the model is asked once."""
    _run(
        db,
        """
        CREATE TABLE summaries (
            pmid TEXT NOT NULL,
            language TEXT NOT NULL,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (pmid, language, model)
        )
        """,
    )


@migrations()
def m005_lease_owner(db: Database) -> None:
    """Who holds a lease (host:pid), so a restarted bot can take back its dead self's leases at
    once instead of waiting for them to run out."""
    db.execute("ALTER TABLE deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT ''")


@migrations()
def m006_retention(db: Database) -> None:
    """Papers can be pruned while their delivery history stays: `deliveries.pmid` no longer
    references `papers` (its unique chat and PMID is what keeps a paper found again from going
    to a chat twice), and indexes let the daily prune find old, unneeded papers quickly."""
    # SQLite cannot drop a constraint: the table is rebuilt, same columns in the same order.
    _run(
        db,
        """
        CREATE TABLE deliveries_new (
            id INTEGER PRIMARY KEY,
            chat INTEGER NOT NULL REFERENCES chats(id),
            pmid TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
            kind TEXT NOT NULL DEFAULT '',
            batch TEXT NOT NULL DEFAULT '',
            score REAL NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            next_attempt_at TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            poll_run INTEGER,
            created_at TEXT NOT NULL,
            sent_at TEXT NOT NULL DEFAULT '',
            lease_until TEXT NOT NULL DEFAULT '',
            lease_owner TEXT NOT NULL DEFAULT '',
            UNIQUE (chat, pmid)
        );
        INSERT INTO deliveries_new SELECT id, chat, pmid, state, kind, batch, score, attempts,
            last_error, next_attempt_at, message_id, poll_run, created_at, sent_at, lease_until,
            lease_owner FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_new RENAME TO deliveries;
        CREATE INDEX deliveries_due ON deliveries (state, chat);
        CREATE INDEX deliveries_pmid ON deliveries (pmid);
        CREATE INDEX papers_fetched ON papers (fetched_at, pmid)
        """,
    )


@migrations()
def m007_shown(db: Database) -> None:
    """Papers a chat was shown outside the outbox (`search` cards), so that a button press is
    accepted only for a paper that chat saw."""
    _run(
        db,
        """
        CREATE TABLE shown (
            chat INTEGER NOT NULL REFERENCES chats(id),
            pmid TEXT NOT NULL,
            shown_at TEXT NOT NULL,
            PRIMARY KEY (chat, pmid)
        )
        """,
    )


@migrations()
def m008_delivery_parts(db: Database) -> None:
    """Progress of a list or digest being sent in several messages: how many messages and
    papers the platform confirmed so far, so that a retry continues after them."""
    _run(
        db,
        """
        CREATE TABLE delivery_parts (
            chat INTEGER NOT NULL REFERENCES chats(id),
            batch TEXT NOT NULL,
            parts INTEGER NOT NULL DEFAULT 0,
            papers INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (chat, batch)
        )
        """,
    )


@migrations()
def m009_unchanged_polls(db: Database) -> None:
    """What a poll asked PubMed first (has anything been entered or modified?) and whether it
    skipped the searches because nothing had; per query, the last poll that searched it without
    an error and the last that skipped it, for the skip rule and `status`."""
    _run(
        db,
        """
        ALTER TABLE poll_runs ADD COLUMN probe TEXT NOT NULL DEFAULT '';
        ALTER TABLE poll_runs ADD COLUMN full INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE poll_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE query_state ADD COLUMN success_run INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE query_state ADD COLUMN skipped_run INTEGER NOT NULL DEFAULT 0
        """,
    )


@migrations()
def m010_subscription_translation(db: Database) -> None:
    """PubMed's translation of a subscription's query, as esearch gave it when the chat
    subscribed: scoring counts what PubMed mapped an untagged word to ("neoplasms"[MeSH Terms]
    for cancer). Subscriptions made before have none ("") and score by their own words."""
    db.execute("ALTER TABLE subscriptions ADD COLUMN translation TEXT NOT NULL DEFAULT ''")


@migrations()
def m011_followups(db: Database) -> None:
    """Follow-ups: what PubMed said happened to a paper after it was stored (a retraction, an
    expression of concern, an erratum, a newer version, a PMC copy), learnt once per paper and
    link; the follow-up messages it owes the chats that received or saved the paper (an outbox
    of their own, one row per chat, paper and notice); and what the follow-up checks did."""
    _run(
        db,
        """
        CREATE TABLE paper_links (
            pmid TEXT NOT NULL,
            type TEXT NOT NULL,
            other TEXT NOT NULL,
            learnt_at TEXT NOT NULL,
            PRIMARY KEY (pmid, type, other)
        );
        -- What the stored records already say: a link known before counts as known.
        INSERT OR IGNORE INTO paper_links (pmid, type, other, learnt_at)
            SELECT p.pmid, json_extract(c.value, '$.type'), json_extract(c.value, '$.pmid'),
                p.fetched_at
            FROM papers p, json_each(p.record, '$.corrections') c
            WHERE json_valid(p.record)
            AND json_extract(c.value, '$.type')
                IN ('RetractionIn', 'ErratumIn', 'ExpressionOfConcernIn', 'UpdateIn')
            AND json_extract(c.value, '$.pmid') != '';
        INSERT OR IGNORE INTO paper_links (pmid, type, other, learnt_at)
            SELECT json_extract(c.value, '$.pmid'), 'UpdateIn', p.pmid, p.fetched_at
            FROM papers p, json_each(p.record, '$.corrections') c
            WHERE json_valid(p.record) AND json_extract(c.value, '$.type') = 'UpdateOf'
            AND json_extract(c.value, '$.pmid') != '';
        INSERT OR IGNORE INTO paper_links (pmid, type, other, learnt_at)
            SELECT pmid, 'PMC', json_extract(record, '$.pmcid'), fetched_at FROM papers
            WHERE json_valid(record) AND coalesce(json_extract(record, '$.pmcid'), '') != '';

        CREATE TABLE followups (
            id INTEGER PRIMARY KEY,
            chat INTEGER NOT NULL REFERENCES chats(id),
            pmid TEXT NOT NULL,
            notice TEXT NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('retracted', 'expression-of-concern', 'corrected', 'updated',
                    'free')),
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
            released INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            next_attempt_at TEXT NOT NULL DEFAULT '',
            lease_until TEXT NOT NULL DEFAULT '',
            lease_owner TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            sent_at TEXT NOT NULL DEFAULT '',
            UNIQUE (chat, pmid, notice)
        );
        CREATE INDEX followups_due ON followups (state, chat);
        CREATE INDEX followups_pmid ON followups (pmid);
        CREATE INDEX feedback_pmid ON feedback (pmid, kind);

        CREATE TABLE followup_checks (
            name TEXT PRIMARY KEY,
            cursor TEXT NOT NULL DEFAULT '',
            probe TEXT NOT NULL DEFAULT '',
            checked_at TEXT NOT NULL DEFAULT '',
            requests INTEGER NOT NULL DEFAULT 0,
            found INTEGER NOT NULL DEFAULT 0,
            followups INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT ''
        )
        """,
    )


@migrations()
def m012_followups_in_digests(db: Database) -> None:
    """A digest-mode chat's follow-ups (all but retractions) go inside its digest: `batch` names
    the digest they were planned into ('' while they wait, or for one sent on its own)."""
    db.execute("ALTER TABLE followups ADD COLUMN batch TEXT NOT NULL DEFAULT ''")


@migrations()
def m013_weekly_digests(db: Database) -> None:
    """A digest-mode chat may take its digest once a week: `digest_day` is the weekday (0 is
    Monday, as Python counts), NULL for a daily digest. The mode stays 'digest' so every rule for
    digest chats (papers wait, follow-ups go inside the digest) holds for weekly ones unchanged."""
    db.execute(
        "ALTER TABLE chats ADD COLUMN digest_day INTEGER"
        " CHECK (digest_day IS NULL OR digest_day BETWEEN 0 AND 6)"
    )


def _run(db: Database, script: str) -> None:
    """Run statements one by one: executescript() would COMMIT the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip() and not all(
            line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
        ):
            db.execute(statement)
