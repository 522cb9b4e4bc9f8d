"""Small builders for test documents (no binary fixtures in the repo), and where the shared data is."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
BENCH = ROOT.parent / "shared" / "bench-data"


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A minimal valid PDF of Helvetica text, a page per string; a newline in it starts a new line."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        lines = " T* ".join(f"({line}) Tj" for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {lines} ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def make_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def make_epub(path: Path, chapters: list[tuple[str, str]], title: str = "A Book", date: str = "2024-05-01",
              encrypted: bool = False) -> Path:
    """A minimal EPUB 3: a nav document and the chapters (file name, XHTML body), listed in the
    manifest in reverse and in the spine in order, under OEBPS/ with the package file (a file
    name is written as its manifest's URL: "two%20b.xhtml" is "two b.xhtml")."""
    import zipfile
    from urllib.parse import unquote
    items = [f'<item id="c{n}" href="{name}" media-type="application/xhtml+xml"/>'
             for n, (name, _) in reversed(list(enumerate(chapters)))]
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    package = (f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
               f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
               f'<dc:date>{date}</dc:date></metadata><manifest>'
               f'<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{"".join(items)}'
               f'</manifest><spine><itemref idref="nav"/>{spine}</spine></package>')
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml",
                      '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                      'version="1.0"><rootfiles><rootfile full-path="OEBPS/content.opf" '
                      'media-type="application/oebps-package+xml"/></rootfiles></container>')
        book.writestr("OEBPS/content.opf", package)
        book.writestr("OEBPS/nav.xhtml", "<html><body><nav><ol><li>Contents</li></ol></nav></body></html>")
        for name, body in chapters:
            book.writestr(f"OEBPS/{unquote(name)}", f"<html><head><title>{title}</title></head><body>{body}</body></html>")
        if encrypted:
            book.writestr("META-INF/encryption.xml",
                          '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                          'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
                          f'<enc:CipherReference URI="OEBPS/{chapters[0][0]}"/></enc:CipherData></enc:EncryptedData>'
                          '</encryption>')
    return path


def make_pptx(path: Path, slides: list[tuple[str, list[str], str]], table: list[list[str]] | None = None) -> Path:
    """A slide deck with python-pptx: each slide a title, bullet lines (the first in a group
    shape beside the others) and speaker notes; a table on the last slide when given."""
    import pptx
    from pptx.util import Inches
    deck = pptx.Presentation()
    for title, bullets, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = title
        if bullets:
            group = slide.shapes.add_group_shape()
            group.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1)).text_frame.text = bullets[0]
            box = slide.shapes.add_textbox(Inches(1), Inches(3), Inches(6), Inches(2)).text_frame
            box.text = bullets[1] if len(bullets) > 1 else ""
            for line in bullets[2:]:
                box.add_paragraph().text = line
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    if table:
        shape = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(5), Inches(6), Inches(1))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                shape.table.cell(r, c).text = value
    deck.save(str(path))
    return path
