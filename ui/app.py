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
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.followup import HISTORY_TURNS  # noqa: E402
from rag.ingest import file_sha256  # noqa: E402
from rag.loaders import SUPPORTED  # noqa: E402
from rag.pipeline import Turn  # noqa: E402
from rag.streaming import Correction, Progress  # noqa: E402
from rag.types import Answer  # noqa: E402

from .render import NO_SOURCES, chat_messages, count, empty_chat, example_questions, linkify, sources_html  # noqa: E402

TICK_S = 0.5  # while the model writes, the chat is redrawn at most this often (stage and word count)
CHAT_HEIGHT = "calc(100dvh - 290px)"

# (on a phone the documents table shows the title, the file and the remove mark, not the passage count and
# date; no comments inside CSS: Gradio scopes each selector to the app and a comment breaks that)
CSS = """
.rag-sources { font-size: 0.95em; line-height: 1.45; }
.rag-sources h3 { margin: 0 0 0.4em; }
.rag-source { border-left: 3px solid #6366f1; padding: 0.35em 0.7em; margin: 0.6em 0; scroll-margin: 80px; }
.rag-source.rag-uncited { border-left-color: #9ca3af; opacity: 0.8; }
.rag-source.rag-flash { outline: 2px solid #f59e0b; }
.rag-head { font-weight: 600; overflow-wrap: anywhere; }
.rag-where, .rag-file { font-weight: normal; opacity: 0.7; }
.rag-passage { white-space: pre-wrap; margin: 0.3em 0; overflow-wrap: anywhere; }
.rag-support { text-decoration: underline dotted #b45309; text-underline-offset: 3px; }
.rag-passage mark { background: #fde68a; color: #111; padding: 0 0.1em; }
.rag-badge { font-size: 0.75em; font-weight: 600; border-radius: 4px; padding: 0 0.4em; margin-left: 0.4em;
             background: #e5e7eb; color: #374151; }
.rag-badge.rag-cited { background: #c7d2fe; color: #1e1b4b; }
.rag-badge.rag-weak { background: #fed7aa; color: #7c2d12; }
.rag-for { opacity: 0.75; font-style: italic; }
.rag-warn { color: #b45309; }
.rag-error { color: #b91c1c; font-weight: 600; }
.rag-error strong { color: inherit; }
.rag-error-block { background: #fef2f2; border: 1px solid #fecaca; border-left: 4px solid #b91c1c;
                   border-radius: 6px; padding: 0.5em 0.8em; }
.rag-refused { font-weight: 600; }
.rag-timing { font-size: 0.85em; opacity: 0.6; }
.rag-stage { font-size: 0.85em; opacity: 0.7; font-style: italic; margin: 0.2em 0 0; }
.rag-sources details { margin: 0.6em 0; }
.rag-sources summary { cursor: pointer; }
a.rag-cite { text-decoration: none; font-weight: 600; }
a.rag-cite.rag-weak { text-decoration: underline wavy #ea580c; color: #9a3412; }
#rag-header { align-items: baseline; gap: 0.5em 1.5em; flex-wrap: wrap; }
#rag-header h1 { font-size: 1.25em; margin: 0; }
#rag-header > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }
#rag-input-row { flex-wrap: nowrap; align-items: stretch; }
#rag-sources-col { max-height: calc(100dvh - 130px); overflow-y: auto; flex-wrap: nowrap !important; }
#rag-sources-col > * { flex-shrink: 0; }
#rag-sources-toggle, #rag-sources-close { display: none; }
#rag-docs { overflow-x: auto; }
#rag-docs th { white-space: nowrap; }
@media (max-width: 720px) {
  #rag-sources-col { position: fixed; top: 0; right: 0; bottom: 0; width: min(92vw, 480px); max-height: none;
                     z-index: 1000; background: var(--background-fill-primary); padding: 0.8em;
                     box-shadow: -4px 0 16px rgba(0,0,0,0.25); transform: translateX(105%);
                     transition: transform 0.2s; }
  #rag-sources-col.rag-open { transform: none; }
  #rag-sources-toggle, #rag-sources-close { display: inline-flex; }
  #rag-docs { font-size: 0.8em; }
  #rag-docs th:nth-child(3), #rag-docs .body-cell:nth-child(3) { display: none; }
  #rag-docs th:nth-child(4), #rag-docs .body-cell:nth-child(4) { display: none; }
  #rag-header h1 { font-size: 1.05em; }
  #rag-status p, #rag-status code { font-size: 0.78rem; }
  #rag-chat { height: calc(100dvh - 330px) !important; }
}
"""

