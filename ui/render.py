"""What the chat shows, as HTML and Gradio chat messages: answers with their [n] links, the
Sources panel with each passage and the sentences it supports, the stage line while an answer is
written. Plain functions of Answers and turns: no Bot, no Gradio."""

from __future__ import annotations

import html
import re
import time

from rag import citations
from rag.chunking import all_sentences
from rag.text import STOPWORDS, stem

STAGES = {"searching": "Searching your documents", "reading": "Reading {passages} passages",
          "writing": "Writing the answer ({words} words so far; each sentence shows once it is checked)",
          "checking": "Checking the answer against the passages"}
NO_SOURCES = ('<div class="rag-sources"><p class="rag-hint">The passages an answer is drawn from appear '
              'here as soon as the search ends.</p></div>')
MARKER = re.compile(r"\[(\d+)\]")  # one [n], made a link (citations.MARKER also reads [1, 3])

def words(text: str) -> set[str]:
    """Content words (stemmed, as verification takes them) and numbers of a text."""
    return {stem(w) for w in re.findall(r"\w+", text.lower())
            if any(c.isdigit() for c in w) or (len(w) > 2 and w not in STOPWORDS)}


def highlight(passage: str, sentences: list[str]) -> tuple[str, bool]:
    """The passage as HTML: in its sentences that best match the citing answer sentences, the
    words they share are marked (<mark>) and the sentence underlined. Returns (html, matched);
    nothing is marked when no passage sentence shares a word with them."""
    spans = all_sentences(passage) or [(0, len(passage))]
    wanted = set().union(*(words(s) for s in sentences)) if sentences else set()
    marked = set()
    for sentence in sentences:
        own = words(sentence)
        scores = [len(words(passage[s:e]) & own) for s, e in spans]
        best = max(scores)
        marked |= {i for i, score in enumerate(scores) if best and score >= max(1, 0.6 * best)}
    if not marked:
        return html.escape(passage), False
    out, cursor = [], 0
    for i, (s, e) in enumerate(spans):
        out.append(html.escape(passage[cursor:s]))
        piece = passage[s:e]
        out.append(f'<span class="rag-support">{_mark_words(piece, wanted)}</span>' if i in marked
                   else html.escape(piece))
        cursor = e
    out.append(html.escape(passage[cursor:]))
    return "".join(out), True


def _mark_words(text: str, wanted: set[str]) -> str:
    out, cursor = [], 0
    for m in re.finditer(r"\w+", text):
        out.append(html.escape(text[cursor:m.start()]))
        w = html.escape(m.group())
        out.append(f"<mark>{w}</mark>" if stem(m.group().lower()) in wanted and (
            len(m.group()) > 2 or m.group().isdigit()) else w)
        cursor = m.end()
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def citing_sentences(text: str, n: int) -> list[str]:
    """The sentences of an answer that carry the marker [n], without their markers."""
    found = [text[s:e] for s, e in all_sentences(text) if f"[{n}]" in text[s:e]]
    return [citations.MARKER.sub("", f).strip() for f in found]


def weak_citations(answer) -> set[int]:
    """Citations the check found weak: not supported, or sharing no word with their sentences."""
    by_rank = {h.rank: h for h in answer.passages}
    weak = set()
    for c in answer.citations:
        sentences = citing_sentences(answer.text, c.n) or [c.sentence]
        hit = by_rank.get(c.n)
        if c.supported is False or (hit is not None and not highlight(hit.chunk.text, sentences)[1]):
            weak.add(c.n)
    return weak


def count(n: int, noun: str) -> str:
    return f"**{n}** {noun}{'' if n == 1 else 's'}"


def anchor(turn: int, n: int) -> str:
    return f"rag-src-{turn}-{n}"


def document_label(chunk, titles: dict) -> str:
    return titles.get(chunk.source) or chunk.name


def excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def linkify(text: str, turn: int, passages=(), weak=frozenset(), titles=None) -> str:
    """Answer text for the chat: HTML-escaped, each [n] a link to its passage, whose title (shown
    on hover) is the passage itself; a weak citation is marked."""
    by_rank = {h.rank: h for h in passages}
    titles = titles or {}

    def link(m):
        n = int(m.group(1))
        hit = by_rank.get(n)
        tip = ("Weak citation: " if n in weak else "") + (
            f"[{n}] {document_label(hit.chunk, titles)}\n{excerpt(hit.chunk.text)}" if hit else "")
        cls = "rag-cite rag-weak" if n in weak else "rag-cite"
        return (f'<a class="{cls}" href="#{anchor(turn, n)}" title="{html.escape(tip, quote=True)}">'
                f'[{n}]</a>')
    return MARKER.sub(link, html.escape(text, quote=False))




