"""Bulk upload of invoices (spec 11): a merchant uploads a zip of up to
`JDPOP_BULK_UPLOAD_MAX_FILES` invoice files (or many files at once, packed into one zip here);
a Celery task reads each file back, finds the pending request of the shop it belongs to, and
issues it through the same service as a single upload, with a report line per file.

**Before anything is stored** (`bulk_upload_create`, each refusal a translated 400 that changes
nothing): the upload is a zip (or invoice files to pack); at most `JDPOP_BULK_UPLOAD_MAX_BYTES`;
at most `JDPOP_BULK_UPLOAD_MAX_FILES` files; no member named with `..`, an absolute path or a
drive letter (the whole archive is refused: no honest tool writes such names); no member that
unpacks past an invoice's size limit, nor an archive that unpacks past
`JDPOP_BULK_UPLOAD_MAX_UNPACKED` or more than `MAX_RATIO` times its size (a zip bomb), all read
from the headers. Folders inside the zip are fine; `__MACOSX/` and hidden files are ignored.

**Matching a file to a request** (`PendingIndex.find`), among the shop's pending requests only:
1. an order number printed in the remarks (备注) of the invoice;
2. the file name: its digits are the order number (`300000000001.pdf`, `订单300000000001.pdf`);
3. the contents: the buyer name and the total with tax, when exactly one pending request has
   them (narrowed by the buyer's tax id when the invoice carries one).

**Outcomes per file**: `issued` (verified, or "not machine-checked" when too little was read
to compare, but the number was read), `mismatch` (the request stays pending; each difference
named), `no_match`, `already_issued` (the order, or the invoice number, already has an
invoice: uploading the same zip twice issues nothing twice), `unreadable` (no number could be
read: even when the file name names a request it is not issued, since an invoice needs its
number; upload it on the request's page), `bad_file` (not a PDF, OFD, XML, PNG or JPEG we
accept, or damaged in the archive: the content checks of single uploads apply).

**Running** (`bulk_upload_process`): the run claims the upload by a conditional update
(queued → running; or a running one whose lease, `started_at` + `JDPOP_JOB_TIME_LIMIT`, is
past: its worker died), so a redelivered task does nothing while another runs. It resumes
where the report ends (`done`), saves its progress every few files or every second, and stops
after its budget, putting the upload back in the queue to go on from there. Issuing is a
conditional transition, so a file processed twice (a run killed between two saves) is issued
once and reported "already issued" the second time.
"""

from .archive import MAX_RATIO, inspect_archive, invoice_members, is_ignored, is_unsafe, pack_files
from .files import process_member
from .index import Found, PendingIndex, name_key
from .report import HOW, NOTES, OUTCOMES, Outcome, ReportRow, outcome_counts, report_rows
from .services import TASK, bulk_upload_create, bulk_upload_process, resume_bulk_uploads

__all__ = [
    "HOW",
    "MAX_RATIO",
    "NOTES",
    "OUTCOMES",
    "TASK",
    "Found",
    "Outcome",
    "PendingIndex",
    "ReportRow",
    "bulk_upload_create",
    "bulk_upload_process",
    "inspect_archive",
    "invoice_members",
    "is_ignored",
    "is_unsafe",
    "name_key",
    "outcome_counts",
    "pack_files",
    "process_member",
    "report_rows",
    "resume_bulk_uploads",
]
