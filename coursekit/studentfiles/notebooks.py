"""Notebooks as JSON of any shape: parsed with caps, their parts' types checked, read defensively."""
import json

from .reading import MAX_CELLS, MAX_JSON_DEPTH, MAX_NOTEBOOK_BYTES, Refused, read_path, read_regular, shown


# ---------------------------------------------------------------------------------------------
# Notebooks: JSON of any shape
# ---------------------------------------------------------------------------------------------


class BadNotebook(ValueError):
    """The bytes are not a notebook the kit reads. ``kind``: empty, encoding, json, deep, shape."""

    def __init__(self, kind, detail=""):
        super().__init__(detail or kind)
        self.kind, self.detail = kind, detail


def parse_notebook(content):
    """The notebook (plain dicts and lists) of ``content``, or BadNotebook."""
    if not content:
        raise BadNotebook("empty", "an empty file")
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
    except UnicodeDecodeError:
        raise BadNotebook("encoding", "not UTF-8 text") from None
    try:
        notebook = json.loads(text)
    except RecursionError:
        raise BadNotebook("deep", f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as error:
        raise BadNotebook("json", str(error).splitlines()[0][:150] if str(error) else "invalid JSON") from None
    problem = shape_problem(notebook)
    if problem:
        raise BadNotebook("deep" if "nested" in problem else "shape", problem)
    return notebook


_TYPE_NAMES = {dict: "an object", list: "a list", str: "text", bool: "true or false", int: "a number",
               float: "a number", type(None): "null"}


def _a(value):
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _is_text(value):
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(part, str) for part in value))


def shape_problem(notebook):
    """Why ``notebook`` (parsed JSON) is not an nbformat 4 notebook the kit and nbgrader can read, or
    None: the types of the parts every reader touches, the depth, the cell count, lone surrogates."""
    if not isinstance(notebook, dict):
        return f"the file is {_a(notebook)}, not a notebook"
    problem = _depth_and_text_problem(notebook)
    if problem:
        return problem
    version = notebook.get("nbformat")
    if type(version) is not int or version != 4:
        return f"its nbformat is {shown(json.dumps(version), 20)}, expected 4"
    if not isinstance(notebook.get("metadata", {}), dict):
        return f"its metadata is {_a(notebook['metadata'])}, not an object"
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return "it has no cells" if cells is None else f"its cells are {_a(cells)}, not a list"
    if len(cells) > MAX_CELLS:
        return f"it has more than {MAX_CELLS} cells"
    for index, cell in enumerate(cells):
        problem = _cell_problem(cell)
        if problem:
            return f"cell {index}: {problem}"
    return None


_NBGRADER_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str,
                   "schema_version": int, "points": (int, float), "cell_type": str, "checksum": str}


def _cell_problem(cell):
    if not isinstance(cell, dict):
        return f"it is {_a(cell)}, not an object"
    if cell.get("cell_type") not in ("code", "markdown", "raw"):
        return f"its cell_type is {shown(json.dumps(cell.get('cell_type')), 30)}"
    if not _is_text(cell.get("source", "")):
        return f"its source is {_a(cell['source'])}, not text"
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        return f"its metadata is {_a(metadata)}, not an object"
    nbgrader = metadata.get("nbgrader", {})
    if not isinstance(nbgrader, dict):
        return f"its nbgrader metadata is {_a(nbgrader)}, not an object"
    for key, kinds in _NBGRADER_TYPES.items():
        if key in nbgrader and (not isinstance(nbgrader[key], kinds) or
                                (kinds is not bool and isinstance(nbgrader[key], bool))):
            return f"its nbgrader {key} is {_a(nbgrader[key])}"
    for key in ("tags",):
        if key in metadata and not (isinstance(metadata[key], list) and all(isinstance(t, str) for t in metadata[key])):
            return f"its metadata {key} are {_a(metadata[key])}, not a list of text"
    if not isinstance(cell.get("attachments", {}), dict):
        return f"its attachments are {_a(cell['attachments'])}, not an object"
    if "id" in cell and not isinstance(cell["id"], str):
        return f"its id is {_a(cell['id'])}, not text"
    if cell["cell_type"] != "code":
        return None
    count = cell.get("execution_count")
    if count is not None and (type(count) is not int):
        return f"its execution_count is {_a(count)}"
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        return f"its outputs are {_a(outputs)}, not a list"
    for number, output in enumerate(outputs):
        problem = _output_problem(output)
        if problem:
            return f"output {number}: {problem}"
    return None


def _output_problem(output):
    if not isinstance(output, dict):
        return f"it is {_a(output)}, not an object"
    if output.get("output_type") not in ("stream", "display_data", "execute_result", "error"):
        return f"its output_type is {shown(json.dumps(output.get('output_type')), 30)}"
    for key in ("name", "ename", "evalue"):
        if key in output and not isinstance(output[key], str):
            return f"its {key} is {_a(output[key])}, not text"
    if "text" in output and not _is_text(output["text"]):
        return f"its text is {_a(output['text'])}, not text"
    if "traceback" in output and not (isinstance(output["traceback"], list)
                                      and all(isinstance(line, str) for line in output["traceback"])):
        return f"its traceback is {_a(output['traceback'])}, not a list of text"
    for key in ("data", "metadata"):
        if key in output and not isinstance(output[key], dict):
            return f"its {key} is {_a(output[key])}, not an object"
    return None


def _depth_and_text_problem(root):
    """Nesting deeper than MAX_JSON_DEPTH, or a string that cannot be written as UTF-8 (a lone
    surrogate from a \\ud800 escape); iterative, so any depth json.loads returned is safe here."""
    stack = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, item in value.items():
                if not _utf8(key):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and not _utf8(item):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and not _utf8(item):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
    return None


def _utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def notebook_refusal(name, dir_fd):
    """Why the notebook ``name`` (relative to ``dir_fd``, a checked submission folder) cannot be graded,
    in the words of ``grade``'s reasons, or None: a regular file within the cap, UTF-8 JSON of an
    nbformat 4 notebook whose parts have their types (nbgrader validates the rest when it reads it)."""
    try:
        content = read_regular(name, dir_fd, MAX_NOTEBOOK_BYTES)
    except Refused as refused:
        return f"refused: {name} {refused}"
    except OSError as error:
        return f"not a notebook: {name} cannot be read ({error.strerror})"
    try:
        parse_notebook(content)
    except BadNotebook as bad:
        if bad.kind == "empty":
            return f"not a notebook: {name} is an empty file"
        if bad.kind == "encoding":
            return f"not a notebook: {name} is not UTF-8 text"
        if bad.kind == "json":
            return f"not a notebook (invalid JSON): {name}: {bad.detail}"
        if bad.detail == "it has no cells":
            return f"not a valid notebook: {name} has no cells"
        return f"not a valid notebook: {name}: {bad.detail}"
    return None


# ---------------------------------------------------------------------------------------------
# Reading parsed student JSON defensively (for notebooks read without parse_notebook)
# ---------------------------------------------------------------------------------------------


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_text(value):
    """A notebook's multiline string (text, or a list of text) as one str; anything else: ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""


def load_json_file(path, limit=MAX_NOTEBOOK_BYTES):
    """A JSON file of the course (an autograded notebook) read with the caps: its value, or BadNotebook /
    Refused / OSError. No shape is assumed: read it with as_dict, as_list, as_text."""
    content = read_path(path, limit)
    try:
        return json.loads(content.decode("utf-8"))
    except RecursionError:
        raise BadNotebook("deep", "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BadNotebook("json", str(error).splitlines()[0][:150] if str(error) else "invalid JSON") from None
