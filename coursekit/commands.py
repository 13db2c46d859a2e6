"""What each command of the command line (coursekit.cli) does and prints, once its arguments are parsed and its
assignment is known; each returns the command's exit code (None: 0). Each imports what it needs when it runs, so
that ``--help`` and every other command start without it."""


def _release(args, course):
    from coursekit.workflow.release import release
    release(course, args.assignment, check_only=args.check, db_url=args.db, duedate=args.duedate)


def _import(args, course):
    from coursekit.workflow.importing import import_submissions, report_lines
    result = import_submissions(course, args.assignment, args.source, args.regexp, db_url=args.db)
    print("\n".join(report_lines(result, args.assignment)))
    return 1 if result.not_imported else 0


def _settings(configurable, args, course):
    from coursekit.settings import resolved
    from coursekit.courseconfig import course_config
    return resolved(configurable, course_config(course, getattr(args, "db", None)), args)


def _grade(args, course):
    from coursekit.settings import GradeCommand
    from coursekit.workflow import grade as classgrade
    from coursekit.studentfiles import student_folders, unreadable_note
    settings = _settings(GradeCommand, args, course)
    outcomes = classgrade.grade(course, args.assignment, students=args.student, jobs=settings.jobs,
                                force=args.force, timeout=args.timeout, db_url=args.db,
                                scheduler=args.scheduler, progress=not args.quiet,
                                sandboxed=not args.no_sandbox)
    _, skipped = classgrade.plan(course, args.assignment, args.student, force=False, db_url=args.db)
    print(classgrade.summary(outcomes, skipped=len([s for s in skipped if s not in outcomes])))
    unreadable = student_folders(course, args.assignment)[1]
    if unreadable and not args.student:
        print(unreadable_note(unreadable))
        return 1
    return 1 if any(o.status == "failed" for o in outcomes.values()) else 0


def _feedback(args, course):
    from coursekit.settings import FeedbackCommand
    from coursekit.workflow.feedback import generate_feedback
    settings = _settings(FeedbackCommand, args, course)
    written, left_out = generate_feedback(course, args.assignment, student=args.student, db_url=args.db,
                                          jobs=settings.jobs)
    print(f"Wrote {len(written)} feedback file(s) under feedback/.")
    for student, why in sorted(left_out.items()):
        print(f"  {'note' if why.startswith('graded') else 'no feedback'} {student}: {why}")
    return 1 if any(why.startswith("feedback failed") for why in left_out.values()) else 0


def _export(args, course):
    from coursekit.settings import ExportCommand, course_file
    from coursekit.workflow.export import export_grades
    settings = _settings(ExportCommand, args, course)
    paths = export_grades(course, args.assignment, to=course_file(course, settings.to, args.to),
                          lms_to=course_file(course, settings.lms_to, args.lms_to), db_url=args.db)
    print("Wrote " + " and ".join(paths) + ".")


def _report(args, course):
    from coursekit.reports.report import build_report
    from coursekit.settings import ReportCommand, course_file
    output = course_file(course, _settings(ReportCommand, args, course).output, args.output)
    print(f"Wrote {build_report(course, args.assignment, db_url=args.db, output=output)}.")


def _status(args, course):
    from coursekit.workflow.term import show_status
    print(show_status(course, args.assignment, students=args.student, db_url=args.db))


def _remove(args, course):
    from coursekit.workflow.term import remove_students
    for line in remove_students(course, args.assignment, args.students, db_url=args.db):
        print(line)


def _new_term(args, course):
    from coursekit.workflow.term import new_term
    print(new_term(course, db_url=args.db))


def _gradescope(args, course):
    from coursekit.platforms.gradescope import build
    from coursekit.settings import GradescopeCommand
    settings = _settings(GradescopeCommand, args, course)
    print(f"Wrote {build(course, args.assignment, args.output, settings.time_limit, settings.visibility)}.")


def _diff(args, course):
    from coursekit.reports.diff import current_grades, diff, format_diff, read_export
    before = read_export(args.before, args.assignment)
    after = read_export(args.after, args.assignment) if args.after else current_grades(course, args.assignment,
                                                                                       args.db)
    changes = diff(before, after)
    print(format_diff(changes))
    return 1 if changes else 0


def _lab(args, course):
    from coursekit.platforms.lab import run as run_lab
    return run_lab(args, course)


def _hub(args, course):
    from coursekit.platforms.hub import run as run_hub
    return run_hub(args, course)


def _serve(args, course):
    from coursekit.workflow.serve import Server
    server = Server(course, db_url=args.db)
    if not args.once:
        print(f"Serving {', '.join(server.assignments)} from {server.inbound} (Ctrl-C stops; a restart goes on).",
              flush=True)
        server.run(report=lambda line: print(line, flush=True))
    for done in server.once():
        print(f"{done.submission.student} {done.submission.assignment}: {done.outcome} "
              f"({done.seconds:.1f} s after submitting)")


COMMANDS = {"release": _release, "import": _import, "grade": _grade, "feedback": _feedback, "export": _export,
            "report": _report, "status": _status, "remove": _remove, "new-term": _new_term,
            "gradescope": _gradescope, "diff": _diff, "lab": _lab, "hub": _hub, "serve": _serve}
