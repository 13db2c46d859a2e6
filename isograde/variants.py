"""Each attempt's variant: the inputs of the hidden checks that draw them from ``checklib.variant(seed)`` (set by
``GradeInSandbox`` when ``c.GradeInSandbox.variants`` is on)."""
import hashlib


def attempt_variant(key, info, notebook, timestamp):
    """The variant of one attempt (checklib.VARIANT): SHA-256 of the course's key, the student, the assignment,
    the notebook's name and the submitted bytes. The files decide it, not a time the student could write:
    a notebook changed to answer inputs another attempt showed is another notebook, with other inputs."""
    digest = hashlib.sha256()
    for part in (key, info.get("student", ""), info.get("assignment", ""), info.get("notebook", "")):
        digest.update(str(part).encode() + b"\0")
    for content in (notebook, timestamp):
        digest.update(hashlib.sha256(content or b"").digest())
    return digest.hexdigest()
