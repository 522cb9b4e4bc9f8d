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
        self.marks = "[1]"  # what it cites the sentence with
        self.inner = ""  # a marker it also puts after the sentence's third word
        self.failure = None  # an exception to raise instead of answering

    def reply(self, messages) -> str:
        prompt = messages[-1]["content"].rsplit("\nPassages:\n", 1)[-1]
        if "[1] (" not in prompt:
            return ""  # a side call, such as rewriting a follow-up question
        passage = prompt.split("[1] (", 1)[1].split("\n", 1)[1].strip()
        first = re.split(r"(?<=[.!?])\s", passage, maxsplit=1)[0]
        words = first.split()[:40]
        if self.inner:
            words.insert(3, self.inner)
        return " ".join(words).rstrip(".") + f" {self.marks}."

    def stream(self, messages, max_tokens=384, temperature=0.0):
        if self.failure is not None:
            raise self.failure
        for piece in re.findall(r"\S+\s*", self.reply(messages)):
            time.sleep(self.delay)
            yield piece


class MisCitingGenerator(QuotingGenerator):
    """Quotes the first two sentences of passage [1] but cites [2] for the first: verification
    moves that citation to [1]."""

    def reply(self, messages) -> str:
        prompt = messages[-1]["content"].rsplit("\nPassages:\n", 1)[-1]
        if "[1] (" not in prompt:
            return ""
        passage = prompt.split("[1] (", 1)[1].split("\n", 1)[1].split("\n[2] (", 1)[0].strip()
        first, second = (" ".join(s.split()[:30]).rstrip(".") for s in re.split(r"(?<=[.!?])\s", passage)[:2])
        return f"{first} [2]. {second} [1]."


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