def passage_html(turn: int, hit, body: str, note: str = "", badge: str = "", titles=None, cited=True) -> str:
    c = hit.chunk
    title = (titles or {}).get(c.source)
    name = (f'{html.escape(title)} <span class="rag-file">({html.escape(c.name)})</span>' if title
            else html.escape(c.name))
    return (f'<div class="rag-source{"" if cited else " rag-uncited"}" id="{anchor(turn, hit.rank)}">'
            f'<div class="rag-head">[{hit.rank}] {name}{badge} '
            f'<span class="rag-where">· {html.escape(c.position)}</span></div>'
            f'<div class="rag-passage">{body}</div>{note}</div>')


CITED = '<span class="rag-badge rag-cited">cited</span>'
WEAK = '<span class="rag-badge rag-weak">weak</span>'
NOT_CITED = '<span class="rag-badge">not cited</span>'


def plain_passages(turn: int, hits, titles=None, badge: str = "", cited=True) -> str:
    return "".join(passage_html(turn, h, html.escape(h.chunk.text), badge=badge, titles=titles, cited=cited)
                   for h in hits)


def answer_sources(turn: int, answer, titles=None) -> str:
    """The Sources of one Answer: cited passages with the supporting words marked, then the others
    the model read, marked not cited."""
    notices = "".join(f'<p class="rag-warn">{html.escape(n)}</p>' for n in answer.notices)
    if answer.refused:
        closest = answer.passages
        more = (f"<details><summary>Closest passages ({len(closest)})</summary>"
                f"{plain_passages(turn, closest, titles)}</details>") if closest else ""
        return f'<p class="rag-refused">{refusal_kind(answer)}</p>{notices}{withheld_draft(answer)}{more}'
    by_rank = {h.rank: h for h in answer.passages}
    parts = [notices] if notices else []
    for c in answer.citations:
        hit = by_rank.get(c.n)
        if hit is None:
            continue
        sentences = citing_sentences(answer.text, c.n) or [c.sentence]
        quoted = " ".join(f"“{html.escape(x)}”" for x in sentences if x)
        note = f'<div class="rag-for">Cited for: {quoted}</div>' if quoted else ""
        body, matched = highlight(c.text, sentences)
        if getattr(c, "supported", None) is False:
            note += '<div class="rag-warn">Weak: the check found this passage may not support the sentence.</div>'
        elif not matched:
            note += '<div class="rag-warn">Weak: no words of the sentence are in this passage.</div>'
        weak = c.supported is False or not matched
        parts.append(passage_html(turn, hit, body, note, WEAK if weak else CITED, titles))
    if not answer.citations:
        parts.append('<p class="rag-hint">The answer cites no passage.</p>')
    if answer.second_look:
        parts.append('<p class="rag-hint">The first draft repeated the prompt\'s worked example; this answer '
                     'is from a second look at the best passage alone.</p>')
    cut = " ".join(f"“{html.escape(s.dropped)}”" for s in answer.sentences if s.dropped)
    if cut:
        parts.append(f'<p class="rag-hint">Cut from the model\'s answer, not in the passages: {cut}</p>')
    cited = {c.n for c in answer.citations}
    rest = [h for h in answer.passages if h.rank not in cited]
    if rest:
        parts.append(f'<h4 class="rag-rest">Also read, not cited ({len(rest)})</h4>'
                     f"{plain_passages(turn, rest, titles, NOT_CITED, cited=False)}")
    return "".join(parts)


def refusal_kind(answer) -> str:
    """Nothing relevant found, or passages found that did not verify an answer: not the same news."""
    if answer.refusal_stage == "retrieve":
        return "Nothing in your documents is about this."
    return "Found related passages, but could not verify an answer from them."


def withheld_draft(answer) -> str:
    """When verification turned a drafted answer into the refusal: each sentence of the draft
    and why it was not shown."""
    if not answer.sentences:
        return ""
    rows = []
    for s in answer.sentences:
        if s.supported:
            why = "found in the passages, but they do not answer this question"
        elif s.missing:
            why = "not in the passages: " + ", ".join(s.missing)
        else:
            why = "not supported by the passages it cites"
        rows.append(f"<li>“{html.escape(s.text)}” ({html.escape(why)})</li>")
    return (f'<details class="rag-draft"><summary>The model\'s draft, withheld</summary>'
            f'<ul>{"".join(rows)}</ul></details>')


def timing_html(answer) -> str:
    t = answer.timings
    first = f" · first words {t.first_token_s:.1f} s" if t.first_token_s is not None else ""
    searched = (f'<p class="rag-hint">Searched for: “{html.escape(answer.query)}”</p>'
                if answer.query and answer.query.strip() != answer.question.strip() else "")
    return (f'{searched}<p class="rag-timing">Search {t.read_s:.1f} s{first} · '
            f'whole answer {t.total_s:.1f} s</p>')


