"""A local broker with SASL/SCRAM-SHA-512 logins and ACLs: `hazard-engine broker up --secure`.

It runs beside the plain broker (its own directory, `<cache>/broker-secure/`) and
knows five principals, whose random passwords are in a 0600 `credentials.json`:
`admin` (super user), two field apps that may only write intake (`field-app`,
which apps may share, and `inspector-app`, an app with a principal of its own,
as the client quotas want it: topics/quotas.yaml), `supervisor` (reads outputs)
and `engine` (what the worker needs). There is no TLS: passwords and records
cross loopback in clear text, so this is a development and test setup only.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka.protocol.admin import CreateAclsRequest, DescribeAclsRequest

from engine.broker import install, local
from engine.broker.install import BrokerStartError, Progress
from engine.broker.quotas import load_quotas, reconcile, refuse_engine_slowed
from engine.contract.outputs import FILINGS_ORGANISATION
from engine.settings import REPO_ROOT
from engine.tools.kafka import connection
from engine.topics import load_topics

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"
FIELD_APPS = ("field-app", "inspector-app")
# organisation: the organisation department (组织部门), which reads the copies of the monthly
# filings (filings.organisation) and nothing else: not the referrals to discipline inspection.
USERS = ("admin", *FIELD_APPS, "supervisor", "organisation", "engine")
SUPERVISOR_GROUP_PREFIX = "supervisor"
ORGANISATION_GROUP_PREFIX = "organisation"
# Kafka's wire codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP = 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE, CREATE, DESCRIBE, DESCRIBE_CONFIGS = 3, 4, 5, 8, 10
ANY, ALLOW = 1, 3


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: `principal` may do `operation` on a resource, from any host."""

    resource_type: int
    name: str
    pattern: int
    principal: str
    operation: int


@dataclass(frozen=True)
class Credentials:
    """What a client needs to log in to the secure broker, read from its credentials file."""

    bootstrap: str
    passwords: dict[str, str]

    def auth(self, user: str) -> dict[str, str]:
        """Return aiokafka's security options for logging in as `user`."""
        return {"security_protocol": PROTOCOL, "sasl_mechanism": MECHANISM,
                "sasl_plain_username": user, "sasl_plain_password": self.passwords[user]}  # fmt: skip

    def env(self, user: str) -> dict[str, str]:
        """Return the environment variables engine.settings reads, for `user`."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "KAFKA_SECURITY_PROTOCOL": PROTOCOL,
                "KAFKA_SASL_MECHANISM": MECHANISM, "KAFKA_SASL_USERNAME": user,
                "KAFKA_SASL_PASSWORD": self.passwords[user]}  # fmt: skip


def secure_dir() -> Path:
    """Return the secure broker's directory, apart from the plain broker's."""
    return install.cache_root() / "broker-secure"


def credentials_path() -> Path:
    """Return the path of the 0600 file holding the principals' passwords."""
    return secure_dir() / "credentials.json"


def read_credentials() -> Credentials | None:
    """Return the recorded credentials, or None if there are none."""
    try:
        raw = json.loads(credentials_path().read_text())
        return Credentials(raw["bootstrap"], dict(raw["users"]))
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None


def _write_private(path: Path, text: str) -> None:
    # Created 0600 from the start, so the secret is never readable by others, not even briefly.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def acls(topics_file: Path, app_id: str = "hazard-engine", prefix: str = "") -> list[Acl]:
    """Return the ALLOW rules for the field apps, supervisor and engine; admin is a super user."""
    specs = load_topics(topics_file, app_id, prefix)
    intake = [s.name for s in specs if s.role == "intake"]
    outputs = [s.name for s in specs if s.role == "output"]
    # intake.rejected echoes any field app's records back; supervisors have no need for it.
    watched = [n for n in outputs if n != prefix + "intake.rejected"]
    # Prefixed, so the engine may add a table or an internal topic without a new ACL.
    internal = (f"{app_id}-", f"{prefix}engine.")
    stray = [s.name for s in specs if s.role == "internal" and not s.name.startswith(internal)]
    rules: list[Acl] = []

    def allow(user: str, names: list[str], ops: tuple[int, ...], kind: int = TOPIC,
              pattern: int = LITERAL) -> None:  # fmt: skip
        rules.extend(Acl(kind, n, pattern, f"User:{user}", op) for n in names for op in ops)

    for app in FIELD_APPS:
        allow(app, intake, (WRITE, DESCRIBE))
    allow("supervisor", watched, (READ, DESCRIBE))
    allow("supervisor", [SUPERVISOR_GROUP_PREFIX], (READ,), GROUP, PREFIXED)
    allow("organisation", [prefix + FILINGS_ORGANISATION], (READ, DESCRIBE))
    allow("organisation", [ORGANISATION_GROUP_PREFIX], (READ,), GROUP, PREFIXED)
    # The worker creates every declared topic and compares its configs (engine.topics).
    # WRITE too: a record with a null key is forwarded to its subject's partition of the same
    # intake topic (engine.intake.process, `forwarded`), so that its duplicates are caught there.
    allow("engine", intake, (READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS))
    allow("engine", outputs, (WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS))
    # READ of its outputs too: the worker's feeds and board stream its escalations to
    # supervisors, and a board's detail page lists every output about its subject.
    allow("engine", outputs, (READ,))
    allow("engine", list(internal), (READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS), TOPIC, PREFIXED)
    allow("engine", stray, (READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS))
    # No IDEMPOTENT_WRITE: since Kafka 3.0 (KIP-679) WRITE on a topic is enough for it.
    allow("engine", [app_id], (READ,), GROUP)
    return sorted(set(rules))


