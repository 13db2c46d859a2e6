"""Outputs of graded cells, rebuilt as nbformat nodes from the worker's data and the grader's shell: only
well-formed outputs of plain types are kept, never taken as they come; the outputs a skipped cell had when
the student submitted it are kept as text and PNG images only."""
from nbformat.v4 import new_output

from isograde.assignment import nbgrader_of
from isograde.testcell import STUDENT_MARK

SUBMITTED_NOTE = "[Output as the student submitted it: the grader does not run this cell.]\n"
SAFE_MIME = ("text/plain", "image/png")


def _plain_data(data):
    if not isinstance(data, dict):
        return {}
    kept = {}
    for mime, value in data.items():
        if not isinstance(mime, str) or "/" not in mime or len(mime) > 100:
            continue
        if isinstance(value, str):
            kept[mime] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            kept[mime] = "".join(value)
        elif mime.endswith("json") and isinstance(value, (dict, list)):
            kept[mime] = value
    return kept


def student_output(output):
    """An output of the student's cell as an nbformat node (None if it is not a well-formed one)."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream" and output.get("name") in ("stdout", "stderr") and isinstance(output.get("text"), str):
        return new_output("stream", name=output["name"], text=output["text"])
    if kind in ("display_data", "execute_result"):
        data = _plain_data(output.get("data"))
        if not data:
            return None
        metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
        if kind == "execute_result":
            count = output.get("execution_count")
            return new_output("execute_result", data=data, metadata=_json_safe(metadata),
                              execution_count=count if type(count) is int else None)
        return new_output("display_data", data=data, metadata=_json_safe(metadata))
    if kind == "error":
        lines = output.get("traceback")
        lines = [line for line in lines if isinstance(line, str)][:200] if isinstance(lines, list) else []
        ename = output.get("ename") if isinstance(output.get("ename"), str) else "Error"
        evalue = output.get("evalue") if isinstance(output.get("evalue"), str) else ""
        return new_output("error", ename=ename[:200], evalue=evalue, traceback=lines)
    return None


def test_output(output):
    """An output of a test cell (the grader's shell) as an nbformat node: the student's own text,
    printed by code the test called, is marked as such."""
    if isinstance(output, dict) and output.get("output_type") == "stream" and output.get("origin") == "student":
        return new_output("stream", name=output["name"], text=STUDENT_MARK + output["text"])
    if isinstance(output, dict) and output.get("output_type") == "execute_result":
        data = _plain_data(output.get("data"))
        return new_output("execute_result", data=data, metadata={}, execution_count=output.get("execution_count"))
    return student_output(output)


def _json_safe(value, depth=0):
    if depth > 20:
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _error(name, message, trace=None):
    lines = trace.splitlines() if trace else [f"{name}: {message}"]
    return new_output("error", ename=name, evalue=message, traceback=lines)


def _outputs_by_id(notebook):
    """The submitted outputs of each nbgrader code cell (the file is the student's: trust no shape)."""
    try:
        return {nbgrader_of(c).get("grade_id"): c.get("outputs", []) for c in notebook.cells
                if isinstance(c, dict) and c.get("cell_type") == "code" and nbgrader_of(c).get("grade_id")}
    except (AttributeError, TypeError):
        return {}


def _joined(text):
    """A notebook file stores text as a string or a list of lines (nbformat rejoins them)."""
    if isinstance(text, str):
        return text
    if isinstance(text, list) and all(isinstance(line, str) for line in text):
        return "".join(text)
    return None


def _as_submitted(outputs):
    """The student's own outputs of a cell the grader does not run: text and PNG images only (no
    HTML or script reaches the instructor's browser), after a note that says where they come from."""
    kept = [new_output("stream", name="stdout", text=SUBMITTED_NOTE)]
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict) or not isinstance(output.get("data", {}), dict):
            continue
        kind = output.get("output_type")
        text = _joined(output.get("text"))
        if kind == "stream" and text is not None:
            kept.append(new_output("stream", name="stdout", text=text))
        elif kind in ("display_data", "execute_result"):
            data = {}
            for mime in SAFE_MIME:
                value = _joined(output["data"].get(mime))
                if value is not None:
                    data[mime] = value
            if "image/png" in data:
                png = "".join(data["image/png"].split())
                if _is_base64_png(png):
                    data["image/png"] = png
                else:
                    data.pop("image/png")  # not a PNG
            if data:
                kept.append(new_output("display_data", data=data))
    return kept


def _is_base64_png(text):
    import base64
    import binascii
    if not text.startswith("iVBORw0KGgo"):
        return False
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