# A click on an [n] in the chat scrolls the Sources panel to that passage (opening any collapsed
# section around it, and on a phone the Sources drawer; the page's CSS is scoped to the app, so
# the drawer's state is a class of its own element) instead of following the link. A stage's
# elapsed time counts up in the page between updates from the server.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  const link = event.target.closest && event.target.closest("a.rag-cite");
  if (!link) return;
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  const drawer = document.getElementById("rag-sources-col");
  if (drawer) drawer.classList.add("rag-open");
  for (let el = target.parentElement; el; el = el.parentElement) {
    if (el.tagName === "DETAILS") el.open = true;
  }
  target.scrollIntoView({behavior: "smooth", block: "center"});
  target.classList.add("rag-flash");
  setTimeout(function () { target.classList.remove("rag-flash"); }, 1600);
}, true);
setInterval(function () {
  document.querySelectorAll(".rag-elapsed[data-s]").forEach(function (el) {
    if (el.ragSince === undefined) el.ragSince = performance.now() - parseFloat(el.dataset.s) * 1000;
    el.textContent = ((performance.now() - el.ragSince) / 1000).toFixed(1) + " s";
  });
}, 200);
</script>
"""
TOGGLE_SOURCES = "() => { document.getElementById('rag-sources-col').classList.toggle('rag-open'); }"


REMOVE = "✕"  # the cell of the Remove column in each row of the documents table


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
        """Streams (chat messages, sources HTML, turns, textbox value) as the answer is found,
        written and checked."""
        question = (message or "").strip()
        titles = self.titles()
        if not question:
            yield chat_messages(turns, titles), sources_html(turns, titles), turns, ""
            return
        # one turn: the question, the checked text so far, the stage, the passages found (once the
        # search ends), the final Answer, and "shown" (HTML that replaces the text in the chat: an
        # error, or a stopped answer)
        turn = {"question": question, "text": "", "answer": None, "stage": "searching", "t0": time.perf_counter(),
                "passages": None}
        history = history_of(turns)
        turns = [*turns, turn]
        yield chat_messages(turns, titles), sources_html(turns, titles), turns, ""
        events = self.bot.events(question, history=history, k=int(k) if k else None)
        drawn = time.perf_counter()
        try:
            for event in events:
                sources = gr.skip()
                if isinstance(event, Progress):
                    moved = event.stage != turn["stage"]
                    turn["stage"] = event.stage
                    turn["reading"] = event.passages or turn.get("reading", 0)
                    turn["words"] = event.words
                    if not moved and time.perf_counter() - drawn < TICK_S:
                        continue
                elif isinstance(event, Turn):
                    turn.update(passages=event.passages, query=event.query, read_s=event.read_s)
                    sources = sources_html(turns, titles)
                elif isinstance(event, str):
                    turn["text"] += event
                elif isinstance(event, Correction):
                    turn["text"], turn["corrected"] = event.text, True
                elif isinstance(event, Answer):
                    turn["text"], turn["answer"] = event.text, event
                    continue
                drawn = time.perf_counter()
                yield chat_messages(turns, titles), sources, turns, gr.skip()
        except Exception as e:  # noqa: BLE001 - the chat says what went wrong, in plain words
            turn["shown"] = error_block(failure_message(e, "answering"))
        finally:
            events.close()
        yield chat_messages(turns, titles), sources_html(turns, titles), turns, ""

    @staticmethod
    def use_example(evt: gr.SelectData) -> str:
        """An example question clicked on the empty chat: it goes into the question box, then is asked."""
        return evt.value["text"]

    def stopped(self, turns: list[dict]):
        """After Stop: the checked part of the answer stays, marked as stopped. Returns (messages, sources, turns)."""
        last = turns[-1] if turns else {}
        if last and last.get("answer") is None and not last.get("shown"):
            text = linkify(last["text"].rstrip(), len(turns), last.get("passages") or ())
            shown = (text + " *(stopped)*") if text else "*(stopped before a checked sentence was ready)*"
            turns = [*turns[:-1], {**last, "shown": shown}]
        titles = self.titles()
        return chat_messages(turns, titles), sources_html(turns, titles), turns

    def new_chat(self):
        return [], NO_SOURCES, [], ""

    # documents
    def titles(self) -> dict[str, str]:
        """source -> title, of the documents that have one."""
        return {f.source: f.title for f in self.bot.documents() if f.title}

    def documents_table(self) -> list[list]:
        return [[f.title or f.name, f.name, f.chunks, f.added[:10], REMOVE] for f in self.bot.documents()]

    def pick_to_remove(self, evt: gr.SelectData):
        """A click in the Remove column of the documents table: ask to confirm.
        Returns (the document's source or None, confirmation text, confirmation row)."""
        row, column = evt.index
        files = self.bot.documents()
        if column != 4 or row >= len(files):
            return None, "", gr.update(visible=False)
        f = files[row]
        if list(evt.row_value or [])[1:2] != [f.name]:
            return None, f"The list of documents changed; click {REMOVE} again.", gr.update(visible=True)
        label = f"**{html.escape(f.title or f.name)}**" + (f" ({html.escape(f.name)})" if f.title else "")
        return f.source, f"Remove {label} from the index?", gr.update(visible=True)

    def cancel_remove(self):
        return None, "", gr.update(visible=False)

    def status_line(self) -> str:
        s = self.bot.status()
        docs = (f"{count(s['documents'], 'document')} · {count(s['chunks'], 'passage')}" if s["documents"]
                else "**No documents yet**: add some in the Documents tab")
        return f"{docs} · model `{s['model']}`"

    def refresh(self):
        """(table, status line, empty-chat text and examples) as they are now."""
        files = self.bot.documents()
        chat = gr.update(placeholder=empty_chat(files),
                         examples=[{"text": q} for q in example_questions(files)] or None)
        return self.documents_table(), self.status_line(), chat

    def upload(self, files):
        """Copy uploaded files into the uploads folder (settings.uploads_dir) and index them from there.
        Yields (message, table, status line, empty chat, file input): while indexing, the file being
        read or embedded; at the end, what became of each file."""
        paths = [upload_path(f) for f in (files or [])]
        if not paths:
            yield ("Choose one or more files first.", *self.refresh(), None)
            return
        lines, stored = [], {}  # lines: per upload, its destination or the error; stored: destination -> previous bytes
        try:
            for path in paths:
                problem = self._check_upload(path)
                if problem:
                    lines.append(error(f"**{html.escape(path.name)}** was not added: {problem}."))
                    continue
                dest = self._destination(path.name)
                if dest not in stored:
                    lines.append(dest)
                stored.setdefault(dest, dest.read_bytes() if dest.exists() else None)
                shutil.copyfile(path, dest)
        except Exception as e:  # noqa: BLE001 - the message says what went wrong, in plain words
            lines.append(error(html.escape(failure_message(e, "storing the upload"))))
        finally:
            for path in paths:
                forget_gradio_copy(path)
        report, failed = None, ""
        if stored:
            yield (f"Indexing {len(stored)} file{'' if len(stored) == 1 else 's'}…", *[gr.skip()] * 4)
            try:
                for step in self._indexing(list(stored), result := {}):
                    yield (indexing_line(step), *[gr.skip()] * 4)
                report = result["report"]
            except Exception as e:  # noqa: BLE001
                failed = error_block(failure_message(e, "indexing"))
        indexed = {f.source: f for f in self.bot.documents()}
        message = upload_message([upload_outcome(x, report, indexed) if isinstance(x, Path) else x
                                  for x in lines], failed)
        for dest, previous in stored.items():
            if not is_indexed(dest, indexed):
                self._restore(dest, previous)
        yield (message, *self.refresh(), None)

    def _indexing(self, paths: list[Path], result: dict):
        """Index the files in a thread; yields its FileProgress steps (at most one every TICK_S),
        then puts the IngestReport in result["report"], or raises what the ingest raised."""
        import queue
        import threading
        steps: queue.Queue = queue.Queue()

        end = object()

        def work():
            try:
                result["report"] = self.bot.ingest(paths, progress=steps.put, warn=lambda msg: None)
            except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
                result["error"] = e
            finally:
                steps.put(end)
        threading.Thread(target=work, daemon=True, name="upload-ingest").start()
        latest, shown, drawn = None, None, 0.0
        while True:
            try:
                step = steps.get(timeout=TICK_S)
            except queue.Empty:
                step = latest  # nothing new: the latest step, if it is not shown yet
            if step is end:
                break
            latest = step
            if latest is not None and latest is not shown and time.perf_counter() - drawn >= TICK_S:
                shown, drawn = latest, time.perf_counter()
                yield latest
        if "error" in result:
            raise result["error"]

    def remove(self, source: str | None):
        """Remove one document from the index (and its uploaded copy, if it is one).
        Returns (message, table, status line, empty chat, confirmation row)."""
        hide = gr.update(visible=False)
        if not source:
            return (f"Click {REMOVE} in the row of the document to remove.", *self.refresh(), hide)
        name = html.escape(Path(source).name)
        if not self.bot.remove(source):
            return (error(f"**{name}** is not in the index."), *self.refresh(), hide)
        upload = Path(source).resolve()
        if upload.parent == self._data_dir() and upload.is_file():
            upload.unlink()
        return (f"Removed **{name}** from the index.", *self.refresh(), hide)

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
    def _restore(dest: Path, previous: bytes | None) -> None:
        """Put back what the uploads folder held before (nothing, or the indexed version)."""
        if previous is None:
            dest.unlink(missing_ok=True)
        else:
            dest.write_bytes(previous)

    # layout
    def page_kwargs(self) -> dict:
        """Page-level options, for gr.mount_gradio_app or Blocks.launch."""
        return dict(css=CSS, head=HEAD, theme=theme(), footer_links=["api", "settings"],
                    max_file_size=f"{self.bot.settings.max_upload_mb}mb")

    def create_app(self) -> gr.Blocks:
        s = self.bot.settings
        files_now = self.bot.documents()
        with gr.Blocks(title="Ask your documents", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
            self.received = app.upload_file_set
            turns = gr.State([])
            doomed = gr.State(None)
            with gr.Row(elem_id="rag-header"):
                gr.HTML("<h1>Ask your documents</h1>", elem_id="rag-title")
                status = gr.Markdown(self.status_line(), elem_id="rag-status")
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False, elem_id="rag-main"):
                    with gr.Column(scale=3, elem_id="rag-chat-col"):
                        chatbot = gr.Chatbot(show_label=False, height=CHAT_HEIGHT, min_height=260, elem_id="rag-chat",
                                             buttons=["copy"], placeholder=empty_chat(files_now),
                                             examples=[{"text": q} for q in example_questions(files_now)] or None,
                                             feedback_options=None)
                        with gr.Row(elem_id="rag-input-row"):
                            question = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False,
                                                  elem_id="rag-question", autofocus=True, scale=6, min_width=120,
                                                  container=False)
                            send = gr.Button("Ask", variant="primary", elem_id="rag-ask", scale=0, min_width=72)
                            stop = gr.Button("Stop", variant="secondary", elem_id="rag-stop", scale=0, min_width=72,
                                             visible=False)
                        with gr.Row(elem_id="rag-tools"):
                            new = gr.Button("New chat", elem_id="rag-new", size="sm", scale=0, min_width=90)
                            toggle = gr.Button("Sources", elem_id="rag-sources-toggle", size="sm", scale=0,
                                               min_width=90)
                        with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                            k = gr.Slider(1, 12, value=s.top_k, step=1, label="Passages per question",
                                          info="How many passages the model reads before answering")
                    with gr.Column(scale=2, elem_id="rag-sources-col"):
                        close = gr.Button("Close", elem_id="rag-sources-close", size="sm")
                        sources = gr.HTML(NO_SOURCES, elem_id="rag-sources", js_on_load=None)
            with gr.Tab("Documents", id="documents"):
                gr.Markdown(f"Add {', '.join(SUPPORTED)} files (up to {s.max_upload_mb} MB each). "
                            f"They are copied to `{s.uploads_dir}` and indexed in `{s.index_dir}`. "
                            f"To remove a document, click {REMOVE} in its row.")
                files = gr.File(label="Add documents", file_count="multiple", file_types=list(SUPPORTED),
                                elem_id="rag-upload")
                message = gr.Markdown(elem_id="rag-upload-message")
                with gr.Row(visible=False, elem_id="rag-confirm") as confirm:
                    confirm_text = gr.Markdown(elem_id="rag-confirm-text")
                    remove = gr.Button("Remove", variant="stop", elem_id="rag-remove", scale=0, min_width=90)
                    cancel = gr.Button("Cancel", elem_id="rag-cancel", scale=0, min_width=90)
                table = gr.Dataframe(self.documents_table(), headers=["Title", "File", "Passages", "Added", ""],
                                     interactive=False, elem_id="rag-docs", wrap=True,
                                     column_widths=["28%", "24%", "12%", "18%", "18%"])

            def running():
                return gr.update(visible=False), gr.update(visible=True)

            def idle():
                return gr.update(visible=True), gr.update(visible=False)

            quiet = dict(queue=False, api_visibility="private")
            asked = gr.on([question.submit, send.click], running, None, [send, stop], **quiet)
            ask = asked.then(self.respond, [question, turns, k], [chatbot, sources, turns, question], api_name="chat")
            ask.then(idle, None, [send, stop], **quiet)
            picked = chatbot.example_select(self.use_example, None, question, **quiet)
            from_example = picked.then(running, None, [send, stop], **quiet).then(
                self.respond, [question, turns, k], [chatbot, sources, turns, question], api_visibility="private")
            from_example.then(idle, None, [send, stop], **quiet)
            everything = [ask, from_example]
            # the answer is cancelled first, then marked stopped: a piece of it still on its way to
            # the page cannot overwrite the mark
            stop.click(None, None, None, cancels=everything, **quiet).then(
                self.stopped, turns, [chatbot, sources, turns], api_visibility="private").then(
                idle, None, [send, stop], **quiet)
            chatbot.clear(self.new_chat, None, [chatbot, sources, turns, question], cancels=everything,
                          api_visibility="private").then(idle, None, [send, stop], **quiet)
            new.click(self.new_chat, None, [chatbot, sources, turns, question], cancels=everything,
                      api_visibility="private").then(idle, None, [send, stop], **quiet)
            toggle.click(None, js=TOGGLE_SOURCES)
            close.click(None, js=TOGGLE_SOURCES)
            files.upload(self.upload, files, [message, table, status, chatbot, files], api_visibility="private",
                         preprocess=False)
            table.select(self.pick_to_remove, None, [doomed, confirm_text, confirm], api_visibility="private")
            cancel.click(self.cancel_remove, None, [doomed, confirm_text, confirm], **quiet)
            remove.click(self.remove, doomed, [message, table, status, chatbot, confirm],
                         api_visibility="private").then(lambda: None, None, doomed, **quiet)
            app.load(self.refresh, None, [table, status, chatbot], api_visibility="private")
        return app

    def launch(self, **kwargs):
        s = self.bot.settings
        options = dict(server_name=s.host, server_port=s.port, **self.page_kwargs())
        options.update(kwargs)
        return self.create_app().launch(**options)