class _CreateAcls(CreateAclsRequest):
    # aiokafka's CreateAclsRequest carries one ACL; one request for all of them saves seconds.
    def __init__(self, rules: list[Acl]) -> None:
        self._rules = rules

    def build(self, request_struct_class):  # noqa: ANN001, ANN201 - aiokafka's generic signature
        if request_struct_class.API_VERSION < 1:
            raise BrokerStartError("the broker cannot take prefixed ACLs (CreateAcls v1)")
        return request_struct_class([(r.resource_type, r.name, r.pattern, r.principal, "*",
                                      r.operation, ALLOW) for r in self._rules])  # fmt: skip


async def _apply_acls(bootstrap: str, auth: dict[str, str], rules: list[Acl], timeout: float) -> None:
    client = connection(bootstrap, auth)
    await client.bootstrap()
    try:
        node = client.get_random_node()
        response = await client.send(node, _CreateAcls(rules))
        for rule, (code, message) in zip(rules, response.creation_responses, strict=True):
            if code:  # an ACL that exists already is not an error: Kafka keeps one copy
                raise BrokerStartError(f"creating ACL {rule} failed: error {code} {message}")
        # The controller answers once the ACLs are committed; wait until the broker enforces them.
        deadline = time.monotonic() + timeout
        while True:
            everything = DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY)
            response = await client.send(node, everything)
            have = {Acl(rtype, name, pattern, acl[0], acl[2])
                    for rtype, name, pattern, entries in response.resources for acl in entries}  # fmt: skip
            if have.issuperset(rules):
                return
            if time.monotonic() > deadline:
                raise BrokerStartError(f"ACLs not in force after {timeout:.0f}s: {set(rules) - have}")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


def _properties(port: int, controller_port: int, data_dir: Path, admin_pw: str) -> dict[str, str]:
    props = install.node_properties(1, port, controller_port, data_dir, f"1@127.0.0.1:{controller_port}")
    # The controller listener has no SCRAM (its credentials live in the metadata it serves),
    # so it uses PLAIN with one static user, admin; the client listener only takes SCRAM.
    plain = (f'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
             f'password="{admin_pw}" user_admin="{admin_pw}";')  # fmt: skip
    scram = (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" '
             f'password="{admin_pw}";')  # fmt: skip
    props.update({
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": "User:admin",
    })  # fmt: skip
    return props


