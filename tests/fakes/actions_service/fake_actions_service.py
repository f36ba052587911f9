#!/usr/bin/env python3
"""A fake of GitHub's token endpoints and the Actions service's runner scale-set API.

Python 3 standard library only. Plain HTTP on 127.0.0.1; prints "PORT <n>" on its first stdout
line. The shapes follow /work/shared/research/scaleset-protocol.md (sections in comments) and
the official client actions/scaleset: status codes, JSON field names, the double-encoded
message `body`, a UTF-8 BOM on demand, one session per scale set (409 conflict while it lives),
a long poll answering 202 after `hold` seconds, 401 for expired admin or queue tokens.

Tests drive it through /_control/* (JSON in, JSON out):
  POST /_control/enqueue     {scaleSetId, jobs:[...], statistics:{...}, bom, raw}
  POST /_control/statistics  {scaleSetId, statistics}
  POST /_control/expire      {what: "admin"|"queue"|"installation"|"registration"}
  POST /_control/fail        {path, method, status, count, typeName, message}
  POST /_control/empty200    {count}
  POST /_control/settings    {hold, sessionTimeout, adminLifetime}
  POST /_control/session     {scaleSetId, ownerName}   a session no one polls (a crashed peer)
  POST /_control/drop_sessions {scaleSetId}
  POST /_control/runner      {id, busy}
  GET  /_control/state       everything recorded, secrets included (tests compare logs to it)
"""
import argparse
import base64
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOM = b"\xef\xbb\xbf"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class State:
    def __init__(self, app_public_key, pat):
        self.lock = threading.Condition()
        self.app_public_key = app_public_key
        self.pats = {pat}
        self.installation_tokens = {}   # token -> expiry
        self.registration_tokens = {}   # token -> expiry
        self.admin_tokens = {}          # token -> expiry
        self.queue_tokens = {}          # token -> (scale set id, session id)
        self.hold = 50.0
        self.session_timeout = 90.0
        self.admin_lifetime = 3600
        self.groups = {1: "Default", 2: "Spot & Friends"}
        self.scale_sets = {}            # id -> dict
        self.next_id = 1
        self.sessions = {}              # scale set id -> session dict
        self.messages = {}              # scale set id -> [ {id, raw bytes} ]
        self.next_message_id = 1
        self.statistics = {}            # scale set id -> dict
        self.runners = {}               # id -> dict
        self.next_runner_id = 100
        self.acks = []                  # [scaleSetId, messageId]
        self.polls = []                 # {scaleSetId, lastMessageId, maxCapacity, status}
        self.acquired = []
        self.failures = []              # {path, method, status, count, ...}
        self.empty200 = 0
        self.calls = {}
        self.secrets = []               # every token and JIT config handed out
        self.jwt_checks = []
        self.deleted_sessions = []
        self.session_creates = []       # [time, status]

    def stats(self, sid):
        s = {k: 0 for k in ("totalAvailableJobs", "totalAcquiredJobs", "totalAssignedJobs",
                            "totalRunningJobs", "totalRegisteredRunners", "totalBusyRunners",
                            "totalIdleRunners")}
        s.update(self.statistics.get(sid, {}))
        return s

    def secret(self, prefix):
        token = prefix + uuid.uuid4().hex
        self.secrets.append(token)
        return token

    def admin_jwt(self):
        exp = int(time.time()) + self.admin_lifetime
        head = b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
        body = b64url(json.dumps({"exp": exp, "nbf": int(time.time()), "tid": uuid.uuid4().hex})
                      .encode())
        token = head + "." + body + "." + b64url(uuid.uuid4().bytes)
        self.secrets.append(token)
        self.admin_tokens[token] = exp
        return token

    def expire_sessions(self):
        now = time.time()
        for sid, s in list(self.sessions.items()):
            if now - s["lastSeen"] > self.session_timeout:
                del self.sessions[sid]


