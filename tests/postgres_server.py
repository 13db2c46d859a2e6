"""A real, throw-away PostgreSQL server for the tests (no mock): its own cluster in a temporary folder,
listening on 127.0.0.1 only, on a free port, with its unix socket in that folder.

The server binaries come from the Debian package ``postgresql`` (``/usr/lib/postgresql/<version>/bin``;
``.ci/run`` installs it). PostgreSQL refuses to run as root, so when the tests run as root, initdb and
pg_ctl run as the ``postgres`` system user that the Debian package creates. The cluster uses trust
authentication (only reachable from this machine) and ``fsync=off`` (it is thrown away anyway). A
cluster the Debian package may have started on port 5432 is neither used nor touched.

    with PostgresServer() as server:
        url = server.create_database("gradebook")   # postgresql://postgres@127.0.0.1:PORT/gradebook
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile

SUPERUSER = "postgres"
INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH. "
                "Install the Debian package: apt-get install -y postgresql (.ci/run does this on CI).")


class PostgresUnavailable(RuntimeError):
    """The server binaries are not installed (or cannot be run as a non-root user)."""


def server_binaries():
    """{'initdb': path, 'pg_ctl': path} of the newest installed PostgreSQL, or raise PostgresUnavailable."""
    def version(folder):
        match = re.search(r"/postgresql/(\d+)(?:\.(\d+))?/bin$", folder)
        return tuple(int(part or 0) for part in match.groups()) if match else (0, 0)

    folders = sorted((os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")), key=version)
    candidates = [folders[-1]] if folders else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(os.path.dirname(os.path.realpath(on_path)))
    for folder in candidates:
        found = {name: os.path.join(folder, name) for name in ("initdb", "pg_ctl")}
        if all(os.access(path, os.X_OK) for path in found.values()):
            return found
    raise PostgresUnavailable(INSTALL_HINT)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (bind to port 0, let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.binaries = server_binaries()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                self.owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PostgresUnavailable(f"running as root but there is no '{SUPERUSER}' system user to run "
                                          f"PostgreSQL as. {INSTALL_HINT}") from None
        self.folder = self.data = self.sockets = self.log = None
        self.port = None
        self.running = False

    # -- running the server's programs ------------------------------------------------------------
    def _run(self, *command, check=True, timeout=120):
        """Run a PostgreSQL program, as the postgres user when we are root. Returns its output."""
        command = list(command)
        if self.as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGPORT/PGHOST/PGDATA leaks
        env["LC_ALL"] = env["LANG"] = "C.UTF-8"
        done = subprocess.run(command, cwd=self.folder, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        output = done.stdout + done.stderr
        if check and done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed (exit {done.returncode}):\n{output}\n"
                               f"server log:\n{self.server_log()}")
        return output

    def server_log(self):
        try:
            with open(self.log, errors="replace") as handle:
                return "\n".join(handle.read().splitlines()[-40:])
        except (OSError, TypeError):
            return "(no log)"

    def log_problems(self):
        """The server log's ERROR, FATAL and PANIC lines (e.g. a deadlock or a duplicate key)."""
        with open(self.log, errors="replace") as handle:
            return [line for line in handle.read().splitlines()
                    if re.search(r"\b(ERROR|FATAL|PANIC):", line)]

    # -- life cycle -------------------------------------------------------------------------------
    def start(self, attempts=3):
        # Not pytest's tmp_path: it lives under a 0700 folder of root that the postgres user cannot enter.
        self.folder = tempfile.mkdtemp(prefix="coursekit-pg-")
        self.data = os.path.join(self.folder, "data")
        self.sockets = os.path.join(self.folder, "sockets")
        self.log = os.path.join(self.folder, "server.log")
        os.makedirs(self.sockets)
        if self.as_postgres:
            for path in (self.folder, self.sockets):
                os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        self._run(self.binaries["initdb"], "--pgdata", self.data, "--username", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions", "--no-sync")
        for attempt in range(attempts):  # the free port may be taken between the probe and the start
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.sockets} "
                       f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            try:
                self._run(self.binaries["pg_ctl"], "start", "--wait", "--timeout=60", "--pgdata", self.data,
                          "--log", self.log, "-o", options)
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                continue
            self.running = True
            return self

    def restart(self):
        """Stop the server (fast: every client is cut off) and start it again on the same port."""
        self._run(self.binaries["pg_ctl"], "restart", "--pgdata", self.data, "--mode=fast", "--wait",
                  "--timeout=60", "--log", self.log)

    def stop(self):
        """Stop the server (fast: disconnects clients) and delete its folder. Safe to call twice."""
        try:
            if self.running:
                self._run(self.binaries["pg_ctl"], "stop", "--pgdata", self.data, "--mode=fast", "--wait",
                          "--timeout=60", check=False)
                self.running = False
        finally:
            if self.folder:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    # -- databases --------------------------------------------------------------------------------
    def url(self, database):
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database="postgres"):
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database)
        connection.autocommit = True
        return connection

    def create_database(self, name):
        """Create an empty database; returns its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()
        return self.url(name)