def error_block(message: str) -> str:
    """An error in the chat: a block of its own, not text of the answer."""
    return f'<div class="rag-error rag-error-block" role="alert">⚠️ {html.escape(message, quote=False)}</div>'


def error(line: str) -> str:
    """A line of a message that reports a failure, styled as an error."""
    return f'<span class="rag-error">{line}</span>'


CLASS_NAME = r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Timeout|File|Interrupt)"


def plain_words(message: str) -> str:
    """A message without the exception class names and error numbers it quotes ("not a readable
    PDF (PdfReadError: EOF marker not found)" -> "not a readable PDF (EOF marker not found)",
    "the index is damaged (JSONDecodeError)." -> "the index is damaged.")."""
    text = re.sub(rf"\s*\({CLASS_NAME}\)", "", message)
    text = re.sub(rf"(^|\(|: ){CLASS_NAME}: ?", r"\1", text)
    text = re.sub(r"\[Errno -?\d+\] ?", "", text)
    return re.sub(r"\s*\(\s*\)", "", text).strip()


def failure_message(e: Exception, doing: str) -> str:
    """What a user is told of an exception: a RagError's own message, in plain words; of any
    other, what failed (the traceback goes to the server's log)."""
    if isinstance(e, RagError):
        return plain_words(str(e))
    import traceback
    traceback.print_exception(e)
    why = f" ({e.strerror.lower()})" if isinstance(e, OSError) and e.strerror else ""
    return f"Something went wrong while {doing}{why}. The server is still running; try again."


