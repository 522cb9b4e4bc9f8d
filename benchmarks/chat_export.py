"""Write the chat suite's corpus again in another layout, to see whether the answers depend on it.

- `whatsapp` (default): WhatsApp exports, one file per contact ("WhatsApp Chat with Maria.txt",
  every conversation with them in order, no date in the name), each message as
  "28/06/2025, 16:00 - Nadia: text".
- `times`: one file per conversation as now ("2025-06-28_chat_with_Maria.txt"), each message
  stamped with its time only ("[16:00] Nadia: text"): the date is in the file name alone, as in
  a folder of daily logs or dated notes.
- `sections`: one file per contact ("chat_with_Maria.txt"), each conversation headed by the line
  "Time: 2025-06-28 16:00" and each message as "Nadia: text": the date is in that heading alone,
  as in a log of meetings or a diary with a heading per day.

    python benchmarks/suites/build.py chat .suites/chat/docs
    python benchmarks/chat_export.py .suites/chat/docs .suites/chat-wa/docs
    rag --index .suites/chat-wa/index ingest .suites/chat-wa/docs
    rag --index .suites/chat-wa/index eval benchmarks/suites/chat/questions.jsonl --split tune

    python benchmarks/chat_export.py .suites/chat/docs .suites/chat-times/docs --layout times
    python benchmarks/chat_export.py .suites/chat/docs .suites/chat-sec/docs --layout sections

With `whatsapp` and `sections` the questions' `sources` name the original files, so retrieval
metrics are not comparable; the answers are. With `times` the files keep their names."""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\[(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d)\] (.*)$")
NAME = re.compile(r"^\d{4}-\d\d-\d\d_chat_with_(.+)\.txt$")


# each message's new stamp and text, from its year, month, day, time and text
STAMPS = {"whatsapp": "{2}/{1}/{0}, {3} - {4}", "times": "[{3}] {4}", "sections": "{4}"}


def restamped(text: str, layout: str) -> str:
    return "\n".join(STAMPS[layout].format(*m.groups()) if (m := LINE.match(line)) else line
                     for line in text.splitlines())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="the chat suite's corpus (build.py chat)")
    parser.add_argument("dst", type=Path, help="where to write the files")
    parser.add_argument("--layout", choices=("whatsapp", "times", "sections"), default="whatsapp")
    args = parser.parse_args(argv)
    args.dst.mkdir(parents=True, exist_ok=True)
    paths = sorted(args.src.glob("*.txt"))
    if args.layout == "times":
        for path in paths:
            (args.dst / path.name).write_text(restamped(path.read_text(encoding="utf-8"), "times") + "\n",
                                             encoding="utf-8")
        print(f"{len(paths)} files written to {args.dst}")
        return 0
    by_contact: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        contact = NAME.match(path.name)[1].replace("_", " ")
        text = path.read_text(encoding="utf-8")
        heading = ""
        if args.layout == "sections":  # the conversation's first stamp, as its heading
            heading = "Time: {}-{}-{} {}\n".format(*LINE.match(text.splitlines()[0]).groups()[:4])
        by_contact[contact].append(heading + restamped(text, args.layout))
    for contact, logs in by_contact.items():
        name = f"chat_with_{contact.replace(' ', '_')}.txt" if args.layout == "sections" else f"WhatsApp Chat with {contact}.txt"
        (args.dst / name).write_text("\n".join(logs) + "\n", encoding="utf-8")
    print(f"{len(by_contact)} files written to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
