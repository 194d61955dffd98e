"""Upload policies: which files a document type accepts (plain data, from the seeds), and
how long the storage sweep leaves what no row points at."""
from dataclasses import dataclass
from datetime import timedelta

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class UploadPolicy:
    """Limits for one upload field: allowed extensions, per-file and total sizes, file count."""

    name: str
    extensions: frozenset
    min_file_size: int = 1
    max_file_size: int = 20 * MB
    max_files: int = 10
    max_total: int = 150 * MB
    # The institution asks for one document per file and all pages of a document in one
    # file (seed 000): the upload hint says so wherever this policy takes documents.
    one_document_per_file: bool = False

    def accepts_extension(self, extension):
        return extension.lower().lstrip(".") in self.extensions


# FILE-1 (remote transactions portal): one document per file, 1 KB–20 MB each.
SEED_000 = UploadPolicy(
    name="seed000",
    extensions=frozenset({"docx", "doc", "pdf", "edoc", "xlsx", "xls", "jpg", "jpeg", "png",
                          "tif", "tiff", "cad", "dwg"}),
    min_file_size=1 * KB, max_file_size=20 * MB, max_files=10, max_total=200 * MB,
    one_document_per_file=True)

# FILE-3 (onboarding: ID copies, company documents): at most 10 files and 150 MB.
SEED_004 = UploadPolicy(
    name="seed004",
    extensions=frozenset({"jpg", "jpeg", "bmp", "gif", "png", "svg", "txt", "doc", "docx", "xls",
                          "xlsx", "pdf", "odt", "ods", "edoc", "asice"}),
    min_file_size=1, max_file_size=150 * MB, max_files=10, max_total=150 * MB,
    one_document_per_file=True)  # the same institution processes these documents (issue 11)

POLICIES = {p.name: p for p in (SEED_000, SEED_004)}


# --- The storage sweep (tasks/storage.py) -----------------------------------------------------

# A blob is stored before the row that points at it is committed: the grace keeps such a
# blob. One no row points at is removed once this old; what an unfinished write left (a
# .part- file, an S3 multipart upload) once untouched this long. Configurable
# (STORAGE_SWEEP_BLOB_HOURS, STORAGE_SWEEP_PART_HOURS), never below SWEEP_MIN_GRACE.
SWEEP_BLOB_GRACE = timedelta(hours=24)
SWEEP_PART_GRACE = timedelta(hours=6)
SWEEP_MIN_GRACE = timedelta(hours=1)


# --- Zip containers (DOCX, XLSX, ODT, ODS, EDOC/ASiC-E): one policy for every check ---------

ZIP_MAX_ENTRIES = 1000
ZIP_MAX_UNZIPPED = 200 * MB  # per file; lower for policies with small files (uploads.checks)
ZIP_MAX_RATIO = 100  # inflated / compressed, per entry (Apache POI's default as well)
ZIP_RATIO_GRACE = 1 * MB  # small entries may compress well without being bombs


def looks_like_zip_bomb(inflated, compressed):
    """True when an entry inflates beyond the ratio the policy allows."""
    return inflated > ZIP_RATIO_GRACE and inflated > ZIP_MAX_RATIO * max(compressed, 1)


# --- Names of files shown or packed together ----------------------------------------------------

def distinct_names(names):
    """The names of files shown or packed together, made distinct the way a desktop does it:
    the second "līgums.pdf" becomes "līgums (2).pdf". Compared without regard to case, as a
    zip is unpacked on Windows or macOS; a name already taken ("līgums (2).pdf") is skipped."""
    taken = {n.casefold() for n in names}
    seen, result = set(), []
    for name in names:
        candidate = name
        if candidate.casefold() in seen:
            stem, dot, extension = name.rpartition(".")
            if not stem:  # no extension (or a name like ".profile")
                stem, dot, extension = name, "", ""
            number = 2
            while True:
                candidate = f"{stem} ({number}){dot}{extension}"
                if candidate.casefold() not in seen and candidate.casefold() not in taken:
                    break
                number += 1
        seen.add(candidate.casefold())
        result.append(candidate)
    return result
