"""A paper's title as a reader sees it, in English or Korean, never empty.

PubMed's `ArticleTitle` is the English title (for an article in another language, PubMed's
translation in brackets). Some records have only the original-language `VernacularTitle`, and a
few (errata, mostly) have no title at all. The card then shows the vernacular title with its
language named ("Les soins hospitaliers … (French)"), or "[No title] (PMID …)": never a bare
dash that reads like a rendering fault.
"""

from __future__ import annotations

from bot.i18n import t
from bot.models import Paper

# PubMed's language codes (ISO 639-2/B, as in `<Language>`): (English name, Korean name).
LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "afr": ("Afrikaans", "아프리칸스어"),
    "alb": ("Albanian", "알바니아어"),
    "ara": ("Arabic", "아랍어"),
    "arm": ("Armenian", "아르메니아어"),
    "aze": ("Azerbaijani", "아제르바이잔어"),
    "bos": ("Bosnian", "보스니아어"),
    "bul": ("Bulgarian", "불가리아어"),
    "cat": ("Catalan", "카탈루냐어"),
    "chi": ("Chinese", "중국어"),
    "cze": ("Czech", "체코어"),
    "dan": ("Danish", "덴마크어"),
    "dut": ("Dutch", "네덜란드어"),
    "eng": ("English", "영어"),
    "epo": ("Esperanto", "에스페란토"),
    "est": ("Estonian", "에스토니아어"),
    "fin": ("Finnish", "핀란드어"),
    "fre": ("French", "프랑스어"),
    "geo": ("Georgian", "조지아어"),
    "ger": ("German", "독일어"),
    "gre": ("Greek", "그리스어"),
    "heb": ("Hebrew", "히브리어"),
    "hin": ("Hindi", "힌디어"),
    "hrv": ("Croatian", "크로아티아어"),
    "hun": ("Hungarian", "헝가리어"),
    "ice": ("Icelandic", "아이슬란드어"),
    "ind": ("Indonesian", "인도네시아어"),
    "ita": ("Italian", "이탈리아어"),
    "jpn": ("Japanese", "일본어"),
    "kor": ("Korean", "한국어"),
    "lat": ("Latin", "라틴어"),
    "lav": ("Latvian", "라트비아어"),
    "lit": ("Lithuanian", "리투아니아어"),
    "mac": ("Macedonian", "마케도니아어"),
    "may": ("Malay", "말레이어"),
    "nor": ("Norwegian", "노르웨이어"),
    "per": ("Persian", "페르시아어"),
    "pol": ("Polish", "폴란드어"),
    "por": ("Portuguese", "포르투갈어"),
    "rum": ("Romanian", "루마니아어"),
    "rus": ("Russian", "러시아어"),
    "slo": ("Slovak", "슬로바키아어"),
    "slv": ("Slovenian", "슬로베니아어"),
    "spa": ("Spanish", "스페인어"),
    "srp": ("Serbian", "세르비아어"),
    "swe": ("Swedish", "스웨덴어"),
    "tha": ("Thai", "태국어"),
    "tur": ("Turkish", "튀르키예어"),
    "ukr": ("Ukrainian", "우크라이나어"),
    "urd": ("Urdu", "우르두어"),
    "vie": ("Vietnamese", "베트남어"),
    "wel": ("Welsh", "웨일스어"),
}


def language_name(code: str, language: str) -> str:
    """The name of PubMed language `code` in `language` ("en" or "ko"); "" when unknown."""
    names = LANGUAGE_NAMES.get(code.casefold())
    if names is None:
        return ""
    return names[1] if language == "ko" else names[0]


def vernacular_language(paper: Paper) -> str:
    """The language of the paper's original-language title: its first language not English
    (PubMed gives no language on the title itself); "" when it cannot be told."""
    others = [code for code in paper.languages if code not in ("eng", "und", "mul")]
    return others[0] if others else ""


def display_title(paper: Paper, language: str = "en") -> str:
    """The title to show: the English one, else the original-language one with its language
    named, else "[No title] (PMID …)"."""
    if paper.title.strip():
        return paper.title
    if paper.vernacular_title.strip():
        name = language_name(vernacular_language(paper), language)
        return f"{paper.vernacular_title} ({name})" if name else paper.vernacular_title
    return t(language, "title.none", pmid=paper.pmid)