def open_chat(browser, url, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(QUESTION)
    return page


def ask(page, question: str) -> None:
    page.fill(QUESTION, question)
    page.press(QUESTION, "Enter")


def wait_for_sources(page, timeout=90_000) -> None:
    """Until the answer is complete (its Sources are final)."""
    page.wait_for_selector("#rag-sources .rag-done", timeout=timeout)


def answer_text(page) -> str:
    return page.locator(LAST_ANSWER).inner_text().strip()


# every text the last answer bubble shows (without its stage line), recorded in the page as it
# changes, and whether the passages found were shown while the answer was still being written:
# polling from the test can miss the states of a short answer
RECORD_ANSWER_STATES = """() => {
    window.ragSeen = [];
    window.ragSourcesEarly = false;
    new MutationObserver(() => {
        const bots = document.querySelectorAll('#rag-chat .message.bot');
        const last = bots.length ? bots[bots.length - 1] : null;
        if (!last) return;
        const writing = !!last.querySelector('.rag-stage');
        if (writing && document.querySelector('#rag-sources .rag-found .rag-source')) window.ragSourcesEarly = true;
        const copy = last.cloneNode(true);
        copy.querySelectorAll('.rag-stage').forEach(e => e.remove());
        document.body.appendChild(copy);  // innerText needs a rendered element
        const text = copy.innerText.trim();
        copy.remove();
        if (text !== window.ragSeen[window.ragSeen.length - 1]) window.ragSeen.push(text);
    }).observe(document.querySelector('#rag-chat'), {subtree: true, childList: true, characterData: true});
}"""


def assert_streamed_equals_final(page) -> str:
    """Every state the answer showed while it was written is the start of the final text."""
    final = answer_text(page)
    seen = [state for state in page.evaluate("window.ragSeen") if state != "Loading content"]  # Gradio's, at first
    assert seen and seen[-1] == final, (seen, final)
    assert all(final.startswith(state) for state in seen), seen
    return final


@pytest.mark.parametrize("url", ["real_url", "served_url"])
def test_real_model_streams_the_checked_answer_and_shows_sources_first(request, browser, url):
    """In process, and through llama-cpp-python's server (model setting openai:URL)."""
    page = open_chat(browser, request.getfixturevalue(url))
    page.evaluate(RECORD_ANSWER_STATES)
    ask(page, "How much did Meta plan to spend on capital expenditures in 2025?")
    # no wait for the stage line: through a model server the answer may be done before a wait starts
    wait_for_sources(page, timeout=120_000)
    page.screenshot(path=ARTIFACTS / ("real-model-chat.png" if url == "real_url" else "real-model-chat-served.png"),
                    full_page=True)
    assert_streamed_equals_final(page)
    assert page.evaluate("window.ragSourcesEarly"), "the passages were not shown before the answer was complete"
    assert page.locator("#rag-sources .rag-source").count() >= 1
    assert page.locator("#rag-chat .rag-stage").count() == 0
    page.close()


def test_a_moved_citation_never_shows_while_the_answer_streams(browser, quoting_bot, quoting_url):
    before = quoting_bot._generator
    quoting_bot._generator = MisCitingGenerator(delay=0.1)
    try:
        page = open_chat(browser, quoting_url)
        page.evaluate(RECORD_ANSWER_STATES)
        ask(page, "What did Yann LeCun say about DeepSeek?")
        wait_for_sources(page)
        final = assert_streamed_equals_final(page)
        seen = [state for state in page.evaluate("window.ragSeen") if state]
    finally:
        quoting_bot._generator = before
    assert "[2]" not in final and final.count("[1]") == 2
    first = final.split("[1]")[0] + "[1]."
    assert first in seen, seen  # the first sentence showed alone, checked, before the second was written
    page.close()


def test_citation_link_shows_and_opens_its_highlighted_passage(browser, quoting_url):
    page = open_chat(browser, quoting_url)
    ask(page, "What did Yann LeCun say about DeepSeek?")
    page.wait_for_selector("#rag-chat a.rag-cite", timeout=60_000)
    wait_for_sources(page)
    passage = page.locator("#rag-src-1-1")
    assert passage.locator("mark").count() >= 2
    assert passage.locator(".rag-head").inner_text().startswith("[1] ")
    assert "cited" in passage.locator(".rag-badge").inner_text()
    cited = answer_text(page).replace("[1]", "")
    assert all(m in cited for m in passage.locator("mark").all_inner_texts())  # only words of the sentence
    tip = page.locator("#rag-chat a.rag-cite").first.get_attribute("title")
    assert tip.startswith("[1] ") and passage.locator(".rag-passage").inner_text()[:40] in " ".join(tip.split())
    page.click("#rag-chat a.rag-cite >> nth=0")
    page.wait_for_selector("#rag-src-1-1.rag-flash", timeout=5_000)
    assert page.url.rstrip("/") == quoting_url and len(page.context.pages) == 1
    page.screenshot(path=ARTIFACTS / "citation-highlight.png", full_page=True)
    page.close()


def test_sources_are_shown_as_soon_as_the_search_ends(browser, quoting_bot, quoting_url):
    quoting_bot.generator.delay = 0.3
    try:
        page = open_chat(browser, quoting_url)
        ask(page, "What did Yann LeCun say about DeepSeek?")
        page.wait_for_selector("#rag-sources .rag-found .rag-source", timeout=60_000)
        assert page.locator(LAST_ANSWER).locator(".rag-stage").count() == 1  # the answer is still being written
        stage = page.locator(LAST_ANSWER).locator(".rag-stage").inner_text()
        assert re.search(r"(Reading \d+ passages|Writing the answer).*… \d+\.\d s", stage), stage
        assert page.locator("#rag-sources .rag-badge").count() == 0  # not yet marked cited or not
        assert page.is_visible("#rag-stop") and not page.is_visible("#rag-ask")  # Stop in Ask's place
        wait_for_sources(page)
    finally:
        quoting_bot.generator.delay = 0.03
    assert page.is_visible("#rag-ask") and not page.is_visible("#rag-stop")
    badges = page.locator("#rag-sources .rag-badge").all_inner_texts()
    assert badges[0] == "cited" and "not cited" in badges[1:]
    page.close()


def test_a_passage_cited_twice_for_one_claim_shows_one_marker(browser, quoting_bot, quoting_url):
    quoting_bot.generator.marks = "[1] [1][1]"
    quoting_bot.generator.inner = "[1]"  # and once mid-sentence
    try:
        page = open_chat(browser, quoting_url)
        ask(page, "What did Yann LeCun say about DeepSeek?")
        wait_for_sources(page)
        assert answer_text(page).endswith(" [1].") and answer_text(page).count("[1]") == 1
        assert page.locator(LAST_ANSWER).locator("a.rag-cite").count() == 1
    finally:
        quoting_bot.generator.marks, quoting_bot.generator.inner = "[1]", ""
    page.close()


def test_upload_ask_about_it_then_remove_it(browser, quoting_bot, quoting_url, tmp_path):
    note = tmp_path / "zebra facts.txt"
    note.write_text("Zebra stripes\nEvery zebra has a unique pattern of black and white stripes, like a fingerprint. "
                    "Zebras live in herds on the African savanna.\n")
    page = open_chat(browser, quoting_url)
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", str(note))
    page.wait_for_selector("#rag-upload-message :text('zebra facts.txt: added')", timeout=60_000)
    row = page.locator("#rag-docs .virtual-row", has_text="zebra facts.txt")
    row.wait_for()
    assert row.locator(".body-cell").first.inner_text().strip() == "Zebra stripes"  # the title, the file beside it
    assert "documents" in page.inner_text("#rag-status")
    assert (Path(quoting_bot.settings.uploads_dir) / "zebra facts.txt").exists()
    assert not list(Path(gradio_upload_folder()).rglob("zebra facts.txt"))  # only data_dir keeps it
    page.screenshot(path=ARTIFACTS / "documents-uploaded.png", full_page=True)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "What is unique about the stripes of each zebra?")
    wait_for_sources(page)
    assert "Zebra stripes (zebra facts.txt)" in page.locator("#rag-src-1-1 .rag-head").inner_text()
    assert "unique pattern of black and white stripes" in answer_text(page)

    page.get_by_role("tab", name="Documents").click()
    row.locator(".body-cell").nth(4).click()
    page.wait_for_selector("#rag-confirm-text :text('Remove Zebra stripes (zebra facts.txt) from the index?')")
    page.click("#rag-cancel")
    page.wait_for_selector("#rag-confirm", state="hidden")
    assert (Path(quoting_bot.settings.uploads_dir) / "zebra facts.txt").exists()
    row.locator(".body-cell").nth(4).click()
    page.click("#rag-remove")
    page.wait_for_selector("#rag-upload-message :text('Removed zebra facts.txt from the index.')")
    page.wait_for_function("!document.querySelector('#rag-docs').innerText.includes('zebra facts.txt')")
    assert not (Path(quoting_bot.settings.uploads_dir) / "zebra facts.txt").exists()
    page.close()


