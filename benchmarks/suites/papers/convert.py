"""Turn Distill articles (HTML sources) into the plain-text corpus of the papers suite.

    python benchmarks/suites/papers/convert.py MIRROR_DIR OUT_DIR

MIRROR_DIR holds git snapshots of the github.com/distillpub/post--NAME repositories as
MIRROR_DIR/distillpub+post--NAME/repo (a bare git directory or a checkout, as the `fetch` tool
leaves them in /work/.mirror). For every article in ARTICLES, the article file is read at its
pinned commit (`git show COMMIT:PATH`) and checked against its sha256, its text is extracted and
written to OUT_DIR/NAME.txt, and a table of the files is printed (markdown, for PROVENANCE.md).
Python 3.11 standard library and git; the output is deterministic. build.py uses `corpus()`.

What is kept: the title, the description and the authors from the front matter, then the body of
<d-article> / <dt-article>: paragraphs separated by blank lines, headings on their own lines,
list items as "- item", figure captions, table rows with cells separated by " | ", and the TeX of
<d-math> / <dt-math> as written. What is dropped: scripts, styles, SVG, figure contents other
than their captions, citation markers (a <d-cite> keeps only the words it wraps), footnotes, interactive widgets, HTML comments, the
appendix and the bibliography."""

from __future__ import annotations

import hashlib
import html.parser
import json
import re
import subprocess
import sys
from pathlib import Path

# NAME: (commit, path of the article in github.com/distillpub/post--NAME, sha256 of that file)
ARTICLES = {
    "aia": ("da702faf9b85cf88e358128b0403ea1c718c3a95", "public/index.html",
        "e4cf88c4f6b4172c32ea2e40308d298e2ba003d56c8603759c7366f1f5caffbe"),
    "augmented-rnns": ("fdc3526167133f5a97cee9e7cb48af293e67d66d", "public/index.html",
        "16e80facad66e6a9d46a4123b016ddb8ae4a4563558492b3f6dda4dba2f9d25b"),
    "building-blocks": ("101b566dc08510535059a9b458c75f107daece27", "public/index.html",
        "e9cd402ea91102892f5c02c84a7b4348b465f8f7f459a94ea093a6c5b7c90235"),
    "circuits-visualizing-weights": ("870841dd90a4a47c171ab25e8870f84c4d29c70c", "public/index.html",
        "e54a1f28f7650b8ff64023c1486ab9a03071411a62dca809a548d15b126c42a2"),
    "ctc": ("0b75180236978f4f76a78a5aa85d5cb502abf9f0", "public/index.html",
        "e3e29b54de740bdecee2a2ed21f73d1b8492c41f44cf32a979836400f1449056"),
    "deconv-checkerboard": ("9e00fef4eaa87c3fd604808e673b107861145c53", "public/index.html",
        "3dfa44517d4d05350968e759e29ea2bda8964e4ad4dc4984fd3f5277bbbbd29e"),
    "differentiable-parameterizations": ("127d36b401ba8d41134d9c0802ed2b0b51cc429f", "public/index.html",
        "0903a8fae2c52dc62dc190a8fc9cd8d7113846d7dca47066c73a287a78d6b80e"),
    "feature-wise-transformations": ("1a833066485ade58ed8b04f3e5fcbb85fe9b627d", "public/index.html",
        "29e73319f40b83d85f253df1a1ee7369146d441f4d613e4d16405bf4e4a84eb1"),
    "grand-tour": ("2859b7e14191360007d7bfbe0250332b51c74f6e", "public/index.html",
        "19d1fea65b589fb0204b25089a318cb0a460816cc24b918d51334e6db62c36c4"),
    "growing-ca": ("a12c7efa541b5770043a8d5470bffeacfd7b0435", "public/index.html",
        "5525e879fcd7c32b5311010541e56632b907d436dd1021e3556eb59a09e17f7a"),
    "misread-tsne": ("f2492b469bec8aaa7aa83cc828081e14a295414d", "public/index.html",
        "559094dadbb3816665c32c36dc9b709581b7cbc38e407c972818ef8d831434c8"),
    "momentum": ("691048b9d00b4b49b830c602b970755781df332c", "public/index.html",
        "39765efa62d3265550abbd9fae11ce8925e5174bfb5046a83d09d577f4062a4e"),
    "research-debt": ("7b8c8c19cd732a2cdd8266074f841559e0140b58", "public/index.html",
        "48a19d59a9e682f0e94d06fb28c0dfe5f5fbf9a72669262caf2390d884f91ef5"),
    "safety-needs-social-scientists": ("412af609346e8de18f5e7894457704ea797b3471", "public/index.html",
        "7045683b96446cd8b7edf76a9d553abc0c504c558843b7f5fb8b5d024c60ca3f"),
    "selforg-textures": ("24ef9c1eaf3bda8360abc331d5d9509bb7b2a1f1", "public/index.html",
        "a03edf80e21d94235be061949b14d4a44d6b1f3d010ab7b7c9bc85b7e3536421"),
    "td-paths": ("684dcf420a54b1cfe8634d1c6953493160159654", "public/index.html",
        "e67f0807bd7212d1a23cf04f96ab44f38b373e3a152e4d049fcce8112e8692b6"),
    "understanding-rl-vision": ("330fbbd105cee53f1cdddb4f889f027ae001f3be", "public/index.html",
        "27407ce11e40471750c93b9057ad3a53b81818ce47186e3cc6bcff6591517e5f"),
    "weight-banding": ("b086233cfd68839d7c1d0c7c13ffb0ffbacdc047", "public/index.html",
        "2f9df1613f334c02a6107be25d45312000dd5f1fb91972a50c9080858294d84c"),
}

