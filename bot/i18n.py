"""Every message the bot says, in English and Korean, chosen per chat by `lang`.

Messages are looked up by key; a test checks that each key exists in both languages with the
same placeholders, so no reply can appear in one language only.
"""

from __future__ import annotations

from bot.escape import escape_lines

LANGUAGES = ("en", "ko")  # the languages every message is written in

# key: (English, Korean)
MESSAGES: dict[str, tuple[str, str]] = {
    # --- the verbs: usage and what each does ---------------------------------------------------
    "usage.help": ("help [verb]", "help [명령]"),
    "usage.subscribe": ("subscribe QUERY", "subscribe 검색식"),
    "usage.list": ("list", "list"),
    "usage.unsubscribe": ("unsubscribe ID", "unsubscribe 번호"),
    "usage.pause": ("pause [ID]", "pause [번호]"),
    "usage.resume": ("resume [ID]", "resume [번호]"),
    "usage.mode": ("mode instant|digest|weekly [DAY]", "mode instant|digest|weekly [요일]"),
    "usage.digest": ("digest HH:MM [ZONE]", "digest HH:MM [시간대]"),
    "usage.lang": ("lang en|ko", "lang en|ko"),
    "usage.search": ("search QUERY", "search 검색식"),
    "usage.status": ("status", "status"),
    "usage.saved": ("saved", "saved"),
    "usage.export": ("export bibtex|ris|csv [alerts]", "export bibtex|ris|csv [alerts]"),
    "about.help": ("list of verbs, or one verb's usage", "명령 목록 또는 한 명령의 사용법"),
    "about.subscribe": (
        "add a PubMed query for this chat (with a preview of what it finds)",
        "이 대화방에 PubMed 검색식을 구독합니다 (검색 결과 미리보기 포함)",
    ),
    "about.list": (
        "this chat's subscriptions with their ids, status and last new paper",
        "이 대화방의 구독 목록 (번호, 상태, 마지막 새 논문)",
    ),
    "about.unsubscribe": ("remove one of this chat's subscriptions", "구독 하나를 삭제합니다"),
    "about.pause": (
        "stop alerts for one subscription, or for the whole chat",
        "구독 하나 또는 대화방 전체의 알림을 멈춥니다",
    ),
    "about.resume": (
        "restart alerts for one subscription, or for the whole chat",
        "구독 하나 또는 대화방 전체의 알림을 다시 시작합니다",
    ),
    "about.mode": (
        "cards as papers arrive (instant), one daily digest, or one weekly (default Monday)",
        "논문이 나오는 즉시 카드로 받기(instant), 하루 한 번 요약(digest) 또는 주 한 번 요약"
        "(weekly, 기본 월요일)",
    ),
    "about.digest": (
        "time (and IANA time zone) of the daily or weekly digest",
        "일일 요약을 받을 시각 (및 IANA 시간대)",
    ),
    "about.lang": (
        "language of summaries and bot messages",
        "요약과 봇 메시지의 언어",
    ),
    "about.search": (
        "one-off search, top results as cards; nothing is stored",
        "한 번만 검색해 상위 결과를 카드로 보여줍니다 (구독하지 않음)",
    ),
    "about.status": (
        "what the last polls did for this chat, and why a poll found nothing",
        "최근 검색이 이 대화방에 한 일과, 새 논문이 없었던 이유",
    ),
    "about.saved": ("papers saved from cards in this chat", "이 대화방에서 카드로 저장한 논문"),
    "about.export": (
        "saved papers (or, with alerts or when none are saved, the last 30 days of alerts) as "
        "a file",
        "저장한 논문 (alerts 를 붙이거나 저장한 논문이 없으면 최근 30일 알림)을 파일로 내보냅니다",
    ),
    # --- general ---------------------------------------------------------------------------------
    "help.header": ("Paper Surfer commands:", "Paper Surfer 명령:"),
    "help.footer": (
        'Example: subscribe "liver metastases" AND chemotherapy',
        '예: subscribe "liver metastases" AND chemotherapy',
    ),
    "usage.line": ("Usage: {usage}", "사용법: {usage}"),
    "unknown_verb": (
        "Unknown command '{verb}'. Try: help",
        "알 수 없는 명령 '{verb}'입니다. help 를 입력해 보세요",
    ),
    "bad_id": ("'{value}' is not a subscription id.", "'{value}'은(는) 구독 번호가 아닙니다."),
    "no_such_id": (
        "This chat has no subscription #{number}. See: list",
        "이 대화방에는 #{number} 구독이 없습니다. list 로 확인하세요",
    ),
    "pubmed.unreachable": (
        "PubMed could not be reached ({detail}). Nothing was changed; please try again later.",
        "PubMed에 연결하지 못했습니다 ({detail}). 아무것도 바뀌지 않았습니다. "
        "잠시 후 다시 시도하세요.",
    ),
    "pubmed.rejected": (
        "PubMed rejected the query: {detail}",
        "PubMed가 검색식을 거부했습니다: {detail}",
    ),
    # --- query refusals --------------------------------------------------------------------------
    "query.empty": ("the query is empty", "검색식이 비어 있습니다"),
    "query.too_long": (
        "the query is {length} characters long; the limit is {limit}",
        "검색식이 {length}자입니다. 최대 {limit}자까지 가능합니다",
    ),
    "query.control": ("the query contains control characters", "검색식에 제어 문자가 있습니다"),
    "query.unbalanced_quote": (
        'the query has an unbalanced quote (")',
        '검색식의 따옴표(")가 짝이 맞지 않습니다',
    ),
    "query.open_paren": (
        "the query has a '(' that is never closed",
        "검색식에 닫히지 않은 '(' 가 있습니다",
    ),
    "query.close_paren": (
        "the query has a ')' without its '('",
        "검색식에 짝이 없는 ')' 가 있습니다",
    ),
    "query.open_tag": (
        "the query has a field tag '[' that is never closed",
        "검색식에 닫히지 않은 필드 태그 '[' 가 있습니다",
    ),
    "query.stray_tag": (
        "the query has a ']' without its '['",
        "검색식에 짝이 없는 ']' 가 있습니다",
    ),
    "query.nested_tag": (
        "the query has a '[' inside a field tag",
        "검색식의 필드 태그 안에 '[' 가 있습니다",
    ),
    "query.no_terms": (
        "the query has no words or numbers to search for",
        "검색식에 검색할 단어나 숫자가 없습니다",
    ),
    "query.only_operators": (
        "the query has no search terms, only operators",
        "검색식에 검색어 없이 연산자만 있습니다",
    ),
    "query.refused": ("Not subscribed: {reason}.", "구독하지 않았습니다: {reason}."),
    "search.refused": ("Not searched: {reason}.", "검색하지 않았습니다: {reason}."),
    # --- subscribe -------------------------------------------------------------------------------
    "subscribe.limit": (
        "Not subscribed: this chat already has {limit} subscriptions, the most allowed. "
        "Remove one with: unsubscribe ID",
        "구독하지 않았습니다: 이 대화방은 이미 최대 {limit}개를 구독 중입니다. "
        "unsubscribe 번호 로 하나를 지우세요",
    ),
    "subscribe.duplicate": (
        "Not subscribed: this chat already has this query as #{number}.",
        "구독하지 않았습니다: 이 대화방은 이미 같은 검색식을 #{number} 번으로 구독 중입니다.",
    ),
    "subscribe.done": (
        "Subscribed #{number}: {query}",
        "구독 #{number} 등록: {query}",
    ),
    "subscribe.count": (
        "Papers in PubMed from the last {days} days: {count}. New ones will come here.",
        "최근 {days}일 동안 PubMed에 {count}편이 있습니다. 새 논문이 이 대화방으로 옵니다.",
    ),
    "subscribe.translation": ("PubMed searches: {translation}", "PubMed 검색 해석: {translation}"),
    "subscribe.not_found": (
        "PubMed did not find: {phrases} (searched without it)",
        "PubMed에서 찾지 못한 표현: {phrases} (이 표현 없이 검색함)",
    ),
    "subscribe.nothing_yet": (
        "Nothing matches yet; you will get papers as soon as PubMed has them.",
        "아직 맞는 논문이 없습니다. PubMed에 나오는 대로 보내드립니다.",
    ),
    "subscribe.recent": ("Recent papers:", "최근 논문:"),
    # --- list / unsubscribe / pause / resume -----------------------------------------------------
    "list.empty": (
        "This chat has no subscriptions. Add one with: subscribe QUERY",
        "이 대화방에는 구독이 없습니다. subscribe 검색식 으로 추가하세요",
    ),
    "list.header": ("Subscriptions of this chat:", "이 대화방의 구독:"),
    "list.item": (
        "#{number} [{status}] {query} (last new paper: {last})",
        "#{number} [{status}] {query} (마지막 새 논문: {last})",
    ),
    "list.never": ("none yet", "아직 없음"),
    "list.chat_paused": (
        "Alerts for this whole chat are paused (resume to restart).",
        "이 대화방 전체 알림이 멈춰 있습니다 (resume 으로 다시 시작).",
    ),
    "substatus.active": ("active", "활성"),
    "substatus.paused": ("paused", "일시정지"),
    "unsubscribe.done": ("Removed #{number}: {query}", "#{number} 구독을 삭제했습니다: {query}"),
    "pause.one": ("Paused #{number}: {query}", "#{number} 구독을 멈췄습니다: {query}"),
    "pause.chat": (
        "Paused all alerts for this chat. Resume with: resume",
        "이 대화방의 모든 알림을 멈췄습니다. resume 으로 다시 시작합니다",
    ),
    "resume.one": ("Resumed #{number}: {query}", "#{number} 구독을 다시 시작했습니다: {query}"),
    "resume.chat": (
        "Alerts for this chat are on again.",
        "이 대화방의 알림을 다시 시작했습니다.",
    ),
    # --- settings --------------------------------------------------------------------------------
    "mode.instant": (
        "Cards will arrive as papers appear.",
        "논문이 나오는 즉시 카드로 보내드립니다.",
    ),
    "mode.digest": (
        "You will get one digest a day at {time} ({zone}).",
        "매일 {time} ({zone})에 요약을 한 번 보내드립니다.",
    ),
    "mode.weekly": (
        "You will get one digest a week, every {day} at {time} ({zone}).",
        "매주 {day} {time} ({zone})에 한 주의 요약을 한 번 보내드립니다.",
    ),
    "mode.bad_day": (
        "'{value}' is not a day of the week: use e.g. monday or mon",
        "'{value}'은(는) 요일이 아닙니다. 월요일 또는 월 처럼 쓰세요",
    ),
    "digest.done_weekly": (
        "Weekly digest set to {day} at {time} ({zone}).",
        "주간 요약을 {day} {time} ({zone})로 정했습니다.",
    ),
    # the days of a weekly digest, Monday first (bot/weekdays.py)
    "day.0": ("Monday", "월요일"),
    "day.1": ("Tuesday", "화요일"),
    "day.2": ("Wednesday", "수요일"),
    "day.3": ("Thursday", "목요일"),
    "day.4": ("Friday", "금요일"),
    "day.5": ("Saturday", "토요일"),
    "day.6": ("Sunday", "일요일"),
    "digest.done": (
        "Daily digest time set to {time} ({zone}).",
        "일일 요약 시각을 {time} ({zone})로 정했습니다.",
    ),
    "digest.instant_note": (
        "This chat is in instant mode; switch with: mode digest",
        "이 대화방은 즉시(instant) 모드입니다. mode digest 로 바꿀 수 있습니다",
    ),
    "digest.bad_time": (
        "'{value}' is not a time; use 24-hour HH:MM, e.g. 07:30",
        "'{value}'은(는) 시각이 아닙니다. 07:30 처럼 24시간 HH:MM 으로 쓰세요",
    ),
    "digest.bad_zone": (
        "'{value}' is not a time zone; use an IANA name such as Asia/Seoul",
        "'{value}'은(는) 시간대가 아닙니다. Asia/Seoul 같은 IANA 이름을 쓰세요",
    ),
    "mode.bad": (
        "'{value}' is not a mode: instant, digest or weekly [DAY]",
        "'{value}'은(는) 모드가 아닙니다: instant, digest 또는 weekly [요일]",
    ),
    "lang.bad": (
        "'{value}' is not a language: en or ko",
        "'{value}'은(는) 언어가 아닙니다: en 또는 ko",
    ),
    "lang.done": ("Language set to English.", "언어를 한국어로 바꿨습니다."),
    # --- search ----------------------------------------------------------------------------------
    "search.none": (
        "No papers in the last {days} days for: {query}",
        "최근 {days}일 동안 다음 검색식에 맞는 논문이 없습니다: {query}",
    ),
    "search.header": (
        "Top {shown} of {count} papers from the last {days} days (not subscribed):",
        "최근 {days}일 논문 {count}편 중 상위 {shown}편 (구독하지 않음):",
    ),
    # --- status ----------------------------------------------------------------------------------
    "status.none": (
        "No polls yet for this chat's subscriptions. The next poll is due within {minutes} min.",
        "이 대화방의 구독은 아직 검색되지 않았습니다. {minutes}분 안에 검색합니다.",
    ),
    "status.header": ("What the last polls did for this chat:", "최근 검색 결과 (이 대화방):"),
    "status.item": (
        "#{number} {query}: polled {when}; {found} in window, {new} new, {sent} sent",
        "#{number} {query}: {when} 검색, 기간 내 {found}편, 새 논문 {new}편, 전송 {sent}편",
    ),
    "status.not_polled": (
        "#{number} {query}: not polled yet",
        "#{number} {query}: 아직 검색하지 않음",
    ),
    "status.why_error": (
        "  nothing sent: PubMed error ({error}); it will be retried at the next poll",
        "  전송 없음: PubMed 오류 ({error}). 다음 검색 때 다시 시도합니다",
    ),
    "status.why_empty": (
        "  nothing sent: PubMed had no papers for it in {window}",
        "  전송 없음: {window} 기간에 PubMed에 맞는 논문이 없었습니다",
    ),
    "status.why_seen": (
        "  nothing sent: nothing new, all {found} papers were already matched before",
        "  전송 없음: 새 논문 없음, {found}편 모두 이미 찾은 논문입니다",
    ),
    "status.why_delivered": (
        "  nothing sent: every new match was already delivered to this chat",
        "  전송 없음: 새로 찾은 논문은 이미 이 대화방에 보냈습니다",
    ),
    "status.skipped": (
        "  then polled {when}: nothing new, PubMed had no paper entered or changed since,"
        " so it was not searched again",
        "  이후 {when} 검색: 새 논문 없음, 그 뒤로 PubMed에 새로 들어오거나 바뀐 논문이 없어"
        " 다시 검색하지 않았습니다",
    ),
    "status.sub_paused": ("  (paused)", "  (일시정지)"),
    "status.pending": (
        "Waiting to be sent: {pending}. Could not be sent: {failed}.",
        "보낼 논문 {pending}편 대기 중, 전송 실패 {failed}편.",
    ),
    "status.digest_waiting": (
        "Papers waiting for the next digest: {pending}.",
        "다음 요약을 기다리는 논문 {pending}편.",
    ),
    # --- saved papers and export --------------------------------------------------------------
    "saved.none": (
        "No papers saved in this chat yet. Press 💾 on a card to save one.",
        "이 대화방에 저장한 논문이 아직 없습니다. 카드의 💾 를 눌러 저장하세요.",
    ),
    "saved.header": ("Saved papers ({count}):", "저장한 논문 ({count}편):"),
    "export.bad_format": (
        "'{value}' is not an export format: bibtex, ris or csv",
        "'{value}'은(는) 내보내기 형식이 아닙니다: bibtex, ris 또는 csv",
    ),
    "export.none": (
        "Nothing to export: no saved papers and no alerts in the last {days} days.",
        "내보낼 것이 없습니다: 저장한 논문도, 최근 {days}일 알림도 없습니다.",
    ),
    "export.saved": (
        "Saved papers ({count}) as {format}.",
        "저장한 논문 {count}편을 {format} 형식으로 내보냈습니다.",
    ),
    "export.alerts": (
        "No saved papers, so the alerts of the last {days} days ({count}) as {format}.",
        "저장한 논문이 없어 최근 {days}일 알림 {count}편을 {format} 형식으로 내보냈습니다.",
    ),
    "export.asked_alerts": (
        "The alerts of the last {days} days ({count}) as {format}.",
        "최근 {days}일 알림 {count}편을 {format} 형식으로 내보냈습니다.",
    ),
    # --- delivery --------------------------------------------------------------------------------
    "list_message.header": (
        "More new papers ({count}), best first:",
        "새 논문 {count}편 더 (관련도 순):",
    ),
    "list_message.continued": (
        "More new papers, continued ({count}):",
        "새 논문 이어서 ({count}편):",
    ),
    "digest.continued": (
        "📬 PubMed digest for {day}, continued — {count} more papers",
        "📬 {day} PubMed 요약 (이어서) — {count}편 더",
    ),
    "overflow.count": (
        "…and {count} more papers, not listed here to keep this chat readable.",
        "…외 {count}편은 대화방이 넘치지 않도록 여기에 싣지 않았습니다.",
    ),
    "overflow.where_list": (
        "See them all with `export csv alerts` (a file), get one message a day with "
        "`mode digest`, or open each search on PubMed:",
        "모두 보려면 `export csv alerts` (파일)를 쓰거나, `mode digest` 로 하루 한 번 "
        "받거나, PubMed에서 각 검색을 여세요:",
    ),
    "overflow.where_digest": (
        "See them all with `export csv alerts` (a file), or open each search on PubMed:",
        "모두 보려면 `export csv alerts` (파일)를 쓰거나, PubMed에서 각 검색을 여세요:",
    ),
    "overflow.search": ("#{number} {query} ({count})", "#{number} {query} ({count}편)"),
    "overflow.more_searches": ("…and {count} more subscriptions", "…외 구독 {count}개"),
    "overflow.gave_up": (
        "⚠️ {count} papers could not be listed here: {attempts} tries to send them failed.",
        "⚠️ 논문 {count}편을 여기에 싣지 못했습니다: {attempts}번 보내려 했지만 실패했습니다.",
    ),
    "digest.header": (
        "📬 PubMed digest for {day} — new papers: {count}, subscriptions: {subscriptions}",
        "📬 {day} PubMed 요약 — 새 논문 {count}편, 구독 {subscriptions}개",
    ),
    "digest.header_weekly": (
        "📬 PubMed weekly digest, week to {day} — new papers: {count}, subscriptions: "
        "{subscriptions}",
        "📬 {day}까지 한 주의 PubMed 요약 — 새 논문 {count}편, 구독 {subscriptions}개",
    ),
    "digest.section": ("Subscription #{number}: {query}", "구독 #{number}: {query}"),
    "digest.more": ("+{count} more:", "외 {count}편:"),
    "digest.updates": ("Updates to papers you received:", "받은 논문의 새 소식:"),
    "digest.line": (
        "{design} · {journal} · {date} · score {score}",
        "{design} · {journal} · {date} · 점수 {score}",
    ),
    "card.matched": ("Matched: {queries}", "일치한 구독: {queries}"),
    "card.score": ("Match {score} ({category})", "일치도 {score} ({category})"),
    # the relevance categories as a chat shows them (the record keeps the English word)
    "category.high": ("high", "높음"),
    "category.medium": ("medium", "보통"),
    "category.low": ("low", "낮음"),
    "category.notice": ("notice", "공지"),
    "category.commentary": ("commentary", "논평"),
    "card.more_like": ("👍 More like this", "👍 이런 논문 더"),
    "card.less_like": ("👎 Less like this", "👎 이런 논문 덜"),
    "card.save": ("💾 Save", "💾 저장"),
    "card.pubmed": ("PubMed", "PubMed에서 보기"),
    "card.full_text": ("Free full text", "무료 전문"),
    "card.no_abstract": ("No abstract available.", "초록이 없습니다."),
    "card.authors_more": ("et al. ({count} authors)", "외 (저자 {count}명)"),
    # --- what PubMed says about a paper: the first line of its card (bot/standing.py) -------
    "standing.retracted": ("⚠️ Retracted", "⚠️ 철회된 논문"),
    "standing.expression-of-concern": ("⚠️ Expression of concern", "⚠️ 우려 표명"),
    "standing.corrected": ("Corrected", "정정된 논문"),
    "standing.preprint": ("Preprint — not peer reviewed", "프리프린트 — 동료 심사 전"),
    "standing.ref.RetractionIn": ("retraction notice", "철회 공지"),
    "standing.ref.ExpressionOfConcernIn": ("notice", "공지"),
    "standing.ref.ErratumIn": ("erratum", "정오표"),
    "standing.ref.UpdateIn": ("later version", "이후 판"),
    "kind.notice_for": ("{kind} for {ref}", "{ref}에 대한 {kind}"),
    "kind.commentary_on": ("{kind} on {ref}", "{ref}에 대한 {kind}"),
    "kind.Retraction of Publication": ("Retraction notice", "철회 공지"),
    "kind.Published Erratum": ("Erratum", "정오표"),
    "kind.Expression of Concern": ("Expression of concern", "우려 표명"),
    "kind.Editorial": ("Editorial", "사설"),
    "kind.Comment": ("Comment", "논평"),
    "kind.Letter": ("Letter", "서신"),
    "kind.News": ("News", "뉴스"),
    "kind.Newspaper Article": ("Newspaper article", "신문 기사"),
    "kind.Interview": ("Interview", "인터뷰"),
    "title.none": ("[No title] (PMID {pmid})", "[제목 없음] (PMID {pmid})"),
    # --- buttons and chat platforms ----------------------------------------------------------
    "feedback.up": ("👍 Noted: more like this", "👍 반영했습니다: 이런 논문 더"),
    "feedback.down": ("👎 Noted: less like this", "👎 반영했습니다: 이런 논문 덜"),
    "feedback.save": (
        "💾 Saved for this chat (see: saved)",
        "💾 이 대화방에 저장했습니다 (saved 로 보기)",
    ),
    "feedback.liked_mesh": (
        "you liked {count} papers on {topic}",
        "{topic} 주제의 논문 {count}편을 좋아하셨습니다",
    ),
    "feedback.liked_keyword": (
        "you liked {count} papers with the keyword {topic}",
        "키워드 {topic}이(가) 있는 논문 {count}편을 좋아하셨습니다",
    ),
    "feedback.liked_journal": (
        "you liked {count} papers in {topic}",
        "{topic}에 실린 논문 {count}편을 좋아하셨습니다",
    ),
    "feedback.disliked_mesh": (
        "you disliked {count} papers on {topic}",
        "{topic} 주제의 논문 {count}편을 싫어하셨습니다",
    ),
    "feedback.disliked_keyword": (
        "you disliked {count} papers with the keyword {topic}",
        "키워드 {topic}이(가) 있는 논문 {count}편을 싫어하셨습니다",
    ),
    "feedback.disliked_journal": (
        "you disliked {count} papers in {topic}",
        "{topic}에 실린 논문 {count}편을 싫어하셨습니다",
    ),
    "feedback.liked_mesh_one": (
        "you liked a paper on {topic}",
        "{topic} 주제의 논문을 좋아하셨습니다",
    ),
    "feedback.liked_keyword_one": (
        "you liked a paper with the keyword {topic}",
        "키워드 {topic}이(가) 있는 논문을 좋아하셨습니다",
    ),
    "feedback.liked_journal_one": (
        "you liked a paper in {topic}",
        "{topic}에 실린 논문을 좋아하셨습니다",
    ),
    "feedback.disliked_mesh_one": (
        "you disliked a paper on {topic}",
        "{topic} 주제의 논문을 싫어하셨습니다",
    ),
    "feedback.disliked_keyword_one": (
        "you disliked a paper with the keyword {topic}",
        "키워드 {topic}이(가) 있는 논문을 싫어하셨습니다",
    ),
    "feedback.disliked_journal_one": (
        "you disliked a paper in {topic}",
        "{topic}에 실린 논문을 싫어하셨습니다",
    ),
    "feedback.again": ("Already noted.", "이미 반영되었습니다."),
    "feedback.expired": ("This button no longer works.", "더 이상 쓸 수 없는 버튼입니다."),
    "group.admins_only": (
        "Only group administrators can change this chat's subscriptions and settings.",
        "그룹 관리자만 이 대화방의 구독과 설정을 바꿀 수 있습니다.",
    ),
    "slack.admins_only": (
        "Only workspace admins and the channel's creator can change this channel's "
        "subscriptions and settings.",
        "워크스페이스 관리자와 채널을 만든 사람만 이 채널의 구독과 설정을 바꿀 수 있습니다.",
    ),
    "error.apology": (
        "Sorry, something went wrong on our side. Please try again.",
        "죄송합니다. 봇에서 문제가 생겼습니다. 다시 시도해 주세요.",
    ),
    "start.greeting": (
        "Hello! I bring you new PubMed papers on the topics you subscribe to.",
        "안녕하세요! 구독하신 주제의 새 PubMed 논문을 보내드립니다.",
    ),
    "slack.working": (
        "⏳ Asking PubMed…",
        "⏳ PubMed에 물어보는 중…",
    ),
    "limits.slow_down": (
        "Too many commands from this chat: I answer {burst} at once, then one every {seconds} "
        "seconds. I skipped the others, and for {quiet} seconds I skip more without saying so; "
        "please wait a moment, then send again.",
        "이 대화방에서 명령이 너무 많이 왔습니다. 한 번에 {burst}개까지, 그 뒤로는 {seconds}초에 "
        "하나씩 답합니다. 나머지는 건너뛰었고, {quiet}초 동안은 알리지 않고 건너뜁니다. 잠시 후 "
        "다시 보내 주세요.",
    ),
    "chat.not_a_command": (
        "Send a command such as /help or /subscribe QUERY.",
        "/help 또는 /subscribe 검색식 같은 명령을 보내 주세요.",
    ),
    # --- follow-ups: what happened to a paper the chat received or saved --------------------
    "followup.retracted": ("⚠️ Retracted:", "⚠️ 철회됨:"),
    "followup.expression-of-concern": ("⚠️ Expression of concern:", "⚠️ 우려 표명:"),
    "followup.corrected": ("✏️ Corrected:", "✏️ 정정됨:"),
    "followup.updated": ("🔄 A newer version is published:", "🔄 새 판이 출간되었습니다:"),
    "followup.free": ("🔓 Free full text is now available:", "🔓 이제 무료 전문을 볼 수 있습니다:"),
    "followup.received": ("you received it on {day}", "{day}에 받은 논문입니다"),
    "followup.received_by": (
        "you received it on {day} ({subscriptions})",
        "{day}에 받은 논문입니다 ({subscriptions})",
    ),
    "followup.saved": ("you saved it on {day}", "{day}에 저장한 논문입니다"),
    "followup.subscription": ("subscription #{number} “{query}”", "구독 #{number} “{query}”"),
    "followup.notice.retracted": ("retraction notice PMID {pmid}", "철회 공지 PMID {pmid}"),
    "followup.notice.expression-of-concern": (
        "expression of concern PMID {pmid}",
        "우려 표명 공지 PMID {pmid}",
    ),
    "followup.notice.corrected": ("erratum PMID {pmid}", "정오표 PMID {pmid}"),
    "followup.notice.updated": ("newer version PMID {pmid}", "새 판 PMID {pmid}"),
    "followup.notice.free": ("PubMed Central {pmcid}", "PubMed Central 전문 {pmcid}"),
    "followup.status": (
        "Follow-ups: retraction notices, errata and expressions of concern last checked {when} "
        "({notices} read); sent to this chat so far: {sent}, waiting: {pending}",
        "후속 알림: 철회 공지, 정오표, 우려 표명을 마지막으로 확인한 때 {when} ({notices}건 "
        "읽음); 이 대화방에 보낸 후속 알림 {sent}건, 대기 {pending}건",
    ),
    "followup.status_saved": (
        "Saved papers last re-checked {when} ({checked} papers)",
        "저장한 논문 마지막 재확인 {when} ({checked}편)",
    ),
    "followup.status_never": (
        "Follow-ups: no check yet (retractions, corrections and free full text of papers you "
        "received or saved are watched at each poll)",
        "후속 알림: 아직 확인 전입니다 (받거나 저장한 논문의 철회, 정정, 무료 전문 여부를 매 "
        "확인 때 살핍니다)",
    ),
    "followup.status_off": (
        "Follow-ups are off on this bot (FOLLOWUPS=off)",
        "이 봇은 후속 알림을 보내지 않습니다 (FOLLOWUPS=off)",
    ),
}


def category_name(language: str, category: str) -> str:
    """A relevance category in the chat's language ("높음" for high); unknown ones as they are."""
    key = f"category.{category}"
    return t(language, key) if key in MESSAGES else category


def t(language: str, key: str, **values: object) -> str:
    """The message `key` in `language` ("en" or "ko"), with `values` filled in."""
    english, korean = MESSAGES[key]
    template = korean if language == "ko" else english
    if not values:
        return template
    # Values often echo what a user typed: its control characters are shown, not sent.
    return template.format(
        **{name: escape_lines(v) if isinstance(v, str) else v for name, v in values.items()}
    )
