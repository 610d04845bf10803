"""Real documents for upload tests, made in memory: a PDF whose pages hold text that
pypdf extracts, and PNG/JPEG images of a given size (Pillow)."""

import io

from PIL import Image


def pdf(*pages: str) -> bytes:
    """A valid PDF with one page per string, each page showing its string in Helvetica."""
    count = len(pages)
    font = 3 + 2 * count
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
                   b" ".join(b"%d 0 R" % (3 + 2 * n) for n in range(count)), count)]
    for number, text in enumerate(pages):
        content = _escaped(text)
        stream = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % content
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                       % (font, 4 + 2 * number))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _assembled(objects)


def _escaped(text: str) -> bytes:
    raw = text.encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _assembled(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def image(width: int, height: int, kind: str = "PNG") -> bytes:
    """An image of that size and format (PNG, JPEG, GIF or WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, format=kind)
    return out.getvalue()