def test_a_bad_upload_is_reported_as_an_error_in_plain_words(browser, quoting_url, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"this is not a pdf")
    page = open_chat(browser, quoting_url)
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", str(bad))
    error = page.locator("#rag-upload-message .rag-error")
    error.wait_for(timeout=60_000)
    text = error.inner_text()
    assert "broken.pdf was not indexed: not a readable PDF" in text and "Error" not in text
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(185, 28, 28)"
    page.close()


# every text the upload message showed, recorded in the page as it changes
RECORD_UPLOAD_STATES = """() => {
    window.ragUpload = [];
    new MutationObserver(() => {
        const text = document.querySelector('#rag-upload-message').innerText.trim();
        if (text && text !== window.ragUpload[window.ragUpload.length - 1]) window.ragUpload.push(text);
    }).observe(document.querySelector('#rag-upload-message'), {subtree: true, childList: true, characterData: true});
}"""


def test_several_uploads_show_the_file_being_indexed_then_each_outcome(browser, quoting_bot, quoting_url, tmp_path):
    big = tmp_path / "orchard log.txt"
    big.write_text("\n\n".join(f"Day {i}. The orchard's pear tree number {i} gave {i * 3} kilograms of pears, "
                                 f"picked by hand before the first frost of the season in row {i % 7}." * 3
                                 for i in range(1000)))
    small = tmp_path / "plums.txt"
    small.write_text("Plums\nPlums ripen in late summer and are purple or yellow.\n")
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 truncated")
    page = open_chat(browser, quoting_url, width=1400, height=900)
    try:
        page.get_by_role("tab", name="Documents").click()
        page.wait_for_selector("#rag-upload-message", state="attached")
        page.evaluate(RECORD_UPLOAD_STATES)
        page.set_input_files("#rag-upload input[type=file]", [str(small), str(big), str(bad)])
        page.wait_for_selector("#rag-upload-message :text('Nothing already indexed was lost')", timeout=120_000)
        states = page.evaluate("window.ragUpload")
        embedding = [s for s in states if re.fullmatch(r"Indexing 2 of 3: orchard log\.txt \(passages \d+/\d+\)…", s)]
        assert embedding, states
        final = page.inner_text("#rag-upload-message")
        assert re.search(r"plums\.txt: added, 1 passage\.", final), final
        assert re.search(r"orchard log\.txt: added, \d+ passages\.", final), final
        error = page.locator("#rag-upload-message .rag-error", has_text="scan.pdf")
        assert "scan.pdf was not indexed: not a readable PDF" in error.inner_text() and "Error" not in final
        assert error.evaluate("e => getComputedStyle(e).color") == "rgb(185, 28, 28)"
        page.screenshot(path=ARTIFACTS / "uploads-per-file.png", full_page=True)
    finally:
        page.close()
        for name in ("plums.txt", "orchard log.txt"):  # the other tests expect the five documents they started with
            quoting_bot.remove(name)


