"""What a chat message is, by category (pure): profanity, insult, hate, threat, sexual, spam,
personal data. Rules over the word lists in `lexicon`, after undoing disguises.

A message becomes a list of tokens, and each token a small set of readings: the folded word
(NFKC, lower case, accents and homoglyphs removed, zero-width characters dropped), its
leetspeak decoding (`sh1t`, `@$$`), its repeated letters shortened (`fuuuck`), masked letters
(`f*ck`, `n****r`) and vowel-dropped forms (`fck`, `btch`) read as a listed word *only if* they
fit one, and runs of single letters (`f u c k`, `k.y.s`) joined when they spell one. Words are
matched whole, so nothing is invented inside clean words ("Scunthorpe", "cocktail",
"Kshitij", "grapes"). Whether an insult is aimed at someone decides between a warning and
nothing ("you're stupid" / "I'm so stupid"); phrases catch what no single word says ("kill
yourself", "send nudes", "link in bio").

The result is a list of `Finding`s: category, severity (0 an exclamation such as "hell yeah",
1 mild, 2 severe), a confidence score and the matched term. The policy turns the findings into
an action (policy.decide).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from giftengine.moderation import lexicon as lx
from giftengine.moderation.normalize import LEET, fold

CATEGORIES = ("profanity", "insult", "hate", "threat", "sexual", "spam", "personal")

_LEET = str.maketrans(LEET)
_LEET_CHARS = frozenset(LEET)
_MASKS = frozenset("*#%")
_VOWELS = frozenset("aeiou")
_EDGE = ".,;:?!\"'()[]{}<>…~^"
_APOSTROPHES = str.maketrans("", "", "'’`´")
_SEP_RUN = re.compile(r"^[a-z0-9@$!](?:[._\-*][a-z0-9@$!]){2,}$")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w@.])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    r"\.([a-z]{2,8})(?:/\S*)?(?![\w.])"
)
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_PHONE = re.compile(r"\+?\d(?:[ \-.()]{0,2}\d){8,14}")
_NUMBER = re.compile(r"\d+[a-z]?")
_FLOOD = re.compile(r"(\S)\1{19,}")


@dataclass(frozen=True)
class Finding:
    category: str
    severity: int  # 0 exclamation, 1 mild, 2 severe
    score: float  # confidence in 0..1
    term: str  # what matched (a word, a phrase or a kind such as "link")


# ---- word tables ----------------------------------------------------------------------------
def _expand(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {stem + end: stem for stem, ends in table.items() for end in ends}


_TABLES = {
    name: _expand(table)
    for name, table in (
        ("profanity", lx.PROFANITY),
        ("profane_insult", lx.PROFANE_INSULTS),
        ("insult_noun", lx.INSULT_NOUNS),
        ("insult_word", lx.INSULT_WORDS),
        ("dehumanizing", lx.DEHUMANIZING),
        ("slur", lx.SLURS),
        ("sexual", lx.SEXUAL),
    )
}
_WORDS: dict[str, str] = {}
for _name, _forms in _TABLES.items():
    for _form in _forms:
        _WORDS.setdefault(_form, _name)
# Stems no clean word contains: matched inside longer tokens too ("fuckface", "fuckyou").
_INSIDE = ("fuck", "nigger", "faggot", "motherf", "bitch", "asshole", "cunt")
_INSIDE_OK = ("scunthorpe", "snigger", "sniggers", "sniggered", "sniggering")


def _phrase_literals() -> set[str]:
    out: set[str] = set()
    for _, _, pattern in lx.PHRASES + [("", 0, d) for d in lx.DEFUSERS]:
        for alts in pattern.split(" "):
            out.update(a for a in alts.split("|") if a.isalpha() and len(a) >= 3)
    return out


# Words a disguised token may be read as: listed words and phrase words.
_VOCAB = frozenset(_WORDS) | frozenset(lx.MILD) | _phrase_literals()
_BY_LEN: dict[int, list[str]] = {}
for _w in sorted(_VOCAB):
    _BY_LEN.setdefault(len(_w), []).append(_w)


def _skeleton(word: str) -> str:
    return "".join(c for c in word if c not in _VOWELS)


def _skeletons() -> dict[str, str]:
    out: dict[str, str] = {}
    clash: set[str] = set()
    for w in sorted(set(_WORDS) | {"kill", "yourself"}):
        sk = _skeleton(w)
        if len(sk) < 3 or sk == w:
            continue
        if sk in out and out[sk] != w:
            clash.add(sk)
        out.setdefault(sk, w)
    for sk in clash:
        out.pop(sk, None)
    out.update(lx.SKELETONS)
    for sk in lx.NOT_SKELETONS:
        out.pop(sk, None)
    return out


_SKELETONS = _skeletons()


# ---- tokens ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    text: str  # the folded word, edges stripped
    readings: frozenset[str]  # text plus every listed word it can be read as

    def disguised(self, word: str) -> bool:
        return word != self.text


def _strip_format(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _deleet(word: str) -> str:
    if not any(c in _LEET_CHARS for c in word):
        return word
    letters = sum(c.isalpha() for c in word)
    if letters == 0 and word.isdigit():
        return word  # a number stays a number
    return word.translate(_LEET)


def _masked(word: str) -> set[str]:
    """Listed words that `word` spells with masked letters (`f*ck`, `n****r`): masks stand
    for one to (run + 1) letters; the first character and at least two letters are shown."""
    if not any(c in _MASKS for c in word) or not word[:1].isalpha():
        return set()
    parts: list[tuple[str, int]] = []  # (literal letters, mask run that follows)
    i, lit = 0, ""
    while i < len(word):
        c = word[i]
        if c in _MASKS:
            j = i
            while j < len(word) and word[j] in _MASKS:
                j += 1
            parts.append((lit, j - i))
            lit, i = "", j
        else:
            lit += c
            i += 1
    parts.append((lit, 0))
    shown = sum(len(p) for p, _ in parts)
    if shown < 2 or not all(p.isalpha() or p == "" for p, _ in parts):
        return set()
    lo = shown + sum(r for _, r in parts)
    hi = shown + sum(r + 1 for _, r in parts)
    hits = set()
    for n in range(lo, hi + 1):
        for cand in _BY_LEN.get(n, ()):
            if _fits(parts, cand):
                hits.add(cand)
    return hits


def _fits(parts: list[tuple[str, int]], word: str) -> bool:
    # Greedy-free check by position sets (tiny inputs: a word is at most ~15 letters).
    positions = {0}
    for lit, run in parts:
        nxt = set()
        for p in positions:
            if word.startswith(lit, p):
                nxt.add(p + len(lit))
        positions = nxt
        if run:
            positions = {p + k for p in positions for k in range(1, run + 2) if p + k <= len(word)}
        if not positions:
            return False
    return len(word) in positions


def _squeezed(word: str) -> set[str]:
    out = {re.sub(r"(.)\1{2,}", r"\1", word), re.sub(r"(.)\1{2,}", r"\1\1", word)}
    out.add(re.sub(r"(.)\1+", r"\1", word))
    return out


def _readings(word: str) -> frozenset[str]:
    forms = {word}
    if _SEP_RUN.match(word):  # f.u.c.k, k.y.s, f_u_c_k
        forms.add(re.sub(r"[._\-*]", "", word))
    for f in list(forms):
        forms.add(_deleet(f))
    for f in list(forms):
        forms |= _squeezed(f)
    found = {f for f in forms if f in _VOCAB}
    for f in forms:
        found |= _masked(f)
        if f.isalpha() and not (set(f) & _VOWELS) and f in _SKELETONS:
            found.add(_SKELETONS[f])
        if f.isalpha() and f not in _INSIDE_OK:
            found.update(stem for stem in _INSIDE if stem in f and f != stem)
    found.update(_FULL[s] for s in list(found) if s in _FULL)
    found.update(lx.SPELLINGS[s] for s in list(found | forms) if s in lx.SPELLINGS)
    return frozenset({word} | found)


# Stems matched inside a longer token stand for their table's word.
_FULL = {"motherf": "motherfucker"}


def _single(tok: str) -> bool:
    return len(tok) == 1 and (tok.isalnum() or tok in _LEET_CHARS)


def _join_spaced(words: list[str]) -> list[str]:
    """Runs of three or more single characters (`f u c k`, `k y s`) joined when they spell a
    listed word; otherwise left alone ("u r a clown" stays three words)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if _single(words[i]):
            j = i
            while j < len(words) and _single(words[j]):
                j += 1
            if j - i >= 3:
                joined = "".join(words[i:j])
                if joined in _VOCAB or _deleet(joined) in _VOCAB:
                    out.append(joined)
                    i = j
                    continue
            out.extend(words[i:j])
            i = j
        else:
            out.append(words[i])
            i += 1
    return out


