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

    def accepts_extension(self, extension):
        return extension.lower().lstrip(".") in self.extensions


# FILE-1 (remote transactions portal): one document per file, 1 KB–20 MB each.
SEED_000 = UploadPolicy(
    name="seed000",
    extensions=frozenset({"docx", "doc", "pdf", "edoc", "xlsx", "xls", "jpg", "jpeg", "png",
                          "tif", "tiff", "cad", "dwg"}),
    min_file_size=1 * KB, max_file_size=20 * MB, max_files=10, max_total=200 * MB)

# FILE-3 (onboarding: ID copies, company documents): at most 10 files and 150 MB.
SEED_004 = UploadPolicy(
    name="seed004",
    extensions=frozenset({"jpg", "jpeg", "bmp", "gif", "png", "svg", "txt", "doc", "docx", "xls",
                          "xlsx", "pdf", "odt", "ods", "edoc", "asice"}),
    min_file_size=1, max_file_size=150 * MB, max_files=10, max_total=150 * MB)

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
