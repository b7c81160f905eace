"""A real IMAP server for the tests: Dovecot on loopback, its own configuration in a temporary
folder, users from a passwd-file, TLS with a trustme CA, imaps and imap (STARTTLS) ports.

Dovecot refuses to serve mail as root (and its login processes as root), so when the tests run
as root (CI) the server drops to the `nobody` user for the mail and to its packaged users
(`dovecot`, `dovenull`) for its own processes; as a normal user everything runs as that user.
The folder is world-traversable for the same reason (pytest's tmp_path is private to root).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "Mot-de-passe-IMAP-7"
USERS = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot master process; `add_user()` gives each test a fresh, empty mailbox."""

    def __init__(self):
        import trustme

        self.base = Path(tempfile.mkdtemp(prefix="relances-dovecot-"))
        os.chmod(self.base, 0o755)
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.base / "server.pem"))
        self.ca_file = self.base / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.port_ssl, self.port_starttls = free_port(), free_port()
        if os.geteuid() == 0:
            internal, login, mail = "dovecot", "dovenull", pwd.getpwnam("nobody")
            group = "dovecot"
        else:
            mail = pwd.getpwuid(os.getuid())
            internal = login = mail.pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        self.mail_uid, self.mail_gid = mail.pw_uid, mail.pw_gid
        self.users = self.base / "users"
        # Users made up front: Dovecot may not see a line added within the same second.
        self.users.write_text("".join(f"{self.user(n)}:{PASSWORD}\n" for n in range(1, USERS + 1)))
        os.chmod(self.users, 0o644)
        self.mail = self.base / "mail"
        self.mail.mkdir(mode=0o755)
        os.chown(self.mail, self.mail_uid, self.mail_gid)
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.base}/run
state_dir = {self.base}/state
log_path = {self.base}/dovecot.log
info_log_path = {self.base}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
default_internal_group = {group}
first_valid_uid = 1
ssl = required
ssl_cert = <{self.base}/server.pem
ssl_key = <{self.base}/server.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.users}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.mail}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port_starttls}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port_ssl}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.count = 0
        try:
            self._wait()
        except RuntimeError:
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot stopped: {self.process.stdout.read().decode()}"
                                   f"{self.log()}")  # the log is read before stop() removes it
            try:
                socket.create_connection(("127.0.0.1", self.port_ssl), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.port_starttls), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start: {self.log()}")

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @staticmethod
    def user(n: int) -> str:
        return f"compta{n}@atelier-dupont.fr"

    def add_user(self) -> str:
        """A user not used before, with an empty mailbox (the password is PASSWORD)."""
        self.count += 1
        if self.count > USERS:
            raise RuntimeError(f"more than {USERS} test mailboxes: raise USERS")
        return self.user(self.count)

    def client(self, user: str):
        """An IMAP client logged in as `user` over TLS: what a mail program would do."""
        import imapclient

        client = imapclient.IMAPClient("127.0.0.1", self.port_ssl, ssl=True,
                                       ssl_context=self.context(), timeout=10)
        client.login(user, PASSWORD)
        return client

    def deliver(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Put messages in the mailbox as new mail (no \\Seen flag), by IMAP APPEND."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for message in messages:
                client.append(folder, message, flags=())
        finally:
            client.logout()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)
