"""The browser chat in a real browser (Debian's Chromium through Playwright), over the real
embedder and index of ../shared/corpus. One test uses the real SmolLM2 model; the others use a
scripted model that quotes passage [1], so what the page shows can be checked exactly.
Screenshots go to tests/artifacts/."""

import re
import shutil
import time
from pathlib import Path

import pytest

import rag
from live_server import LiveServer
from rag.server import build_app

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "#rag-question textarea"
LAST_ANSWER = "#rag-chat .message.bot >> nth=-1"


class QuotingGenerator:
    """A stand-in model: answers with the first sentence of passage [1] of the prompt, cited as
    [1], word by word and a little slowly so streaming shows. Relies on the prompt listing the
    passages after its last "Passages:" line (before it comes a worked example), numbered as
    "[1] (file name)" followed by the passage text."""

    id = "quoting"

    def __init__(self, delay: float = 0.03):
        self.delay = delay

    def reply(self, messages) -> str:
        prompt = messages[-1]["content"].rsplit("\nPassages:\n", 1)[-1]
        if "[1] (" not in prompt:
            return ""  # a side call, such as rewriting a follow-up question
        passage = prompt.split("[1] (", 1)[1].split("\n", 1)[1].strip()
        first = re.split(r"(?<=[.!?])\s", passage, maxsplit=1)[0]
        return " ".join(first.split()[:40]).rstrip(".") + " [1]."

    def stream(self, messages, max_tokens=384, temperature=0.0):
        for piece in re.findall(r"\S+\s*", self.reply(messages)):
            time.sleep(self.delay)
            yield piece


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def real_url(real_bot):
    with LiveServer(build_app(real_bot)) as url:
        yield url


@pytest.fixture(scope="module")
def served_url(served_bot):
    with LiveServer(build_app(served_bot)) as url:
        yield url


@pytest.fixture(scope="module")
def quoting_bot(real_bot, real_settings, tmp_path_factory):
    """The real embedder and a copy of the real index, with the quoting model."""
    where = tmp_path_factory.mktemp("quoting")
    shutil.copytree(real_settings.index_dir, where / "index")
    settings = real_settings.replace(index_dir=str(where / "index"), data_dir=str(where / "uploads"))
    return rag.Bot(settings, embedder=real_bot.embedder, generator=QuotingGenerator())


@pytest.fixture(scope="module")
def quoting_url(quoting_bot):
    with LiveServer(build_app(quoting_bot)) as url:
        yield url


def gradio_upload_folder() -> str:
    from gradio.utils import get_upload_folder
    return get_upload_folder()


