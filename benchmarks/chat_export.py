"""Write the chat suite's corpus again as WhatsApp exports, to see whether the answers depend on
the file layout: one file per contact ("WhatsApp Chat with Maria.txt", every conversation with
them in order, no date in the name), each message as "28/06/2025, 16:00 - Nadia: text".

    python benchmarks/suites/build.py chat .suites/chat/docs
    python benchmarks/chat_export.py .suites/chat/docs .suites/chat-wa/docs
    rag --index .suites/chat-wa/index ingest .suites/chat-wa/docs
    rag --index .suites/chat-wa/index eval benchmarks/suites/chat/questions.jsonl --split tune

The questions' `sources` name the original files, so retrieval metrics are not comparable; the
answers are."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\[(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d)\] (.*)$")
NAME = re.compile(r"^\d{4}-\d\d-\d\d_chat_with_(.+)\.txt$")


def whatsapp(text: str) -> str:
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        out.append(f"{m[3]}/{m[2]}/{m[1]}, {m[4]} - {m[5]}" if m else line)
    return "\n".join(out)


def main(argv: list[str]) -> int:
    src, dst = Path(argv[0]), Path(argv[1])
    by_contact: dict[str, list[str]] = defaultdict(list)
    for path in sorted(src.glob("*.txt")):
        contact = NAME.match(path.name)[1].replace("_", " ")
        by_contact[contact].append(whatsapp(path.read_text(encoding="utf-8")))
    dst.mkdir(parents=True, exist_ok=True)
    for contact, logs in by_contact.items():
        (dst / f"WhatsApp Chat with {contact}.txt").write_text("\n".join(logs) + "\n", encoding="utf-8")
    print(f"{len(by_contact)} files written to {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