def _launch(timeout: float, say: Progress) -> tuple[local.BrokerState, Credentials]:
    kafka = install.ensure_installed(progress=say)
    home = secure_dir()
    data_dir, log_path, props_path = home / "data", home / "broker.log", home / "server.properties"
    port, controller_port = install.free_port(), install.free_port()
    creds = Credentials(f"127.0.0.1:{port}", {u: secrets.token_urlsafe(24) for u in USERS})
    record = {"bootstrap": creds.bootstrap, "security_protocol": PROTOCOL,
              "sasl_mechanism": MECHANISM, "users": creds.passwords}  # fmt: skip
    _write_private(credentials_path(), json.dumps(record, indent=2) + "\n")
    props = _properties(port, controller_port, data_dir, creds.passwords["admin"])
    _write_private(props_path, install.render_properties(props))
    shutil.rmtree(data_dir, ignore_errors=True)

    java, jvm_log = install.java_executable(), f"-Dlog4j2.configurationFile={kafka.log4j_config}"
    # SCRAM users go into the bootstrap metadata. The passwords show in this short-lived
    # command line (StorageTool takes them no other way); the broker never sees the others.
    scram = [a for u, pw in creds.passwords.items()
             for a in ("--add-scram", f"{MECHANISM}=[name={u},password={pw}]")]  # fmt: skip
    t0 = time.monotonic()
    with open(log_path, "wb") as out:
        fmt = [java, jvm_log, "-cp", kafka.classpath, "kafka.tools.StorageTool", "format",
               "-t", install.new_cluster_id(), "-c", str(props_path), *scram]  # fmt: skip
        formatted = subprocess.run(fmt, stdout=out, stderr=subprocess.STDOUT, check=False)
    if formatted.returncode != 0:
        raise local._start_error(f"Kafka storage format failed (exit {formatted.returncode})", log_path)

    say(f"starting secure Kafka {kafka.version} on {creds.bootstrap} (log: {log_path})")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [java, *local.JVM_OPTIONS, jvm_log, "-cp", kafka.classpath, "kafka.Kafka", str(props_path)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=home, start_new_session=True,
        )  # fmt: skip
    local._children[proc.pid] = proc
    deadline = t0 + timeout
    # Ready means admin can log in: SCRAM users are known only once the metadata log is loaded.
    while not local.broker_answers(creds.bootstrap, timeout=2.0, auth=creds.auth("admin")):
        if proc.poll() is not None:
            raise local._start_error(f"Kafka exited with code {proc.returncode} while starting", log_path)
        if time.monotonic() > deadline:
            local._terminate(proc.pid, 10.0)
            message = f"Kafka gave no metadata on {creds.bootstrap} in {timeout:.0f}s"
            raise local._start_error(message, log_path)
        time.sleep(0.25)
    elapsed = round(time.monotonic() - t0, 2)
    state = local.BrokerState(proc.pid, creds.bootstrap, controller_port, str(log_path),
                              str(data_dir), time.time(), elapsed)  # fmt: skip
    path = local.state_path(home)
    path.with_suffix(".tmp").write_text(json.dumps(asdict(state), indent=2) + "\n")
    path.with_suffix(".tmp").replace(path)
    say(f"secure Kafka ready on {creds.bootstrap} in {elapsed:.1f}s (pid {proc.pid})")
    return state, creds


def ensure_up(
    timeout: float = local.DEFAULT_START_TIMEOUT,
    progress: Progress | None = None,
    *,
    prefix: str = "",
    app_id: str = "hazard-engine",
    topics_file: Path | None = None,
    quotas_file: Path | None = None,
) -> local.UpResult:
    """Reuse or start the secure broker, then make sure the ACLs for `prefix`/`app_id` exist, and
    the client quotas of topics/quotas.yaml (engine/broker/quotas.py).

    ACLs are only added, so calls with other prefixes or app ids extend the same broker.
    """
    say = progress or (lambda _msg: None)
    rules = acls(topics_file or REPO_ROOT / "topics" / "topics.yaml", app_id, prefix)
    quotas_file = quotas_file or REPO_ROOT / "topics" / "quotas.yaml"
    quotas = load_quotas(quotas_file)
    # Its worker logs in as `engine`. `broker up` has no override: the file is the one to mend.
    refuse_engine_slowed(quotas, ("engine",), authenticated=True,
                         override=f"mend {quotas_file} and start it again")
    home = secure_dir()
    with install.file_lock(home / ".lock"):
        state, creds = local.read_state(home), read_credentials()
        # A broker started before a principal was added does not know it: start a new one.
        alive = (state and creds and set(USERS) <= set(creds.passwords) and local.pid_alive(state.pid)
                 and local.broker_answers(state.bootstrap, 10.0, creds.auth("admin")))  # fmt: skip
        if alive:
            say(f"reusing secure Kafka on {state.bootstrap} (pid {state.pid})")
            result = local.UpResult(state, started=False)
        else:
            if state:
                local._terminate(state.pid, 10.0)
                local.state_path(home).unlink(missing_ok=True)
            state, creds = local.on_free_ports(lambda: _launch(timeout, say), say)
            result = local.UpResult(state, started=True)
        asyncio.run(_apply_acls(state.bootstrap, creds.auth("admin"), rules, timeout=30.0))
        asyncio.run(reconcile(state.bootstrap, creds.auth("admin"), quotas, timeout=30.0))
    say(f"{len(rules)} ACLs and {len(quotas)} client quotas in force (prefix {prefix!r}, app id "
        f"{app_id!r}); credentials: {credentials_path()}")  # fmt: skip
    return result


def down(timeout: float = 20.0) -> local.DownResult:
    """Stop the secure broker (SIGTERM, then SIGKILL after `timeout`) and forget it."""
    return local.down(timeout, home=secure_dir())


def status() -> local.BrokerStatus:
    """Report whether the secure broker is running, and where."""
    return local.status(home=secure_dir())
