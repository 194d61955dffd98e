"""CSV exports for staff: what a cell may hold, and the file as a stream of lines.

The files are for Excel in Latvia: UTF-8 with a byte order mark (so Excel reads the Latvian
letters), fields separated by ``;`` (the list separator of a Latvian Windows, where the comma
is the decimal sign). A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be read as a formula (OWASP "CSV injection"): it gets a leading ``'``.
"""
import csv
import io

BOM = "\ufeff"
DELIMITER = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The most rows one export writes: a bigger log is exported by narrowing the filter.
MAX_ROWS = 50_000


def cell(value):
    """One cell's text, neutralised when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lines(header, rows, limit=MAX_ROWS):
    """The file, one line at a time: the BOM and the header first, then at most ``limit``
    rows (each an iterable of values); nothing is held but the line being written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")

    def line(values):
        writer.writerow([cell(v) for v in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield BOM + line(header)
    for count, row in enumerate(rows):
        if count >= limit:
            break
        yield line(row)
