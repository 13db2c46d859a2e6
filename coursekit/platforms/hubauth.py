"""A JupyterHub authenticator with one generated password per user, for the course's demo hub.

JupyterHub's DummyAuthenticator and SharedPasswordAuthenticator give every account the same password,
so a student could log in as another; PAM would make the demo's passwords system login passwords. This
one checks each user's own password against a salted PBKDF2 hash in a file that only root reads.
"""
import hashlib
import hmac
import json
import os
import secrets

from jupyterhub.auth import Authenticator
from traitlets import Unicode

ITERATIONS = 200_000


def hash_password(password, salt=None):
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return {"salt": salt.hex(), "pbkdf2_sha256": digest.hex(), "iterations": ITERATIONS}


def password_matches(password, stored):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(stored["salt"]), stored["iterations"])
    return hmac.compare_digest(digest.hex(), stored["pbkdf2_sha256"])


def write_password_file(path, passwords):
    """Write {user: hash} for {user: password}, readable by the owner only, atomically."""
    temporary = f"{path}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({user: hash_password(password) for user, password in passwords.items()}, handle)
    os.replace(temporary, path)


class GeneratedPasswordAuthenticator(Authenticator):
    """Log in with the password that ``coursekit hub`` generated for the account."""

    password_file = Unicode(help="JSON file of {username: salted PBKDF2 hash}, written by coursekit.platforms.hub").tag(config=True)

    def check_password(self, username, password):
        try:
            with open(self.password_file) as handle:
                stored = json.load(handle).get(username)
        except (OSError, ValueError) as error:
            self.log.error("cannot read the password file %s: %s", self.password_file, error)
            return False
        return stored is not None and password_matches(password or "", stored)

    async def authenticate(self, handler, data):
        username = self.normalize_username(data.get("username", ""))
        if self.check_password(username, data.get("password")):
            return username
        self.log.warning("failed login for %r", username)
        return None
