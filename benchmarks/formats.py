"""A suite in the formats its users would bring it: the papers' own HTML sources, or their text
typeset as PDFs; the web suite's book as one EPUB. Its questions then name the new files.

    python benchmarks/formats.py html OUT_DIR [--mirror /work/.mirror]
    python benchmarks/formats.py pdf .suites/papers/docs OUT_DIR        # needs: pip install fpdf2
    python benchmarks/formats.py pdf .suites/papers/docs OUT_DIR --hyphenate   # and pyphen
    python benchmarks/formats.py pdf .suites/papers/docs OUT_DIR --ligatures
    python benchmarks/formats.py questions benchmarks/suites/papers/questions.jsonl pdf > OUT.jsonl
    python benchmarks/formats.py questions benchmarks/suites/web/questions.jsonl md > OUT.jsonl
    python benchmarks/formats.py epub CARGO/src/doc/src OUT_DIR/cargo-book.epub \\
        --title "The Cargo Book" --date 2026-01-22
    python benchmarks/formats.py questions benchmarks/suites/web/questions.jsonl epub --book cargo-book.epub > OUT.jsonl

`html` writes each article's `public/index.html` at the commit the suite pins (sha256 checked, as
`suites/papers/convert.py` reads it). `pdf` typesets each .txt as a paper is printed: justified
10-point lines on A4, the title at the top of every page after the first, its number at the foot;
with `--hyphenate`, words are broken at the end of a line as TeX breaks them ("declara-" / "tions");
with `--ligatures`, "fi", "fl", "ff", "ffi" and "ffl" are printed as one glyph each, as TeX prints them,
which a PDF's text layer then gives as "ﬁ" (U+FB01) and its kin.
`epub` makes an mdBook (CARGO: the files of rust-lang/cargo at tag 0.96.0, whose `src/doc/src`
holds the Cargo Book's Markdown, see `suites/web/PROVENANCE.md`) into one EPUB with pandoc, its
chapters in SUMMARY.md's order; `questions --book` names that one file as every question's source.
Then, for example:

    rag --index /tmp/papers-pdf ingest OUT_DIR
    python benchmarks/context.py OUT.jsonl --index /tmp/papers-pdf --split tune
    rag --index /tmp/papers-pdf eval OUT.jsonl --split tune --out reports/pdf-papers-tune"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "suites" / "papers"))

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def write_html(out: Path, mirror: Path) -> None:
    from convert import ARTICLES, source
    out.mkdir(parents=True, exist_ok=True)
    for name in ARTICLES:
        (out / f"{name}.html").write_bytes(source(mirror, name))


LIGATURES = {"ffi": "\ufb03", "ffl": "\ufb04", "ff": "\ufb00", "fi": "\ufb01", "fl": "\ufb02"}


def write_pdfs(texts: Path, out: Path, hyphenate: bool = False, ligatures: bool = False) -> None:
    from fpdf import FPDF
    if hyphenate:
        import pyphen
        syllables = pyphen.Pyphen(lang="en_US")

    class Paper(FPDF):
        running = ""

        def header(self):
            if self.page_no() > 1:
                self.set_font("body", size=8)
                self.cell(0, 6, self.running, align="C")
                self.ln(8)

        def footer(self):
            self.set_y(-12)
            self.set_font("body", size=8)
            self.cell(0, 6, str(self.page_no()), align="C")

    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(texts.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        pdf = Paper(format="A4")
        pdf.set_margins(22, 20, 22)
        pdf.add_font("body", fname=FONT)
        pdf.running = text.splitlines()[0]
        pdf.add_page()
        pdf.set_font("body", size=10)
        for paragraph in text.split("\n\n"):
            if paragraph := " ".join(paragraph.split()):
                if ligatures:
                    for letters, glyph in LIGATURES.items():
                        paragraph = paragraph.replace(letters, glyph)
                if hyphenate:  # soft hyphens: fpdf2 may break a line there, and prints a hyphen if it does
                    paragraph = " ".join(syllables.inserted(w, hyphen="\u00ad") if w.isalpha() else w
                                         for w in paragraph.split(" "))
                pdf.multi_cell(0, 5, paragraph, align="J")
                pdf.ln(2)
        pdf.output(str(out / f"{path.stem}.pdf"))


def write_epub(book: Path, out: Path, title: str, date: str = "") -> None:
    """An mdBook's chapters (its SUMMARY.md's links, in order) made into one EPUB by pandoc."""
    import re
    import subprocess
    chapters = [c for c in re.findall(r"\]\(([^)]+\.md)\)", (book / "SUMMARY.md").read_text(encoding="utf-8"))
                if (book / c).is_file()]
    dated = ["--metadata", f"date={date}"] if date else []
    subprocess.run(["pandoc", "-f", "markdown", "-t", "epub3", "--metadata", f"title={title}", *dated, "-o",
                    str(out.resolve()), *chapters], cwd=book, check=True)
    print(f"{len(chapters)} chapters written to {out}")


def questions(path: Path, ext: str, book: str = "") -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        sources = case.get("sources", [])
        case["sources"] = ([book] if sources else []) if book else [str(Path(s).with_suffix("." + ext)) for s in sources]
        print(json.dumps(case, ensure_ascii=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("html", help="the articles' HTML sources")
    s.add_argument("out", type=Path)
    s.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    s = sub.add_parser("pdf", help="each .txt typeset as a PDF")
    s.add_argument("texts", type=Path)
    s.add_argument("out", type=Path)
    s.add_argument("--hyphenate", action="store_true", help="break words at line ends (needs pyphen)")
    s.add_argument("--ligatures", action="store_true", help="print fi, fl, ff, ffi, ffl as ligatures")
    s = sub.add_parser("epub", help="an mdBook's Markdown sources as one EPUB (needs pandoc)")
    s.add_argument("book", type=Path, help="the folder of its SUMMARY.md")
    s.add_argument("out", type=Path)
    s.add_argument("--title", default="Book")
    s.add_argument("--date", default="", help="its publication date, 2025-03-07")
    s = sub.add_parser("questions", help="the questions, naming the files of another format")
    s.add_argument("questions", type=Path)
    s.add_argument("ext", choices=["html", "pdf", "md", "epub"])
    s.add_argument("--book", default="", help="one file that holds every source (an e-book): its name")
    args = parser.parse_args(argv)
    if args.command == "html":
        write_html(args.out, args.mirror)
    elif args.command == "pdf":
        write_pdfs(args.texts, args.out, args.hyphenate, args.ligatures)
    elif args.command == "epub":
        write_epub(args.book, args.out, args.title, args.date)
    else:
        questions(args.questions, args.ext, args.book)
    return 0


if __name__ == "__main__":
    sys.exit(main())
