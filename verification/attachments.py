"""Reading a file attached to a PDF (a deletion certificate or consent receipt carries its signed
JSON that way): only the attachment's bytes, never a verdict on the PDF."""

from __future__ import annotations

import io

# The attachments of one PDF are few; a file naming thousands is not one of ours.
MAX_NAMES = 64


def attached_file(data: bytes, name: str) -> bytes | None:
    """The bytes of the attachment called ``name`` in the PDF ``data``; None when the file is not
    a readable PDF or has no such attachment."""
    # pyHanko is imported when first needed (a one-shot command should not pay for it).
    from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject  # noqa: PLC0415 - pyHanko only when a PDF is read (one-shot commands stay quick)
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - pyHanko only when a PDF is read (one-shot commands stay quick)

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        if not isinstance(names, ArrayObject) or len(names) > 2 * MAX_NAMES:
            return None
        # pyHanko's ArrayObject cannot be sliced: walk the (name, file spec) pairs by index.
        for i in range(0, len(names) - 1, 2):
            spec = names[i + 1]
            if str(names[i]) == name and isinstance(spec, DictionaryObject):
                return bytes(spec["/EF"]["/F"].data)
    except Exception:  # any malformed PDF is "no such attachment", never a crash
        return None
    return None