def found_html(i: int, turn: dict, titles=None) -> str:
    """The Sources panel while an answer is written: the passages found, before the answer."""
    passages = turn.get("passages")
    if passages is None:
        return '<div class="rag-sources"><p class="rag-hint">Searching your documents…</p></div>'
    searched = (f'<p class="rag-hint">Searched for: “{html.escape(turn["query"])}”</p>'
                if turn.get("query") and turn["query"].strip() != turn["question"].strip() else "")
    later = ("The answer was not completed." if turn.get("shown")
             else "Each is marked cited or not when the answer is complete.")
    return (f'<div class="rag-sources rag-found"><h3>Sources</h3><p class="rag-hint">Found '
            f'{len(passages)} passage{"" if len(passages) == 1 else "s"} in {turn["read_s"]:.1f} s. '
            f'{later}</p>{searched}{plain_passages(i, passages, titles)}</div>')


def sources_html(turns: list[dict], titles=None) -> str:
    """The Sources panel: the latest answer in full (or what was found while it is written),
    earlier answers collapsed."""
    last = turns[-1] if turns else {}
    if last and last.get("answer") is None and (not last.get("shown") or last.get("passages") is not None):
        return found_html(len(turns), last, titles)  # still being written, or stopped
    answered = [(i, t) for i, t in enumerate(turns, start=1) if t.get("answer") is not None]
    if not answered:
        return NO_SOURCES
    (last_i, last), earlier = answered[-1], answered[:-1]
    out = ['<div class="rag-sources rag-done"><h3>Sources</h3>', answer_sources(last_i, last["answer"], titles),
           timing_html(last["answer"])]
    for i, t in reversed(earlier):
        out.append(f"<details><summary>Earlier: {html.escape(t['question'])}</summary>"
                   f"{answer_sources(i, t['answer'], titles)}</details>")
    out.append("</div>")
    return "".join(out)


def stage_html(turn: dict) -> str:
    label = STAGES[turn["stage"]].format(passages=turn.get("reading", 0), words=turn.get("words", 0))
    elapsed = time.perf_counter() - turn["t0"]
    return (f'<p class="rag-stage">{html.escape(label)}… '
            f'<span class="rag-elapsed" data-s="{elapsed:.1f}">{elapsed:.1f} s</span></p>')


def bubble(i: int, turn: dict, titles=None) -> str:
    """The assistant's message of one turn: the final answer, an error or a stopped answer, or
    the checked text so far and the stage."""
    if turn.get("shown"):
        return turn["shown"]
    answer = turn.get("answer")
    if answer is not None:
        text = linkify(answer.text, i, answer.passages, weak_citations(answer), titles)
        if turn.get("corrected"):
            text += ('\n\n<span class="rag-stage">The final check changed the answer shown while it was '
                     'written; this is the checked answer.</span>')
        return text
    text = linkify(turn["text"], i, turn.get("passages") or (), titles=titles)
    return (text + "\n\n" if text else "") + stage_html(turn)


def chat_messages(turns: list[dict], titles=None) -> list[dict]:
    messages = []
    for i, t in enumerate(turns, start=1):
        messages.append({"role": "user", "content": html.escape(t["question"], quote=False)})
        messages.append({"role": "assistant", "content": bubble(i, t, titles)})
    return messages


def example_questions(files, limit: int = 3) -> list[str]:
    """Questions to start with, about the names the documents' titles mention most (a capitalised
    word that is not the first of its title, "DeepSeek", "Microsoft")."""
    counts: dict[str, int] = {}
    for f in files:
        for word in (f.title or "").split()[1:]:
            name = re.sub(r"[’']s$", "", word.strip(".,;:!?()“”\"'…"))
            if (name[:1].isupper() and re.search(r"[a-z]", name[1:]) and not re.fullmatch(r"[A-Z]+s", name)
                    and name.lower() not in STOPWORDS):
                counts[name] = counts.get(name, 0) + 1
    names = sorted(counts, key=lambda n: -counts[n])[:limit]
    return [f"What do my documents say about {n}?" for n in names]


def empty_chat(files) -> str:
    """What an empty chat shows: how it works and the documents it answers from."""
    if not files:
        return ("**No documents yet.** Add some in the Documents tab, then ask about them here. "
                "Answers come only from your documents, with numbered sources.")
    shown = files[:8]
    rows = "\n".join(f"- {html.escape(f.title or f.name)}" + (f" · `{f.name}`" if f.title else "")
                     for f in shown)
    more = f"\n- … and {len(files) - len(shown)} more (Documents tab)" if len(files) > len(shown) else ""
    return (f"**Ask a question about your documents.** Answers come only from them, with numbered "
            f"sources; each sentence is checked against its passage before it is shown.\n\n"
            f"Your documents ({len(files)}):\n{rows}{more}")