def tokens(text: str) -> list[Token]:
    folded = _strip_format(fold(text)).translate(_APOSTROPHES)
    words = []
    for raw in folded.split():
        core = raw.strip(_EDGE)
        if raw[:1] in "$@" and core[:1] not in "$@":
            core = raw[0] + core  # a leading $ or @ is a letter in disguise ($hit, @ss)
        if core:
            words.append(core)
    return [Token(w, _readings(w)) for w in _join_spaced(words)]


# ---- phrases --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Phrase:
    category: str
    severity: int
    steps: tuple[frozenset[str] | None, ...]  # None = gap of up to three tokens
    start: bool
    end: bool
    text: str


def _compile(category: str, severity: int, pattern: str) -> _Phrase:
    parts = pattern.split(" ")
    start, end = parts[0] == "^", parts[-1] == "$"
    parts = [p for p in parts if p not in ("^", "$")]
    steps = tuple(None if p == "~" else frozenset(p.split("|")) for p in parts)
    return _Phrase(category, severity, steps, start, end, pattern)


_PHRASES = tuple(_compile(c, s, p) for c, s, p in lx.PHRASES)
_DEFUSERS = tuple(_compile("", 0, p) for p in lx.DEFUSERS)


def _match_at(steps, toks: list[Token], i: int, end: bool) -> int | None:
    """The end index of a match of `steps` starting at token i, or None."""
    if not steps:
        return i if (not end or i == len(toks)) else None
    step, rest = steps[0], steps[1:]
    if step is None:
        for skip in range(0, 4):
            got = _match_at(rest, toks, i + skip, end)
            if got is not None:
                return got
            if i + skip >= len(toks):
                break
        return None
    if i < len(toks) and step & toks[i].readings:
        got = _match_at(rest, toks, i + 1, end)
        if got is not None:
            return got
    if "_" in step:
        return _match_at(rest, toks, i, end)
    return None