def open_chat(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(QUESTION)
    return page


def ask(page, question: str) -> None:
    page.fill(QUESTION, question)
    page.press(QUESTION, "Enter")


def wait_for_sources(page, timeout=90_000) -> None:
    page.wait_for_selector("#rag-sources .rag-sources h3, #rag-sources .rag-refused", timeout=timeout)


def answer_text(page) -> str:
    return page.locator(LAST_ANSWER).inner_text().strip()


# every text the last answer bubble shows, recorded in the page as it changes: polling from the
# test can miss the states of a short answer that streams in a fraction of a second
RECORD_ANSWER_STATES = """() => {
    window.ragSeen = [];
    new MutationObserver(() => {
        const bots = document.querySelectorAll('#rag-chat .message.bot');
        const text = bots.length ? bots[bots.length - 1].innerText.trim() : '';
        if (text && text !== window.ragSeen[window.ragSeen.length - 1]) window.ragSeen.push(text);
    }).observe(document.querySelector('#rag-chat'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.mark.parametrize("url", ["real_url", "served_url"])
def test_real_model_streams_an_answer_and_shows_sources(request, browser, url):
    """In process, and through llama-cpp-python's server (model setting openai:URL)."""
    page = open_chat(browser, request.getfixturevalue(url))
    page.evaluate(RECORD_ANSWER_STATES)
    ask(page, "How much did Meta plan to spend on capital expenditures in 2025?")
    wait_for_sources(page, timeout=90_000)
    seen = [s for s in page.evaluate("window.ragSeen") if "Searching your documents" not in s]
    page.screenshot(path=ARTIFACTS / ("real-model-chat.png" if url == "real_url" else "real-model-chat-served.png"),
                    full_page=True)
    assert len(seen) >= 2, f"no streaming seen: {seen}"
    assert all(len(a) <= len(b) for a, b in zip(seen, seen[1:-1]))
    assert "Sources" in page.inner_text("#rag-sources") or "Not found" in page.inner_text("#rag-sources")
    assert page.locator("#rag-sources .rag-source").count() >= 1
    page.close()


def test_citation_link_opens_its_highlighted_passage(browser, quoting_url):
    page = open_chat(browser, quoting_url)
    ask(page, "What did Yann LeCun say about DeepSeek?")
    page.wait_for_selector("#rag-chat a.rag-cite", timeout=60_000)
    wait_for_sources(page)
    passage = page.locator("#rag-src-1-1")
    assert passage.locator("mark").count() >= 1
    assert passage.locator(".rag-head").inner_text().startswith("[1] ")
    cited = answer_text(page).replace("[1]", "").rstrip(" .")
    assert cited.split()[0] in passage.locator("mark").first.inner_text()
    page.click("#rag-chat a.rag-cite >> nth=0")
    page.wait_for_selector("#rag-src-1-1.rag-flash", timeout=5_000)
    assert page.url.rstrip("/") == quoting_url and len(page.context.pages) == 1
    page.screenshot(path=ARTIFACTS / "citation-highlight.png", full_page=True)
    page.close()


def test_upload_ask_about_it_then_remove_it(browser, quoting_bot, quoting_url, tmp_path):
    note = tmp_path / "zebra facts.txt"
    note.write_text("Every zebra has a unique pattern of black and white stripes, like a fingerprint. "
                    "Zebras live in herds on the African savanna.\n")
    page = open_chat(browser, quoting_url)
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", str(note))
    page.wait_for_selector("#rag-upload-message :text('Added: zebra facts.txt')", timeout=60_000)
    page.wait_for_selector("#rag-docs :text('zebra facts.txt')")
    assert "documents" in page.inner_text("#rag-status")
    assert (Path(quoting_bot.settings.uploads_dir) / "zebra facts.txt").exists()
    assert not list(Path(gradio_upload_folder()).rglob("zebra facts.txt"))  # only data_dir keeps it
    page.screenshot(path=ARTIFACTS / "documents-uploaded.png", full_page=True)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "What is unique about the stripes of each zebra?")
    wait_for_sources(page)
    assert "zebra facts.txt" in page.locator("#rag-src-1-1 .rag-head").inner_text()
    assert "unique pattern of black and white stripes" in answer_text(page)

    page.get_by_role("tab", name="Documents").click()
    page.click("#rag-remove-choice input")
    page.click("#rag-remove-choice li[role=option][aria-label='zebra facts.txt']")
    page.click("#rag-remove")
    page.wait_for_selector("#rag-upload-message :text('Removed zebra facts.txt from the index.')")
    page.wait_for_function("!document.querySelector('#rag-docs').innerText.includes('zebra facts.txt')")
    assert not (Path(quoting_bot.settings.uploads_dir) / "zebra facts.txt").exists()
    page.close()


def test_two_browsers_chatting_at_once_get_their_own_answers(browser, quoting_bot, quoting_url):
    questions = ["What did Yann LeCun say about DeepSeek?",
                 "How will AI infrastructure spending of cloud providers change?"]
    expected = [quoting_bot.ask(q).text for q in questions]
    assert expected[0] != expected[1]
    contexts = [browser.new_context(viewport={"width": 1100, "height": 800}) for _ in questions]
    pages = []
    for context in contexts:
        page = context.new_page()
        page.goto(quoting_url, wait_until="domcontentloaded")
        page.wait_for_selector(QUESTION)
        pages.append(page)
    for page, question in zip(pages, questions):
        ask(page, question)
    for page in pages:
        wait_for_sources(page)
    for i, (page, question, answer) in enumerate(zip(pages, questions, expected)):
        page.screenshot(path=ARTIFACTS / f"session-{i + 1}.png")
        assert page.locator("#rag-chat .message.user").all_inner_texts() == [question]
        assert answer_text(page) == answer
    for context in contexts:
        context.close()


def test_stop_ends_the_answer_and_the_next_question_works(browser, quoting_bot, quoting_url):
    quoting_bot.generator.delay = 0.3
    try:
        page = open_chat(browser, quoting_url)
        ask(page, "What did Yann LeCun say about DeepSeek?")
        page.wait_for_function("""() => {
            const answers = document.querySelectorAll('#rag-chat .message.bot');
            const last = answers.length ? answers[answers.length - 1] : null;
            const checking = last && last.querySelector('.rag-checking');
            const text = last ? last.innerText.replace(checking ? checking.innerText : '', '') : '';
            return !text.includes('Searching your documents') && text.trim().split(/\s+/).length > 2;
        }""", timeout=60_000)
        page.click("#rag-stop")
        page.wait_for_selector("#rag-chat .message.bot :text('(stopped)')", timeout=5_000)
        stopped = answer_text(page)
        time.sleep(1.0)
        assert answer_text(page) == stopped and "[1]" not in stopped and len(stopped.split()) > 3
    finally:
        quoting_bot.generator.delay = 0.03
    ask(page, "How will AI infrastructure spending of cloud providers change?")
    wait_for_sources(page)
    assert answer_text(page).endswith("[1].")
    page.screenshot(path=ARTIFACTS / "stopped-then-asked.png", full_page=True)
    page.close()
