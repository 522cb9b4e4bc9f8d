"""The browser chat: a Gradio app over one rag.Bot. It only calls the Bot's public methods
(stream, ingest, remove, documents, status); every callback is a plain method.

Imported by rag/server.py as ui.app. To run it alone:
    python -m ui.app            (same as `rag serve`, without the HTTP API)
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.chunking import all_sentences  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.loaders import SUPPORTED  # noqa: E402

HISTORY_TURNS = 2  # earlier question/answer pairs sent with a follow-up, as in `rag chat`
WAITING = "_Searching your documents…_"
# under a draft while it streams: verification may still cut sentences or withhold it
CHECKING = '\n\n<span class="rag-checking">Checking the answer against the passages…</span>'
NO_SOURCES = '<div class="rag-sources"><p class="rag-hint">Sources appear here after an answer.</p></div>'
PENDING_SOURCES = '<div class="rag-sources"><p class="rag-hint">Sources appear when the answer is complete.</p></div>'
MARKER = re.compile(r"\[(\d+)\]")
STOPWORDS = frozenset("""a an and are as at be by for from has have in is it its of on or that the
their there they this to was were which will with what when who how why""".split())

CSS = """
.rag-sources { font-size: 0.95em; line-height: 1.45; }
.rag-sources h3 { margin: 0 0 0.4em; }
.rag-source { border-left: 3px solid #6366f1; padding: 0.35em 0.7em; margin: 0.6em 0; scroll-margin: 80px; }
.rag-source.rag-flash { outline: 2px solid #f59e0b; }
.rag-head { font-weight: 600; }
.rag-where { font-weight: normal; opacity: 0.7; }
.rag-passage { white-space: pre-wrap; margin: 0.3em 0; }
.rag-passage mark { background: #fde68a; color: #111; padding: 0 0.1em; }
.rag-for { opacity: 0.75; font-style: italic; }
.rag-warn { color: #b45309; }
.rag-refused { font-weight: 600; }
.rag-timing { font-size: 0.85em; opacity: 0.6; }
.rag-checking { font-size: 0.85em; opacity: 0.6; font-style: italic; }
.rag-sources details { margin: 0.6em 0; }
.rag-sources summary { cursor: pointer; }
a.rag-cite { text-decoration: none; font-weight: 600; }
"""

# A click on an [n] in the chat scrolls the Sources panel to that passage (opening any
# collapsed section around it) instead of following the link.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  const link = event.target.closest && event.target.closest("a.rag-cite");
  if (!link) return;
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  for (let el = target.parentElement; el; el = el.parentElement) {
    if (el.tagName === "DETAILS") el.open = true;
  }
  target.scrollIntoView({behavior: "smooth", block: "center"});
  target.classList.add("rag-flash");
  setTimeout(function () { target.classList.remove("rag-flash"); }, 1600);
}, true);
</script>
"""


# ---------- pure helpers (no Bot, no Gradio) ----------
def words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2 and w not in STOPWORDS}


def highlight(passage: str, sentences: list[str]) -> str:
    """The passage as HTML, with <mark> around its sentences that best match each of the citing
    answer sentences by word overlap (the whole passage when none shares a word)."""
    spans = all_sentences(passage) or [(0, len(passage))]
    marked = set()
    for sentence in sentences:
        wanted = words(sentence)
        scores = [len(words(passage[s:e]) & wanted) for s, e in spans]
        best = max(scores)
        marked |= {i for i, score in enumerate(scores) if best and score >= max(1, 0.6 * best)}
    if not marked:
        return f"<mark>{html.escape(passage)}</mark>"
    out, cursor = [], 0
    for i, (s, e) in enumerate(spans):
        out.append(html.escape(passage[cursor:s]))
        piece = html.escape(passage[s:e])
        out.append(f"<mark>{piece}</mark>" if i in marked else piece)
        cursor = e
    out.append(html.escape(passage[cursor:]))
    return "".join(out)


def citing_sentences(text: str, n: int) -> list[str]:
    """The sentences of an answer that carry the marker [n], without their markers."""
    found = [text[s:e] for s, e in all_sentences(text) if f"[{n}]" in text[s:e]]
    return [MARKER.sub("", f).replace(" .", ".").strip() for f in found]


def count(n: int, noun: str) -> str:
    return f"**{n}** {noun}{'' if n == 1 else 's'}"


def anchor(turn: int, n: int) -> str:
    return f"rag-src-{turn}-{n}"


def linkify(text: str, turn: int) -> str:
    """Answer text for the chat: HTML-escaped, each [n] a link to its passage."""
    return MARKER.sub(lambda m: f'<a class="rag-cite" href="#{anchor(turn, int(m.group(1)))}">[{m.group(1)}]</a>',
                      html.escape(text, quote=False))


def position(page, start, end) -> str:
    where = f"p. {page}, " if page is not None else ""
    return f"{where}chars {start}-{end}"


def passage_html(turn: int, hit, body: str, note: str = "") -> str:
    c = hit.chunk
    return (f'<div class="rag-source" id="{anchor(turn, hit.rank)}">'
            f'<div class="rag-head">[{hit.rank}] {html.escape(c.name)} '
            f'<span class="rag-where">· {html.escape(position(c.page, c.start, c.end))}</span></div>'
            f'<div class="rag-passage">{body}</div>{note}</div>')


def plain_passages(turn: int, hits) -> str:
    return "".join(passage_html(turn, h, html.escape(h.chunk.text)) for h in hits)


def answer_sources(turn: int, answer) -> str:
    """The Sources of one Answer: cited passages with the cited span marked, then the rest collapsed."""
    notices = "".join(f'<p class="rag-warn">{html.escape(n)}</p>' for n in answer.notices)
    if answer.refused:
        closest = answer.passages
        more = (f"<details><summary>Closest passages ({len(closest)})</summary>"
                f"{plain_passages(turn, closest)}</details>") if closest else ""
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
        if getattr(c, "supported", None) is False:
            note += '<div class="rag-warn">This passage may not support the sentence.</div>'
        parts.append(passage_html(turn, hit, highlight(c.text, sentences), note))
    if not parts:
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
        parts.append(f"<details><summary>Also retrieved, not cited ({len(rest)})</summary>"
                     f"{plain_passages(turn, rest)}</details>")
    return "".join(parts)


def refusal_kind(answer) -> str:
    """Nothing relevant found, or passages found that did not verify an answer: not the same news."""
    if answer.refusal_reason in ("no-passages", "no-relevant-passages", "unknown-terms"):
        return "Nothing in your documents is about this."
    return "Found related passages, but could not verify an answer from them."


def withheld_draft(answer) -> str:
    """When verification turned a drafted answer into the refusal: each sentence of the draft
    and why it was not shown (the chat showed it while it streamed)."""
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
    return (f'{searched}<p class="rag-timing">Search {t.retrieve_s:.1f} s{first} · '
            f'whole answer {t.total_s:.1f} s</p>')


def sources_html(turns: list[dict]) -> str:
    """The Sources panel: the latest answer in full, earlier answers collapsed."""
    answered = [(i, t) for i, t in enumerate(turns, start=1) if t.get("answer") is not None]
    if not answered:
        return NO_SOURCES
    (last_i, last), earlier = answered[-1], answered[:-1]
    out = ['<div class="rag-sources"><h3>Sources</h3>', answer_sources(last_i, last["answer"]),
           timing_html(last["answer"])]
    for i, t in reversed(earlier):
        out.append(f"<details><summary>Earlier: {html.escape(t['question'])}</summary>"
                   f"{answer_sources(i, t['answer'])}</details>")
    out.append("</div>")
    return "".join(out)


def chat_messages(turns: list[dict]) -> list[dict]:
    messages = []
    for i, t in enumerate(turns, start=1):
        messages.append({"role": "user", "content": html.escape(t["question"], quote=False)})
        text = t.get("shown") or (linkify(t["text"], i) if t["text"] else WAITING)
        if t["text"] and t.get("answer") is None and not t.get("shown"):
            text += CHECKING
        messages.append({"role": "assistant", "content": text})
    return messages


def history_of(turns: list[dict]) -> list[tuple[str, str]]:
    done = [(t["question"], t["answer"].text) for t in turns if t.get("answer") is not None]
    return done[-HISTORY_TURNS:]


def safe_name(name: str) -> str:
    """A file name safe to create inside the uploads folder (no folders, no odd characters)."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^\w\- ]+", "_", stem).strip(" ._")[:100] or "upload"
    suffix = re.sub(r"[^\w.]+", "", suffix.lower())[:10]
    return stem + suffix


def upload_path(item) -> Path:
    """The server-side path an upload event names: a path, a FileData dict, or a file object."""
    if isinstance(item, dict):
        return Path(str(item.get("path") or ""))
    return Path(item if isinstance(item, (str, os.PathLike)) else getattr(item, "path", None) or item.name)


def forget_gradio_copy(path: Path) -> None:
    """Delete Gradio's temporary copy of an upload (the kept copy is the one in the uploads folder)."""
    cache = Path(gr.utils.get_upload_folder()).resolve()
    path = path.resolve()
    if path.is_relative_to(cache) and path.is_file():
        path.unlink()
        if path.parent != cache and not any(path.parent.iterdir()):
            path.parent.rmdir()


# ---------- the app ----------
class ChatUI:
    """Callbacks and layout of the browser chat over one Bot."""

    def __init__(self, bot):
        self.bot = bot
        # paths of the files this server received through Gradio's upload route (Blocks.upload_file_set)
        self.received: set[str] = set()

    # chat
    def respond(self, message: str, turns: list[dict], k: float | None = None):
        """Streams (chat messages, sources HTML, turns, textbox value) as the answer is written."""
        question = (message or "").strip()
        if not question:
            yield chat_messages(turns), sources_html(turns), turns, ""
            return
        # one turn: the question, the text so far, the final Answer, and "shown" (HTML that
        # replaces the text in the chat: an error, or a stopped answer)
        turn = {"question": question, "text": "", "answer": None}
        history = history_of(turns)
        turns = [*turns, turn]
        yield chat_messages(turns), PENDING_SOURCES, turns, ""
        stream = self.bot.stream(question, history=history, k=int(k) if k else None)
        try:
            for part in stream:
                if isinstance(part, str):
                    turn["text"] += part
                    yield chat_messages(turns), gr.skip(), turns, gr.skip()
                else:
                    turn["text"], turn["answer"] = part.text, part
        except RagError as e:
            turn["shown"] = f"⚠️ {html.escape(str(e), quote=False)}"
        finally:
            stream.close()
        yield chat_messages(turns), sources_html(turns), turns, ""

    def stopped(self, turns: list[dict]):
        """After Stop: the unfinished answer stays, marked as stopped. Returns (messages, sources, turns)."""
        last = turns[-1] if turns else {}
        if last and last.get("answer") is None and not last.get("shown"):
            shown = linkify(last["text"].rstrip(), len(turns)) + " *(stopped)*"
            turns = [*turns[:-1], {**last, "shown": shown}]
        return chat_messages(turns), sources_html(turns), turns

    def new_chat(self):
        return [], NO_SOURCES, [], ""

    # documents
    def documents_table(self) -> list[list]:
        return [[Path(f.source).name, f.chunks, f.added.replace("T", " ")[:16]] for f in self.bot.documents()]

    def document_choices(self) -> list[tuple[str, str]]:
        files = [f.source for f in self.bot.documents()]
        names = [Path(s).name for s in files]
        return [(name if names.count(name) == 1 else source, source) for name, source in zip(names, files)]

    def status_line(self) -> str:
        s = self.bot.status()
        docs = (f"{count(s['documents'], 'document')} · {count(s['chunks'], 'passage')}" if s["documents"]
                else "**No documents yet**: add some in the Documents tab")
        return f"{docs} · model `{s['model']}` · index `{s['index']}`"

    def refresh(self):
        """(table, remove dropdown, status line) as they are now."""
        return (self.documents_table(), gr.update(choices=self.document_choices(), value=None),
                self.status_line())

    def upload(self, files, progress=gr.Progress(track_tqdm=True)):
        """Copy uploaded files into the uploads folder (settings.uploads_dir) and index them from there.
        Returns (message, table, remove dropdown, status line, cleared file input)."""
        paths = [upload_path(f) for f in (files or [])]
        if not paths:
            return ("Choose one or more files first.", *self.refresh(), None)
        progress(0, desc="Copying files")
        problems, stored = [], {}  # stored: destination -> previous bytes (None if new)
        for path in paths:
            problem = self._check_upload(path)
            if problem:
                problems.append(f"**{html.escape(path.name)}** was not added: {problem}.")
                continue
            dest = self._destination(path.name)
            stored.setdefault(dest, dest.read_bytes() if dest.exists() else None)
            shutil.copyfile(path, dest)
        for path in paths:
            forget_gradio_copy(path)
        report = None
        if stored:
            progress(0.1, desc="Indexing")
            report = self.bot.ingest(list(stored), progress=True, warn=lambda msg: None)
            for skipped in report.skipped:
                problems.append(f"**{html.escape(Path(skipped.path).name)}** was not indexed: "
                                f"{html.escape(skipped.reason)}.")
                self._restore(Path(skipped.path), stored)
        progress(1, desc="Done")
        return (self._upload_message(report, problems), *self.refresh(), None)

    def remove(self, source: str | None):
        """Remove one document from the index (and its uploaded copy, if it is one).
        Returns (message, table, remove dropdown, status line)."""
        if not source:
            return ("Choose a document to remove.", *self.refresh())
        name = html.escape(Path(source).name)
        if not self.bot.remove(source):
            return (f"**{name}** is not in the index.", *self.refresh())
        upload = Path(source).resolve()
        if upload.parent == self._data_dir() and upload.is_file():
            upload.unlink()
        return (f"Removed **{name}** from the index.", *self.refresh())

    def _data_dir(self) -> Path:
        folder = Path(self.bot.settings.uploads_dir).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _destination(self, name: str) -> Path:
        folder = self._data_dir()
        dest = (folder / safe_name(name)).resolve()
        if dest.parent != folder:
            raise RagError(f"Refusing to store an upload outside {folder}")
        return dest

    def _check_upload(self, path: Path) -> str | None:
        limit = self.bot.settings.max_upload_mb
        if not self._received(path):
            return "it was not received as an upload"
        if path.suffix.lower() not in SUPPORTED:
            return f"unsupported file type (use {' '.join(SUPPORTED)})"
        if not path.is_file():
            return "the upload did not arrive"
        if path.stat().st_size > limit * 1024 * 1024:
            return f"larger than the {limit} MB limit"
        return None

    def _received(self, path: Path) -> bool:
        """True only for a file this server received in an upload. The upload event names its files
        by server-side path, so a crafted call could name any file on the server; the event runs
        without Gradio's preprocessing (which would copy such a file into its cache first), and a path
        counts only if the upload route recorded it and it is a regular file in the upload folder."""
        cache = Path(gr.utils.get_upload_folder()).resolve()
        try:
            return (str(path) in self.received and not path.is_symlink() and path.is_file()
                    and path.resolve().is_relative_to(cache))
        except OSError:
            return False

    @staticmethod
    def _restore(dest: Path, stored: dict) -> None:
        previous = stored.get(dest.resolve())
        if previous is None:
            dest.unlink(missing_ok=True)
        else:
            dest.write_bytes(previous)

    @staticmethod
    def _upload_message(report, problems: list[str]) -> str:
        lines = []
        if report is not None:
            for label, paths in (("Added", report.added), ("Updated", report.updated),
                                 ("Already indexed, unchanged", report.unchanged)):
                if paths:
                    names = ", ".join(f"**{html.escape(Path(p).name)}**" for p in paths)
                    lines.append(f"{label}: {names}.")
            if report.added or report.updated:
                lines.append(f"{count(report.chunks, 'passage')} indexed.")
        lines += problems
        if problems:
            lines.append("Nothing already indexed was lost.")
        return "\n\n".join(lines) or "Nothing to do."

    # layout
    def page_kwargs(self) -> dict:
        """Page-level options, for gr.mount_gradio_app or Blocks.launch."""
        return dict(css=CSS, head=HEAD, theme=theme(), footer_links=["api", "settings"],
                    max_file_size=f"{self.bot.settings.max_upload_mb}mb")

    def create_app(self) -> gr.Blocks:
        s = self.bot.settings
        with gr.Blocks(title="Ask your documents", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
            self.received = app.upload_file_set
            turns = gr.State([])
            gr.Markdown("## Ask your documents\nAnswers come only from your indexed documents, with "
                        "numbered sources. Everything runs on this computer.")
            status = gr.Markdown(self.status_line(), elem_id="rag-status")
            with gr.Tab("Chat", id="chat"):
                k = gr.Slider(1, 12, value=s.top_k, step=1, label="Passages per question",
                              info="How many passages the model reads before answering")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Chat", height=400, elem_id="rag-chat", buttons=["copy"],
                                             placeholder="Ask a question about your documents.",
                                             feedback_options=None)
                        question = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False,
                                              elem_id="rag-question", autofocus=True)
                        with gr.Row():
                            send = gr.Button("Ask", variant="primary", elem_id="rag-ask")
                            stop = gr.Button("Stop", variant="secondary", elem_id="rag-stop")
                            new = gr.Button("New chat", elem_id="rag-new")
                    with gr.Column(scale=2):
                        sources = gr.HTML(NO_SOURCES, elem_id="rag-sources", max_height=640, js_on_load=None)
            with gr.Tab("Documents", id="documents"):
                gr.Markdown(f"Add {', '.join(SUPPORTED)} files (up to {s.max_upload_mb} MB each). "
                            f"They are copied to `{s.uploads_dir}` and indexed there.")
                files = gr.File(label="Add documents", file_count="multiple", file_types=list(SUPPORTED),
                                elem_id="rag-upload")
                message = gr.Markdown(elem_id="rag-upload-message")
                table = gr.Dataframe(self.documents_table(), headers=["Document", "Passages", "Added (UTC)"],
                                     interactive=False, elem_id="rag-docs", wrap=True)
                with gr.Row():
                    doomed = gr.Dropdown(self.document_choices(), value=None, label="Remove a document",
                                         elem_id="rag-remove-choice", scale=3)
                    remove = gr.Button("Remove", variant="stop", elem_id="rag-remove", scale=1)

            ask = gr.on([question.submit, send.click], self.respond, [question, turns, k],
                        [chatbot, sources, turns, question], api_name="chat")
            stop.click(self.stopped, turns, [chatbot, sources, turns], cancels=[ask], api_visibility="private")
            chatbot.clear(self.new_chat, None, [chatbot, sources, turns, question], cancels=[ask],
                          api_visibility="private")
            new.click(self.new_chat, None, [chatbot, sources, turns, question], cancels=[ask],
                      api_visibility="private")
            files.upload(self.upload, files, [message, table, doomed, status, files], api_visibility="private",
                         preprocess=False)
            remove.click(self.remove, doomed, [message, table, doomed, status], api_visibility="private")
            app.load(self.refresh, None, [table, doomed, status], api_visibility="private")
        return app

    def launch(self, **kwargs):
        s = self.bot.settings
        options = dict(server_name=s.host, server_port=s.port, **self.page_kwargs())
        options.update(kwargs)
        return self.create_app().launch(**options)


def theme():
    """The default theme with system fonts: the page loads nothing from the internet."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


if __name__ == "__main__":
    import rag
    ChatUI(rag.Bot(rag.load_settings())).launch()