SKIP = {"script", "style", "svg", "d-footnote", "dt-fn", "d-footnote-list",
        "d-citation-list", "d-bibliography", "d-appendix", "dt-appendix", "d-slider", "d-contents",
        "button", "select", "input", "textarea", "noscript", "canvas", "video", "audio", "iframe",
        "d-code", "dt-code", "pre", "math", "template", "d-byline", "dt-byline"}
BLOCK = {"p", "div", "section", "blockquote", "ul", "ol", "table", "tbody", "thead", "br", "hr",
         "d-figure", "figure", "dt-include", "aside", "details", "summary", "dl", "dd", "dt"}
HEADING = {"h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "hr", "img", "input", "meta", "link", "source", "area", "base", "col", "embed",
        "param", "track", "wbr"}
ARTICLE = {"d-article", "dt-article"}


class Extract(html.parser.HTMLParser):
    """Collects the article's blocks of text: a list of (kind, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.in_article = 0
        self.skip = 0
        self.figure = 0
        self.caption = 0
        self.blocks: list[tuple[str, str]] = []
        self.buf: list[str] = []
        self.kind = "p"

    def flush(self) -> None:
        text = " ".join("".join(self.buf).split())
        if text:
            self.blocks.append((self.kind, text))
        self.buf, self.kind = [], "p"

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in VOID:
            if tag in ("br", "hr") and self.in_article and not self.skip:
                if self.caption or not self.figure:
                    self.buf.append(" ")
            return
        self.stack.append(tag)
        if tag in ARTICLE:
            self.in_article += 1
            return
        if not self.in_article:
            return
        if tag in SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag in ("figure", "d-figure"):
            self.flush()
            self.figure += 1
        elif tag == "figcaption":
            self.flush()
            self.caption += 1
        elif tag in HEADING:
            self.flush()
            self.kind = "h"
        elif tag == "li":
            self.flush()
            self.kind = "li"
        elif tag == "tr":
            self.flush()
            self.kind = "tr"
        elif tag in ("td", "th"):
            if self.buf and "".join(self.buf).strip():
                self.buf.append(" | ")
        elif tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            self._close(top)
            if top == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in ARTICLE:
            self.flush()
            self.in_article -= 1
            return
        if not self.in_article:
            return
        if tag in SKIP:
            self.skip -= 1
            return
        if self.skip:
            return
        if tag in ("figure", "d-figure"):
            self.flush()
            self.figure -= 1
        elif tag == "figcaption":
            self.flush()
            self.caption -= 1
        elif tag in HEADING or tag in ("li", "tr") or tag in BLOCK:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_article and not self.skip and (self.caption or not self.figure):
            self.buf.append(data)


def front_matter(source: str) -> tuple[str, str, list[str]]:
    """Title, description and author names from the article's front matter (JSON or YAML)."""
    m = re.search(r'<script[^>]*type="text/json"[^>]*>(.*?)</script>', source, re.S)
    if m and "<d-front-matter" in source:
        data = json.loads(m.group(1))
        authors = [a.get("author", "") for a in data.get("authors", [])]
        return data.get("title", ""), data.get("description", ""), [a for a in authors if a]
    m = re.search(r'<script type="text/front-matter">(.*?)</script>', source, re.S)
    if not m:
        return "", "", []
    title = description = ""
    authors: list[str] = []
    section = None
    for line in m.group(1).splitlines():
        s = line.strip()
        if s.startswith("title:"):
            title, section = s[6:].strip(), None
        elif s.startswith("description:"):
            description, section = s[12:].strip(), None
        elif re.match(r"^[a-z]+:", s):
            section = s.split(":")[0]
        elif s.startswith("- ") and section == "authors":
            authors.append(s[2:].split(":")[0].strip().strip('"'))
    return title, description, authors


