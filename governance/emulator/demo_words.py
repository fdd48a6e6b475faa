"""Word handling for the demo model: clause splitting, stems, verb synonyms, identifier spotting.

Deliberately small and deterministic: the demo model is a keyword matcher, not a language model.
"""

from __future__ import annotations

import re

_PHRASES = (
    (re.compile(r"\blook(?:ing|ed|s)?\s+up\b", re.I), "lookup"),
    (re.compile(r"\bcheck(?:ing|ed|s)?\s+on\b", re.I), "check"),
    (re.compile(r"\bfind\s+out\b", re.I), "find"),
    (re.compile(r"\bmoney\s+back\b", re.I), "refund"),
    (re.compile(r"\bget\s+rid\s+of\b", re.I), "delete"),
)
# Clause boundaries: conjunctions and sentence punctuation (a "." inside 19.99 is not one).
_CLAUSES = re.compile(r"\b(?:and\s+then|and\s+also|and|then|also|plus)\b|[;!?]|,\s|\.(?:\s|$)", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Identifiers like ord_123, cus_9, re_ord_1, INV-2024.
IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|\b[A-Za-z]{2,}-\d+\b")

_STOPWORDS_TEXT = """
a an the and or of for to in on at by with from as is are was were be been it its this that these
those please can could would you me my i we our us your their them he she his her do does did done
will shall should may might must just now then also so if but not no yes all any some into about up
down out over under again only own same than too very s t don
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# Verb families: a user word in a family matches a tool whose verb is in the same family.
_FAMILIES = {
    "lookup": "lookup look find check status get fetch show retrieve search view read track where see query",
    "delete": "delete remove erase purge destroy wipe drop",
    "refund": "refund reimburse repay",
    "create": "create add make new open register",
    "update": "update change modify edit set rename",
    "cancel": "cancel void abort stop",
    "send": "send email notify message mail",
    "list": "list enumerate",
    "approve": "approve accept confirm",
    "charge": "charge bill pay payment",
    "transfer": "transfer move wire",
}


def stem(word: str) -> str:
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


_FAMILY_OF = {stem(word): family for family, words in _FAMILIES.items() for word in words.split()}


def family(word_stem: str) -> str | None:
    return _FAMILY_OF.get(word_stem)


def normalise_phrases(text: str) -> str:
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return text


def clauses(text: str) -> list[str]:
    parts = [part.strip() for part in _CLAUSES.split(normalise_phrases(text))]
    return [part for part in parts if part]


def stems(text: str) -> list[str]:
    """Content-word stems of `text` in order, identifiers and stopwords left out."""
    text = IDENTIFIER.sub(" ", normalise_phrases(text))
    return [stem(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


def name_words(name: str) -> list[str]:
    """`refund_payment` -> ["refund", "payment"]; `lookupOrder` -> ["lookup", "order"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[\s_\-.]+", spaced) if word]