def indexing_line(step) -> str:
    """The upload message while a file is indexed: "Indexing 2 of 5: report.pdf (passages 120/400)"."""
    where = f"Indexing {step.number} of {step.files}: **{html.escape(Path(step.path).name)}**"
    if step.stage == "embedding":
        return f"{where} (passages {step.done}/{step.chunks})…"
    return f"{where} ({'already indexed' if step.stage == 'unchanged' else step.stage})…"


def is_indexed(dest: Path, indexed: dict) -> bool:
    """True when the index holds this very version of the file."""
    f = indexed.get(str(dest))
    try:
        return f is not None and f.sha256 == file_sha256(dest)
    except OSError:
        return False


def upload_outcome(dest: Path, report, indexed: dict) -> str:
    """What became of one uploaded file: added or updated (with its passages), unchanged, or not
    indexed and why."""
    name = f"**{html.escape(dest.name)}**"
    reasons = {str(Path(s.path).resolve()): s.reason for s in (report.skipped if report else ())}
    if str(dest) in reasons:
        return error(f"{name} was not indexed: {html.escape(plain_words(reasons[str(dest)]))}.")
    if not is_indexed(dest, indexed):
        return error(f"{name} was not indexed.")
    if report is not None and str(dest) in report.unchanged:
        return f"{name}: already indexed, unchanged."
    verb = "updated" if report is not None and str(dest) in report.updated else "added"
    return f"{name}: {verb}, {count(indexed[str(dest)].chunks, 'passage')}."


def upload_message(outcomes: list[str], failed: str = "") -> str:
    """The upload's outcome, file by file; when something failed, that nothing indexed was lost."""
    body = "\n".join(f"- {o}" for o in outcomes) if len(outcomes) > 1 else "".join(outcomes)
    parts = [p for p in (failed, body) if p]
    if failed or any("rag-error" in o for o in outcomes):
        parts.append("Nothing already indexed was lost.")
    return "\n\n".join(parts) or "Nothing to do."


def theme():
    """The default theme with system fonts: the page loads nothing from the internet."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


if __name__ == "__main__":
    import rag
    ChatUI(rag.Bot(rag.load_settings())).launch()