def _phrase_hits(phrases, toks: list[Token]) -> list[tuple[_Phrase, int, int]]:
    hits = []
    for ph in phrases:
        starts = [0] if ph.start else range(len(toks))
        for i in starts:
            j = _match_at(ph.steps, toks, i, ph.end)
            if j is not None:
                hits.append((ph, i, j))
                break
    return hits


# ---- rules ----------------------------------------------------------------------------------
def _kind(tok: Token) -> dict[str, str]:
    """table -> the word of that table the token reads as."""
    out: dict[str, str] = {}
    for r in sorted(tok.readings, key=lambda r: (r != tok.text, r)):
        table = _WORDS.get(r)
        if table and table not in out:
            out[table] = r
    return out


def _score(tok: Token, word: str, base: float) -> float:
    return round(base - (0.05 if tok.disguised(word) else 0.0), 2)


def _links(folded: str) -> list[Finding]:
    out = []
    for m in _URL.finditer(folded):
        text = m.group(0)
        tld = m.group(1)
        if text.startswith(("http", "www.")) or (
            tld in lx.TLDS and not text.replace(".", "").isdigit()
        ):
            out.append(Finding("spam", 2, 0.9, "link"))
            break
    return out


def _personal(folded: str, words: set[str], toks: list[Token]) -> list[Finding]:
    out = []
    if _EMAIL.search(folded):
        out.append(Finding("personal", 2, 0.95, "email address"))
    for m in _PHONE.finditer(folded):
        if sum(c.isdigit() for c in m.group(0)) >= 9:
            out.append(Finding("personal", 2, 0.9, "phone number"))
            break
    if words & {"live", "lives", "living", "address", "stay", "stays", "located", "house"}:
        texts = [t.text for t in toks]
        for i, w in enumerate(texts):
            if _NUMBER.fullmatch(w) and any(t in lx.STREET_WORDS for t in texts[i + 1 : i + 5]):
                out.append(Finding("personal", 2, 0.85, "street address"))
                break
    return out