def to_text(source: str) -> str:
    title, description, authors = front_matter(source)
    parser = Extract()
    parser.feed(source)
    parser.close()
    parser.flush()
    lines = [title, ""]
    if description:
        lines += [description, ""]
    if authors:
        lines += ["Authors: " + ", ".join(authors), ""]
    for kind, text in parser.blocks:
        if kind == "li":
            lines.append("- " + text)
        elif kind == "tr":
            lines.append(text)
        else:
            if lines and lines[-1] != "":
                lines.append("")
            lines.append(text)
            lines.append("")
    text = "\n".join(lines)
    text = re.sub(r"\$(\d[\d,.]*)\$", r"\1", text)  # MathJax-delimited plain numbers
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text


def git_dir(mirror: Path, name: str) -> Path:
    repo = mirror / f"distillpub+post--{name}" / "repo"
    return repo / ".git" if (repo / ".git").is_dir() else repo


def source(mirror: Path, name: str) -> bytes:
    """The article file at its pinned commit; exits if it is missing or its sha256 differs."""
    commit, path, sha = ARTICLES[name]
    g = git_dir(mirror, name)
    run = subprocess.run(["git", f"--git-dir={g}", "show", f"{commit}:{path}"], capture_output=True)
    if run.returncode != 0:
        sys.exit(f"convert.py: cannot read {commit}:{path} from {g} "
                 f"(fetch github.com/distillpub/post--{name} into {mirror})")
    if hashlib.sha256(run.stdout).hexdigest() != sha:
        sys.exit(f"convert.py: {g} {commit}:{path} is not the file the suite was made from")
    return run.stdout


def corpus(mirror: Path) -> dict[str, str]:
    """NAME.txt -> text for every article."""
    return {f"{name}.txt": to_text(source(mirror, name).decode("utf-8")) for name in ARTICLES}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    mirror, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    files = corpus(mirror)
    print("| file | repository | commit | source sha256 | bytes | words |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for fname, text in files.items():
        name = fname[:-4]
        commit, path, sha = ARTICLES[name]
        with open(out / fname, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"| {fname} | distillpub/post--{name} | {commit[:12]} | {sha} | "
              f"{len(text.encode()):,} | {len(text.split()):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
