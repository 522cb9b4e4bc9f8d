"""Write the corpus of a development suite into a folder.

    python benchmarks/suites/build.py chat|email|manual|encyclopedia|papers OUT_DIR [--shared DIR] [--mirror DIR]

Plain Python 3.11 standard library. The output is deterministic (same input, same bytes) and the
number of files written is printed. OUT_DIR is created if needed; files already in it are left
alone, except the ones this script writes, which are overwritten.

- chat:          copies benchmarks/suites/chat/corpus/*.txt (an original CC0 corpus in this repo).
- email:         copies benchmarks/suites/email/corpus/*.eml and *.mbox unchanged (an original CC0
                 mailbox in this repo).
- manual:        every topic of pydoc_data.topics.topics (the Python language reference topics that
                 ship with CPython, PSF License) as TOPIC.txt. The text depends on the Python version:
                 the questions were written against Python 3.11.7.
- encyclopedia:  one file per article of the SQuAD 2.0 dev subset in
                 ../shared/bench-data/squad-v2-dev-subset/dev-v2.0.json (CC BY-SA 4.0), named
                 TITLE.txt, its paragraphs separated by blank lines.
- papers:        18 long Distill articles (CC BY 4.0) as NAME.txt, converted from their HTML sources
                 by benchmarks/suites/papers/convert.py (pinned commits, checked sha256). The text is
                 read from ../shared/bench-data/distill-papers/ when that folder exists, else
                 converted from the git snapshots of github.com/distillpub/post--NAME in --mirror
                 (default: ../.mirror, where the fetch tool puts them).

../shared is resolved relative to this file (the folder beside the repository root); --shared
overrides it. A warning is printed when the files written differ from the corpus the questions
were written for (CORPUS_SHA256, a digest over file names and texts)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared"
MIRROR = ROOT.parent / ".mirror"
SQUAD = Path("bench-data/squad-v2-dev-subset/dev-v2.0.json")
PAPERS = Path("bench-data/distill-papers")

SQUAD_SHA256 = "e67e5969b6dc6c1642154740806b79263b77fc048c7c11ee60d534eb48ef81e8"
# sha256 over the files written (see corpus_sha256): the corpus the questions were written for.
# "manual" was made with Python 3.11.7; other versions ship other topic texts.
CORPUS_SHA256 = {
    "chat": "cf33e23877234c0fba8c04647b3fcd9c6985946d13f7d69535fabd614331fedf",
    "manual": "e42285c98a76016e98a31c08d11ebbdef122bde2aad828acdd08277e479dabee",
    "encyclopedia": "990d9b42a55364ca9993cd929f40a374fa4c56868ee0f9192fbb2ccad62b57df",
    "papers": "4e0880e7211731cb4964e8ced2a3b8f95bb9eb18bee69c0ac25725b388ff4c15",
    "email": "d0204fcb478223cf47a866404ab7f6c28b3ad9b39b3e3be4c0e03a2d1e308506",
}
MANUAL_PYTHON = "3.11.7"


def corpus_sha256(files: dict[str, str]) -> str:
    """One digest for a set of files: sha256 over name, NUL, utf-8 text, NUL, in name order."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return h.hexdigest()


def chat_files(shared: Path) -> dict[str, str]:
    folder = HERE / "chat" / "corpus"
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}
    if not files:
        sys.exit(f"build.py: no chat files in {folder}")
    return files


def email_files(shared: Path) -> dict[str, str]:
    folder = HERE / "email" / "corpus"
    paths = sorted([*folder.glob("*.eml"), *folder.glob("*.mbox")])
    # read as bytes and decoded, so that the text (and the file written) is byte for byte the file's
    files = {p.name: p.read_bytes().decode("utf-8") for p in paths}
    if not files:
        sys.exit(f"build.py: no e-mail files in {folder}")
    return files


def manual_files(shared: Path) -> dict[str, str]:
    from pydoc_data.topics import topics
    files = {}
    for name in sorted(topics):
        text = topics[name].strip() + "\n"
        files[f"{name}.txt"] = text
    return files


def squad_path(shared: Path) -> Path:
    return shared / SQUAD


def encyclopedia_files(shared: Path) -> dict[str, str]:
    path = squad_path(shared)
    if not path.is_file():
        sys.exit(f"build.py: SQuAD file not found: {path} (pass --shared DIR)")
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != SQUAD_SHA256:
        print(f"build.py: warning: {path} is not the file the questions were written for "
              f"(sha256 differs)", file=sys.stderr)
    data = json.loads(raw.decode("utf-8"))
    files = {}
    for article in data["data"]:
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        files[f"{article['title']}.txt"] = "\n\n".join(paragraphs) + "\n"
    return files


def papers_files(shared: Path, mirror: Path = MIRROR) -> dict[str, str]:
    sys.path.insert(0, str(HERE / "papers"))
    import convert
    folder = shared / PAPERS
    if folder.is_dir():
        files = {f"{name}.txt": (folder / f"{name}.txt").read_text(encoding="utf-8")
                 for name in convert.ARTICLES if (folder / f"{name}.txt").is_file()}
        if len(files) != len(convert.ARTICLES):
            sys.exit(f"build.py: {folder} lacks some of the {len(convert.ARTICLES)} articles")
        return files
    return convert.corpus(mirror)


SUITES = {"chat": chat_files, "email": email_files, "manual": manual_files,
          "encyclopedia": encyclopedia_files, "papers": papers_files}


def build(name: str, out_dir: Path, shared: Path = SHARED, mirror: Path = MIRROR) -> dict[str, str]:
    files = papers_files(shared, mirror) if name == "papers" else SUITES[name](shared)
    out_dir.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        with open(out_dir / fname, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("suite", choices=sorted(SUITES))
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--shared", type=Path, default=SHARED, help=f"default: {SHARED}")
    ap.add_argument("--mirror", type=Path, default=MIRROR, help=f"papers only; default: {MIRROR}")
    args = ap.parse_args(argv)
    files = build(args.suite, args.out_dir, args.shared, args.mirror)
    digest, expected = corpus_sha256(files), CORPUS_SHA256[args.suite]
    if digest != expected:
        why = (f"the topics of Python {sys.version.split()[0]} differ from those of Python {MANUAL_PYTHON}"
               if args.suite == "manual" else "the corpus differs from the one")
        print(f"build.py: warning: {why} the questions were written for "
              f"(sha256 {digest[:12]}... not {expected[:12]}...)", file=sys.stderr)
    print(f"{len(files)} files written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
