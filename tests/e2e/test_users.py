"""Redis's ACL users on real VMs: the application's user reads and writes but cannot run
administrative commands; the default user, a wrong user and a wrong password are refused; the
replica logs in to its master as the replication user."""

from __future__ import annotations

import time

import pytest
import redis

from components.redis_users import ADMIN_USER, APPLICATION_USER, REPLICATION_USER, redis_options
from drill.target import Target


def test_the_application_user_writes_but_cannot_administer(target: Target) -> None:
    app = target.redis(user=APPLICATION_USER)
    value = f"as-app-{time.time()}"
    assert app.set("e2e:acl", value) and app.get("e2e:acl") == value
    refused = {}
    # (DEBUG is refused to every user, by the server's enable-debug-command: not a test of the ACL.)
    for command in (("CONFIG", "GET", "maxmemory"), ("FLUSHALL",), ("REPLICAOF", "NO", "ONE"), ("ACL", "LIST")):
        with pytest.raises(redis.exceptions.NoPermissionError) as error:
            app.execute_command(*command)  # type: ignore[no-untyped-call]
        refused[command[0]] = str(error.value)[:60]
    print(f"e2e: the application's user was refused {refused}")
    # Nothing was flushed; the admin user may run what the application's may not.
    assert app.get("e2e:acl") == value
    assert target.redis(user=ADMIN_USER).config_get("maxmemory") == {"maxmemory": "0"}


@pytest.mark.parametrize(("user", "password"), [
    ("default", "application"), (APPLICATION_USER, "wrong-password-0000"), ("nobody", "application"),
    (REPLICATION_USER, "application"),
])
def test_wrong_users_and_passwords_are_refused(target: Target, user: str, password: str) -> None:
    settings = target.settings
    login = {**redis_options(settings, APPLICATION_USER, target.certificate_files), "username": user,
             "password": settings.redis_password if password == "application" else password}
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=settings.vip, port=settings.redis_port, socket_timeout=5, **login).ping()


def test_the_replica_logs_in_as_the_replication_user(target: Target) -> None:
    master = target.master()
    clients = target.redis(master.ip, user=ADMIN_USER).client_list()
    replicas = [client for client in clients if "S" in client["flags"]]
    print(f"e2e: clients of the master flagged as replicas: {[(c['addr'], c['user']) for c in replicas]}")
    assert [client["user"] for client in replicas] == [REPLICATION_USER]