def verify_app_jwt(state, jwt):
    """RS256 check through the openssl CLI, plus iat/exp rules (§1A)."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return "not a JWT"
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    if header.get("alg") != "RS256":
        return "alg must be RS256"
    now = time.time()
    iat, exp = claims.get("iat", 0), claims.get("exp", 0)
    if not (now - 120 <= iat <= now - 30):
        return "iat must be about 60 s in the past"
    if exp <= now or exp - iat > 600:
        return "exp must be in the future and at most 10 min after iat"
    if not claims.get("iss"):
        return "no iss"
    if state.app_public_key:
        with tempfile.NamedTemporaryFile() as sig, tempfile.NamedTemporaryFile() as data:
            sig.write(b64url_decode(parts[2]))
            sig.flush()
            data.write((parts[0] + "." + parts[1]).encode())
            data.flush()
            r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", state.app_public_key,
                                "-signature", sig.name, data.name], capture_output=True)
            if r.returncode != 0:
                return "bad signature"
    return None


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet; the tests read /_control/state
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes; without this, Nagle + delayed ACK add
            # 40 ms to every answer and the benchmark measures the fake, not the client.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        # --- plumbing ---------------------------------------------------------------
        def reply(self, status, obj=None, raw=None, content_type="application/json"):
            body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-GitHub-Request-Id", "FAKE:" + uuid.uuid4().hex[:8])
            self.end_headers()
            self.wfile.write(body)

        def error(self, status, type_name, message):
            self.reply(status, {"typeName": type_name, "message": message})

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def bearer(self, scheme="Bearer"):
            auth = self.headers.get("Authorization", "")
            return auth[len(scheme) + 1:] if auth.startswith(scheme + " ") else None

        def handle_any(self, method):
            url = urlsplit(self.path)
            self.url, self.query = url.path, parse_qs(url.query)
            self.body = self.read_body()
            with state.lock:
                key = method + " " + re.sub(r"/\d+", "/{n}", re.sub(
                    r"sessions/[0-9a-f-]+", "sessions/{s}", self.url))
                state.calls[key] = state.calls.get(key, 0) + 1
                if not self.url.startswith("/_control/"):
                    for f in state.failures:
                        if f["count"] > 0 and f["path"] in self.url and \
                                f.get("method", method) == method:
                            f["count"] -= 1
                            return self.error(f["status"], f.get("typeName", "FakeFailure"),
                                              f.get("message", "forced by the test"))
            try:
                self.route(method)
            except BrokenPipeError:
                pass

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

        def do_DELETE(self):
            self.handle_any("DELETE")

        # --- routing ----------------------------------------------------------------
        def route(self, method):
            p = self.url
            if p.startswith("/_control/"):
                return self.control(method, p[len("/_control/"):])
            m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", p)
            if m and method == "POST":
                return self.installation_token()
            if method == "POST" and re.fullmatch(
                    r"/(orgs/[^/]+|repos/[^/]+/[^/]+|enterprises/[^/]+)"
                    r"/actions/runners/registration-token", p):
                return self.registration_token()
            if p == "/actions/runner-registration" and method == "POST":
                return self.runner_registration()
            if p.startswith("/tenant/"):
                return self.service(method, p[len("/tenant/"):])
            self.error(404, "NotFound", "no route " + method + " " + p)

        def installation_token(self):
            jwt = self.bearer()
            with state.lock:
                problem = verify_app_jwt(state, jwt or "")
                state.jwt_checks.append(problem or "ok")
                if problem:
                    return self.reply(401, {"message": "A JSON web token could not be decoded: "
                                            + problem})
                token = state.secret("ghs_")
                state.installation_tokens[token] = time.time() + 3600
                self.reply(201, {"token": token, "expires_at": "2099-01-01T00:00:00Z"})

        def registration_token(self):
            token = self.bearer()
            with state.lock:
                ok = token in state.pats or state.installation_tokens.get(token, 0) > time.time()
                if not ok:
                    return self.reply(401, {"message": "Bad credentials"})
                reg = state.secret("REG")
                state.registration_tokens[reg] = time.time() + 3600
                self.reply(201, {"token": reg, "expires_at": "2099-01-01T00:00:00Z"})

        def runner_registration(self):
            reg = self.bearer("RemoteAuth")
            with state.lock:
                if state.registration_tokens.get(reg, 0) <= time.time():
                    return self.reply(401, {"message": "Bad registration token"})
                body = json.loads(self.body or b"{}")
                if not body.get("url") or body.get("runner_event") != "register":
                    return self.reply(400, {"message": "url and runner_event=register required"})
                host = self.headers.get("Host")
                self.reply(201, {"url": "http://%s/tenant/" % host, "token": state.admin_jwt()})

        def service(self, method, p):
            if self.query.get("api-version", [""])[0] != "6.0-preview":
                return self.error(400, "ApiVersionMissing", "api-version=6.0-preview required")
            token = self.bearer()
            m = re.fullmatch(r"_apis/runtime/runnerscalesets/(\d+)/messages(?:/(\d+))?", p)
            if m:
                return self.messages(method, int(m.group(1)), m.group(2), token)
            m = re.fullmatch(r"_apis/runtime/runnerscalesets/(\d+)/acquirejobs", p)
            if m and method == "POST":
                return self.acquire(int(m.group(1)), token)
            with state.lock:
                if state.admin_tokens.get(token, 0) <= time.time():
                    return self.error(401, "UnauthorizedException", "admin token expired")
                return self.admin(method, p)

        def admin(self, method, p):
            q = {k: v[0] for k, v in self.query.items()}
            if p == "_apis/runtime/runnergroups/" and method == "GET":
                name = q.get("groupName", "")
                value = [{"id": i, "name": n, "size": 0, "isDefaultGroup": i == 1}
                         for i, n in state.groups.items() if n == name]
                return self.reply(200, {"count": len(value), "value": value})
            if p == "_apis/runtime/runnerscalesets" and method == "GET":
                value = [s for s in state.scale_sets.values()
                         if s["name"] == q.get("name")
                         and str(s["runnerGroupId"]) == q.get("runnerGroupId")]
                return self.reply(200, {"count": len(value), "value": value})
            if p == "_apis/runtime/runnerscalesets" and method == "POST":
                return self.create_scale_set()
            m = re.fullmatch(r"_apis/runtime/runnerscalesets/(\d+)", p)
            if m:
                sid = int(m.group(1))
                if sid not in state.scale_sets:
                    return self.error(404, "RunnerScaleSetNotFoundException", "no scale set")
                if method == "GET":
                    return self.reply(200, state.scale_sets[sid])
                if method == "DELETE":
                    del state.scale_sets[sid]
                    return self.reply(204)
                if method == "PATCH":
                    body = json.loads(self.body or b"{}")
                    for k in ("name", "runnerGroupId"):
                        if k in body:
                            state.scale_sets[sid][k] = body[k]
                    return self.reply(200, state.scale_sets[sid])
            m = re.fullmatch(r"_apis/runtime/runnerscalesets/(\d+)/sessions(?:/([0-9a-f-]+))?", p)
            if m:
                return self.sessions(method, int(m.group(1)), m.group(2))
            m = re.fullmatch(r"_apis/runtime/runnerscalesets/(\d+)/generatejitconfig", p)
            if m and method == "POST":
                return self.jit(int(m.group(1)))
            if p == "_apis/distributedtask/pools/0/agents" and method == "GET":
                value = [r for r in state.runners.values() if r["name"] == q.get("agentName")]
                return self.reply(200, {"count": len(value), "value": value})
            m = re.fullmatch(r"_apis/distributedtask/pools/0/agents/(\d+)", p)
            if m:
                rid = int(m.group(1))
                runner = state.runners.get(rid)
                if runner is None:
                    return self.error(404, "GitHub.DistributedTask.WebApi.AgentNotFoundException",
                                      "runner not found")
                if method == "GET":
                    return self.reply(200, runner)
                if method == "DELETE":
                    if runner.get("busy"):
                        return self.error(
                            409, "GitHub.DistributedTask.WebApi.JobStillRunningException",
                            "runner is running a job")
                    del state.runners[rid]
                    return self.reply(204)
            self.error(404, "NotFound", "no route " + method + " " + p)

        def create_scale_set(self):
            body = json.loads(self.body or b"{}")
            if not body.get("name") or "RunnerSetting" not in body:
                return self.error(400, "ArgumentException", "name and RunnerSetting required")
            sid = state.next_id
            state.next_id += 1
            labels = body.get("labels") or [{"name": body["name"], "type": "System"}]
            s = {"id": sid, "name": body["name"], "runnerGroupId": body.get("runnerGroupId", 1),
                 "runnerGroupName": state.groups.get(body.get("runnerGroupId", 1), ""),
                 "labels": labels, "RunnerSetting": body["RunnerSetting"],
                 "createdOn": "2026-01-01T00:00:00Z", "statistics": state.stats(sid)}
            state.scale_sets[sid] = s
            self.reply(200, s)  # 200, not 201 (§2)

        def session_json(self, sid, s):
            return {"sessionId": s["id"], "ownerName": s["owner"],
                    "runnerScaleSet": state.scale_sets.get(sid),
                    "messageQueueUrl": "http://%s/tenant/_apis/runtime/runnerscalesets/%d/messages"
                                       "?sessionId=%s&api-version=6.0-preview"
                                       % (self.headers.get("Host"), sid, s["id"]),
                    "messageQueueAccessToken": s["token"], "statistics": state.stats(sid)}

        def new_session(self, sid, owner):
            s = {"id": str(uuid.uuid4()), "owner": owner, "lastSeen": time.time(),
                 "token": state.secret("MQT")}
            state.queue_tokens[s["token"]] = (sid, s["id"])
            state.sessions[sid] = s
            return s

        def sessions(self, method, sid, session_id):
            if sid not in state.scale_sets:
                return self.error(404, "RunnerScaleSetNotFoundException", "no scale set")
            state.expire_sessions()
            current = state.sessions.get(sid)
            if method == "POST" and session_id is None:
                body = json.loads(self.body or b"{}")
                if current:
                    state.session_creates.append([time.time(), 409])
                    return self.error(
                        409, "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException",
                        "The actions runner scale set %s already has an active session for owner "
                        "%s." % (state.scale_sets[sid]["name"], current["owner"]))
                state.session_creates.append([time.time(), 200])
                s = self.new_session(sid, body.get("ownerName", ""))
                return self.reply(200, self.session_json(sid, s))
            if not current or current["id"] != session_id:
                return self.error(404, "RunnerScaleSetSessionNotFoundException", "no such session")
            if method == "PATCH":
                state.queue_tokens.pop(current["token"], None)
                current["token"] = state.secret("MQT")
                current["lastSeen"] = time.time()
                state.queue_tokens[current["token"]] = (sid, current["id"])
                return self.reply(200, self.session_json(sid, current))
            if method == "DELETE":
                state.queue_tokens.pop(current["token"], None)
                del state.sessions[sid]
                state.deleted_sessions.append(session_id)
                state.lock.notify_all()
                return self.reply(204)
            self.error(405, "MethodNotAllowed", method)

        def queue_session(self, sid, token):
            owner = state.queue_tokens.get(token)
            if not owner or owner[0] != sid:
                return None
            s = state.sessions.get(sid)
            return s if s and s["id"] == owner[1] else None

        def messages(self, method, sid, message_id, token):
            with state.lock:
                s = self.queue_session(sid, token)
                if s is None:
                    return self.error(401, "UnauthorizedException", "message queue token invalid")
                if self.query.get("sessionId", [""])[0] != s["id"]:
                    return self.error(404, "MessageQueueNotFoundException", "wrong session")
                if method == "DELETE" and message_id:
                    mid = int(message_id)
                    q = state.messages.get(sid, [])
                    state.messages[sid] = [m for m in q if m["id"] != mid]
                    state.acks.append([sid, mid])
                    return self.reply(204)
                if method != "GET":
                    return self.error(405, "MethodNotAllowed", method)
                last = int(self.query.get("lastMessageId", ["0"])[0])
                cap = self.headers.get("X-ScaleSetMaxCapacity")
                record = {"scaleSetId": sid, "lastMessageId": last, "maxCapacity": cap}
                state.polls.append(record)
                s["lastSeen"] = time.time()
                if state.empty200 > 0:
                    state.empty200 -= 1
                    record["status"] = "empty200"
                    return self.reply(200, raw=b"")
                deadline = time.time() + state.hold
                while True:
                    # Ids at or below lastMessageId count as processed (§3 ack).
                    pending = [m for m in state.messages.get(sid, []) if m["id"] > last]
                    if pending:
                        record["status"] = 200
                        record["messageId"] = pending[0]["id"]
                        return self.reply(200, raw=pending[0]["raw"])
                    left = deadline - time.time()
                    if left <= 0 or state.sessions.get(sid) is not s:
                        record["status"] = 202
                        s["lastSeen"] = time.time()
                        return self.reply(202)
                    state.lock.wait(min(left, 0.5))

        def acquire(self, sid, token):
            with state.lock:
                if self.queue_session(sid, token) is None:
                    return self.error(401, "UnauthorizedException", "message queue token invalid")
                ids = json.loads(self.body or b"[]")
                if not isinstance(ids, list):
                    return self.error(400, "ArgumentException", "a JSON array of ids required")
                state.acquired.extend(ids)
                self.reply(200, {"count": len(ids), "value": ids})

        def jit(self, sid):
            body = json.loads(self.body or b"{}")
            name = body.get("name")
            if not name:
                return self.error(400, "ArgumentException", "name required")
            if any(r["name"] == name for r in state.runners.values()):
                return self.error(409, "GitHub.DistributedTask.WebApi.AgentExistsException",
                                  "A runner named %s already exists." % name)
            rid = state.next_runner_id
            state.next_runner_id += 1
            runner = {"id": rid, "name": name, "runnerScaleSetId": sid, "busy": False,
                      "status": "offline"}
            state.runners[rid] = runner
            config = base64.b64encode(json.dumps(
                {".runner": base64.b64encode(json.dumps({"agentId": rid}).encode()).decode(),
                 ".credentials_rsaparams": state.secret("RSA")}).encode()).decode()
            state.secrets.append(config)
            self.reply(200, {"runner": runner, "encodedJITConfig": config})

        # --- control ----------------------------------------------------------------
        def control(self, method, what):
            body = json.loads(self.body or b"{}") if method == "POST" else {}
            with state.lock:
                if what == "state":
                    state.expire_sessions()
                    return self.reply(200, {
                        "acks": state.acks, "polls": state.polls, "acquired": state.acquired,
                        "calls": state.calls, "secrets": state.secrets,
                        "jwtChecks": state.jwt_checks, "deletedSessions": state.deleted_sessions,
                        "sessions": {str(k): {"id": v["id"], "owner": v["owner"]}
                                     for k, v in state.sessions.items()},
                        "sessionCreates": state.session_creates,
                        "scaleSets": list(state.scale_sets.values()),
                        "runners": list(state.runners.values()),
                        "pending": {str(k): [m["id"] for m in v]
                                    for k, v in state.messages.items()}})
                if what == "enqueue":
                    sid = body["scaleSetId"]
                    if "statistics" in body:
                        state.statistics[sid] = body["statistics"]
                    mid = state.next_message_id
                    state.next_message_id += 1
                    if "raw" in body:
                        raw = body["raw"].encode()
                    else:
                        raw = json.dumps({"messageId": mid,
                                          "messageType": "RunnerScaleSetJobMessages",
                                          "body": json.dumps(body.get("jobs", [])),
                                          "statistics": state.stats(sid)}).encode()
                    if body.get("bom"):
                        raw = BOM + raw
                    state.messages.setdefault(sid, []).append({"id": mid, "raw": raw})
                    state.lock.notify_all()
                    return self.reply(200, {"messageId": mid})
                if what == "statistics":
                    state.statistics[body["scaleSetId"]] = body["statistics"]
                    return self.reply(200, {})
                if what == "expire":
                    table = {"admin": state.admin_tokens, "installation": state.installation_tokens,
                             "registration": state.registration_tokens}.get(body["what"])
                    if body["what"] == "queue":
                        state.queue_tokens.clear()
                    elif table is not None:
                        for k in table:
                            table[k] = 0
                    return self.reply(200, {})
                if what == "fail":
                    body.setdefault("count", 1)
                    state.failures.append(body)
                    return self.reply(200, {})
                if what == "empty200":
                    state.empty200 = body.get("count", 1)
                    return self.reply(200, {})
                if what == "settings":
                    state.hold = float(body.get("hold", state.hold))
                    state.session_timeout = float(body.get("sessionTimeout",
                                                           state.session_timeout))
                    state.admin_lifetime = int(body.get("adminLifetime", state.admin_lifetime))
                    return self.reply(200, {})
                if what == "session":
                    s = self.new_session(body["scaleSetId"], body.get("ownerName", "crashed"))
                    return self.reply(200, {"sessionId": s["id"]})
                if what == "drop_sessions":
                    state.sessions.pop(body.get("scaleSetId"), None)
                    state.lock.notify_all()
                    return self.reply(200, {})
                if what == "runner":
                    if body["id"] in state.runners:
                        state.runners[body["id"]]["busy"] = body.get("busy", False)
                    return self.reply(200, {})
            self.error(404, "NotFound", "no control " + what)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pat", default="ghp_fakepat")
    ap.add_argument("--app-public-key", default="", help="PEM file to verify App JWTs with")
    args = ap.parse_args()
    state = State(args.app_public_key, args.pat)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
