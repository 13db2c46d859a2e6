"""Import student notebooks from a folder, a notebook or an LMS download (.zip) into submitted/.

Understood names (the first that fits a file wins; ``--regexp`` is tried before them):

* Canvas's "Download Submissions" zip: ``<nameslug>_<userid>_<fileid>_<name>``, late ones
  ``<nameslug>_LATE_<userid>_<fileid>_<name>``, anonymous grading ``anon_<anonid>_<fileid>_<name>``.
  Canvas builds these in lib/content_zipper.rb (instructure/canvas-lms: ``get_filename`` joins the
  sortable name lowercased with non-word characters removed, "LATE" for a late submission and the user
  id; ``add_upload_submission`` appends the attachment's id and display name). A student's re-upload of
  a file with the same name is renamed by Canvas ``hw3-1.ipynb``, ``hw3-2.ipynb`` ... (reported in
  nus-cs2103-AY2324S1/forum#459 and nus-cs2103-AY2223S2/forum#361): the highest suffix wins, then the
  highest attachment id (a later upload has a larger id).
* ``<student>/hw3.ipynb`` (also ``<student>/hw3/hw3.ipynb``, nbgrader's own layout) and ``<student>_hw3.ipynb``.

Students of an LMS download are keyed by the LMS user id, kept in nbgrader's gradebook as
``Student.lms_user_id`` (the export writes it into the Canvas import file's "ID" column). A user id the
gradebook knows keeps its student id; a new one gets its name slug, or ``<slug>-<userid>`` when the slug
is another user's.

Why not nbgrader's ``zip_collect``: it aborts the whole import ("Duplicate submission file. No
timestamps for comparison") when two files map to one student, as Canvas re-uploads and two students of
the same name do; it cannot pick the later upload by Canvas's suffix or attachment id, nor map a user id
to a student; it copies invalid notebooks into submitted/ and extracts archives to disk by their member
names. Here every file is read into memory, checked, and only a chosen, valid notebook is written, to a
path built from a checked student id and a notebook name of the release (no member name ever becomes a
path: no zip-slip), atomically. Nothing is touched before the release, the source and the gradebook
database have been checked.
"""
from .command import import_submissions, release_notebooks, report_lines
from .sources import ImportProblem

__all__ = ["ImportProblem", "import_submissions", "release_notebooks", "report_lines"]