def _groups(toks: list[Token]) -> list[Finding]:
    texts = [t.text for t in toks]
    for i, w in enumerate(texts):
        if w not in lx.GROUPS:
            continue
        after = texts[i + 1 : i + 5]
        if any(a in lx.GROUP_SMEARS for a in after[:3]):
            return [Finding("hate", 2, 0.85, f"{w} ... smear")]
        if any(a in ("should", "must", "deserve", "need") for a in after[:2]) and any(
            a in lx.GROUP_FATES for a in after
        ):
            return [Finding("hate", 2, 0.85, f"{w} should ...")]
        if any(a in ("control", "controls", "run", "runs") for a in after[:2]):
            return [Finding("hate", 2, 0.8, f"{w} control ...")]
    return []


def findings(text: str) -> list[Finding]:
    """Everything the message says that moderation cares about (empty when clean)."""
    toks = tokens(text)
    folded = _strip_format(fold(text))
    plain = {t.text for t in toks}
    out: list[Finding] = []
    out += _links(folded)
    out += _personal(folded, plain, toks)
    if _FLOOD.search(folded.replace(" ", "")) and len(set(folded.replace(" ", ""))) <= 3:
        out.append(Finding("spam", 2, 0.8, "character flood"))
    out += _groups(toks)

    defused: set[int] = set()
    for _, i, j in _phrase_hits(_DEFUSERS, toks):
        defused.update(range(i, j))
    for ph, i, j in _phrase_hits(_PHRASES, toks):
        if defused & set(range(i, j)):
            continue
        out.append(Finding(ph.category, ph.severity, 0.9, ph.text.replace("|", "/")))

    second = bool(plain & lx.SECOND_PERSON)
    first = bool(plain & lx.FIRST_PERSON)
    hinglish = bool(plain & lx.HINGLISH)
    short = len(toks) <= 3
    kinds = [(t, _kind(t)) for n, t in enumerate(toks) if n not in defused]
    insult_person = any("insult_noun" in k for _, k in kinds)
    has_profanity = False
    for tok, k in kinds:
        if "slur" in k:
            out.append(Finding("hate", 2, _score(tok, k["slur"], 0.95), k["slur"]))
        if "sexual" in k:
            word = k["sexual"]
            sev = 1 if word in ("sexy", "naked", "porno") else 2
            out.append(Finding("sexual", sev, _score(tok, word, 0.9), word))
        if "profane_insult" in k:
            word = k["profane_insult"]
            if word in lx.NEEDS_TARGET and not (second or hinglish):
                continue
            out.append(Finding("insult", 2, _score(tok, word, 0.9), word))
        if "dehumanizing" in k and (second or short or insult_person):
            word = k["dehumanizing"]
            out.append(Finding("insult", 2, _score(tok, word, 0.85), word))
        if "profanity" in k:
            word = k["profanity"]
            if word in lx.NEEDS_HINGLISH and not hinglish:
                continue
            has_profanity = True
            out.append(Finding("profanity", 1, _score(tok, word, 0.9), word))
        if "insult_noun" in k and not first and (second or short):
            word = k["insult_noun"]
            out.append(Finding("insult", 1, _score(tok, word, 0.8), word))
        if "insult_word" in k and not first and plain & (lx.SECOND_PERSON - {"your", "yours"}):
            word = k["insult_word"]
            out.append(Finding("insult", 1, _score(tok, word, 0.75), word))
        if tok.readings & lx.MILD:
            out.append(Finding("profanity", 0, 0.5, min(tok.readings & lx.MILD)))
    if has_profanity and any(f.category == "insult" for f in out):
        # Swearing at someone: "fucking idiot", "you f#cking loser".
        out.append(Finding("insult", 2, 0.85, "profanity aimed at a person"))
    return out


SEVERITY_ORDER = ("threat", "hate", "sexual", "insult", "spam", "personal", "profanity")


def worst(found: list[Finding]) -> Finding | None:
    """The most serious finding: severity first, then the category order above."""
    if not found:
        return None
    return max(found, key=lambda f: (f.severity, -SEVERITY_ORDER.index(f.category), f.score))


@lru_cache(maxsize=4096)
def classify(text: str) -> tuple[Finding, ...]:
    return tuple(findings(text))