def test_a_failed_answer_is_an_error_block_in_plain_words(browser, quoting_bot, quoting_url):
    quoting_bot.generator.failure = RuntimeError("llama_decode returned -3")
    try:
        page = open_chat(browser, quoting_url)
        ask(page, "What did Yann LeCun say about DeepSeek?")
        block = page.locator(LAST_ANSWER).locator(".rag-error-block")
        block.wait_for(timeout=60_000)
        text = block.inner_text()
        assert "Something went wrong while answering" in text and "RuntimeError" not in text
        assert block.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(185, 28, 28)"
        page.screenshot(path=ARTIFACTS / "answer-error.png")
    finally:
        quoting_bot.generator.failure = None
    ask(page, "What did Yann LeCun say about DeepSeek?")
    wait_for_sources(page)
    assert answer_text(page).endswith("[1].")
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
        page.locator(LAST_ANSWER).locator(".rag-stage", has_text="Writing the answer").wait_for(timeout=60_000)
        page.click("#rag-stop")
        page.wait_for_selector("#rag-chat .message.bot :text('(stopped')", timeout=5_000)
        stopped = answer_text(page)
        time.sleep(1.0)
        assert answer_text(page) == stopped and "[1]" not in stopped
        assert page.is_visible("#rag-ask") and not page.is_visible("#rag-stop")
    finally:
        quoting_bot.generator.delay = 0.03
    ask(page, "How will AI infrastructure spending of cloud providers change?")
    wait_for_sources(page)
    assert answer_text(page).endswith("[1].")
    page.screenshot(path=ARTIFACTS / "stopped-then-asked.png", full_page=True)
    page.close()


# ---------- layout, on a desktop and on a phone ----------
def inside_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight; }""",
                         selector)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= innerWidth")


@pytest.mark.parametrize("width", [1400, 420])
def test_the_layout_fits_the_window(browser, quoting_url, width):
    page = open_chat(browser, quoting_url, width=width, height=900)
    page.wait_for_selector("#rag-chat :text('Your documents (5):')")
    examples = page.locator("#rag-chat button:has-text('What do my documents say about')")
    assert examples.count() >= 1
    for selector in ("#rag-title", "#rag-question", "#rag-ask", "#rag-new", "#rag-settings"):
        assert inside_viewport(page, selector), selector
    assert no_sideways_scroll(page) and page.evaluate("scrollY") == 0  # the title did not scroll away
    page.screenshot(path=ARTIFACTS / f"layout-{width}-empty.png")

    examples.first.click()  # an example question is asked
    wait_for_sources(page)
    assert page.locator("#rag-chat .message.user").first.inner_text().startswith("What do my documents say about")
    for selector in ("#rag-question", "#rag-ask", "#rag-new", "#rag-settings"):
        assert inside_viewport(page, selector), selector
    chat = page.locator("#rag-chat").bounding_box()
    assert chat["height"] > 0.45 * 900  # the conversation fills the height
    assert no_sideways_scroll(page)
    page.screenshot(path=ARTIFACTS / f"layout-{width}-answer.png")

    drawer = "#rag-sources-col"
    if width == 420:  # on a phone the Sources are a drawer, opened by a button or a click on [n]
        assert not inside_viewport(page, drawer) and inside_viewport(page, "#rag-sources-toggle")
        page.click("#rag-sources-toggle")
        page.wait_for_function("document.querySelector('#rag-sources-col').getBoundingClientRect().left >= 0")
        time.sleep(0.4)
        assert inside_viewport(page, drawer) and inside_viewport(page, "#rag-sources .rag-source")
        page.screenshot(path=ARTIFACTS / "layout-420-sources.png")
        page.click("#rag-sources-close")
        page.wait_for_function("document.querySelector('#rag-sources-col').getBoundingClientRect().left >= innerWidth")
        page.click("#rag-chat a.rag-cite >> nth=0")
        page.wait_for_function("document.querySelector('#rag-sources-col').getBoundingClientRect().left >= 0")
        page.click("#rag-sources-close")
        page.wait_for_function("document.querySelector('#rag-sources-col').getBoundingClientRect().left >= innerWidth")
    else:
        assert inside_viewport(page, "#rag-sources-col") and not page.is_visible("#rag-sources-toggle")
        assert inside_viewport(page, "#rag-sources .rag-source")  # the first passage, in the column

    page.get_by_role("tab", name="Documents").click()
    page.wait_for_selector("#rag-docs .virtual-row >> nth=4")
    heights = page.evaluate("[...document.querySelectorAll('#rag-docs th')].map(th => th.getBoundingClientRect().height)")
    assert max(heights) < 60, heights  # no header broken over lines ("Pas/sag/es")
    assert no_sideways_scroll(page)
    page.screenshot(path=ARTIFACTS / f"layout-{width}-documents.png")
    page.close()
