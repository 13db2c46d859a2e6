"""JupyterHub configuration of the course's demo hub (started by ``python -m coursekit hub``).

Everything that varies between runs (ports, folders, account names) comes from the JSON file named by
the environment variable HW3_HUB_SETTINGS, which ``coursekit.platforms.hub`` writes; what stays the same is here.
A real course keeps this file and replaces the settings that the README's "Deploying" section lists
(authenticator, spawner, public address, exchange on a shared volume).
"""
import json
import os

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

with open(os.environ["HW3_HUB_SETTINGS"]) as handle:
    settings = json.load(handle)

LOOPBACK = "127.0.0.1"  # the demo never listens beyond this machine: hub, proxy, and every user's server

# The public face: configurable-http-proxy (npm), started by the hub, on a free port of 127.0.0.1.
c.JupyterHub.ip = LOOPBACK
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = LOOPBACK
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.command = [settings["proxy_command"]]
c.ConfigurableHTTPProxy.api_url = f"http://{LOOPBACK}:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(settings["run_dir"], "proxy.pid")

# The hub's own state, readable by root only.
c.JupyterHub.db_url = "sqlite:///" + os.path.join(settings["run_dir"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(settings["run_dir"], "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(settings["run_dir"], "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# Accounts: one generated password per user (hashed on disk, printed once by `coursekit hub`). Nobody is a
# hub admin: an admin could open every student's server.
c.JupyterHub.authenticator_class = "coursekit.platforms.hubauth.GeneratedPasswordAuthenticator"
c.GeneratedPasswordAuthenticator.password_file = settings["password_file"]
c.Authenticator.allowed_users = set([settings["instructor"], *settings["students"]])
c.Authenticator.admin_users = set()
c.JupyterHub.load_groups = {
    "instructors": {"users": [settings["instructor"]]},
    "students": {"users": settings["students"]},
}

# Each user's JupyterLab runs as that user's own system account (uid, home folder), in the home folder.
# What differs between the instructor and a student (formgrader or not, the course directory) is in each
# user's ~/.jupyter, written by coursekit.platforms.hub.
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [os.path.join(settings["bin_dir"], "jupyterhub-singleuser")]
c.Spawner.ip = LOOPBACK
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # the course's environment first: jupyter, nbgrader (which calls alembic), python in terminals
    "PATH": os.pathsep.join([settings["bin_dir"], "/usr/local/bin", "/usr/bin", "/bin"]),
    **settings.get("environment", {}),
}

# Grade on submit (`coursekit serve`), a service the hub starts and stops with itself, run as the instructor on the
# instructor's course: each submission is collected, graded, and its feedback released to its student.
if settings.get("serve"):
    c.JupyterHub.services = [{
        "name": "grade-on-submit",
        "command": settings["serve"]["command"],
        "user": settings["instructor"],
        "cwd": settings["serve"]["cwd"],
        "environment": {"PATH": os.pathsep.join([settings["bin_dir"], "/usr/bin", "/bin"]),
                        "HOME": settings["serve"]["home"], **settings.get("environment", {})},
    }]
