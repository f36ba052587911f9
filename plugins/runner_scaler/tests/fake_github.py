#!/usr/bin/env python3
"""A fake GitHub REST API on 127.0.0.1 for the runner_scaler tests.

It follows the documented shapes of the endpoints the scaler uses:
  GET  /repos/{owner}/{repo}/actions/runs?status=queued|in_progress&per_page&page
       -> {"total_count", "workflow_runs": [...]}, Link: <...>; rel="next", <...>; rel="last"
  GET  /repos/{owner}/{repo}/actions/runs/{run_id}/jobs?per_page&page
       -> {"total_count", "jobs": [...]}
  GET  /orgs/{org}/repos -> [{"full_name", ...}]
  POST /app/installations/{id}/access_tokens (Bearer App JWT) -> 201 {"token", "expires_at"}
  POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig, /orgs/{org}/... (JIT runners)
       {"name", "runner_group_id", "labels", "work_folder"} -> 201 {"runner", "encoded_jit_config"}
       (409 when the name exists, 422 for a missing field or no labels)
  GET  /repos/{owner}/{repo}/actions/runners, /orgs/{org}/actions/runners?per_page&page
       -> {"total_count", "runners": [{"id", "name", "os", "status", "busy", "labels"}]}
  DELETE /repos/{owner}/{repo}/actions/runners/{id}, /orgs/{org}/... -> 204; 422 while busy;
       404 when unknown
Every answer carries ETag and the x-ratelimit-* headers; If-None-Match with the current ETag
answers 304 and costs no rate limit. Tests steer it through /_admin/* (state, rate limit
exhaustion, retry-after, the request log).
"""
import base64
import hashlib
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class State:
    def __init__(self, token, app_id=None):
        self.lock = threading.Lock()
        self.tokens = {token} if token else set()
        self.app_id = app_id
        self.runs = {}  # repo -> {run_id: {"status": ..., "jobs": [...]}}
        self.page_size = None  # forces pagination when set
        self.limit = 5000
        self.remaining = 5000
        self.reset = int(time.time()) + 3600
        self.exhausted_until = 0
        self.retry_after = None  # (status, seconds): answer once with it
        self.requests = []
        self.token_ttl = 3600
        self.runners = {}  # id -> runner (scope, name, labels, status, busy, jit)
        self.next_runner_id = 1000
        self.issued_jit_configs = []  # every JIT config handed out (tests grep logs for them)


def job_json(job, repo):
    owner, name = repo.split("/")
    out = {
        "id": job["id"],
        "run_id": job["run_id"],
        "run_url": f"https://api.github.com/repos/{repo}/actions/runs/{job['run_id']}",
        "node_id": "CR_kwDO" + str(job["id"]),
        "head_sha": "f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0",
        "url": f"https://api.github.com/repos/{repo}/actions/jobs/{job['id']}",
        "status": job["status"],
        "conclusion": "success" if job["status"] == "completed" else None,
        "created_at": job.get("created_at", iso(time.time() - 30)),
        "started_at": job.get("started_at", iso(time.time() - 30)),
        "completed_at": None,
        "name": "build",
        "steps": [],
        "labels": job["labels"],
        "runner_id": None,
        "runner_name": job.get("runner_name"),
        "runner_group_id": None,
        "runner_group_name": None,
        "workflow_name": "CI",
        "head_branch": "main",
    }
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body until the client's delayed ACK (40 ms per request on Linux), which GitHub does not.
    disable_nagle_algorithm = True
    state: State = None

    def log_message(self, *args):
        pass

    def reply(self, status, body=None, headers=None, cost=True):
        st = self.state
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        hdrs = dict(headers or {})
        if cost and status != 304:
            st.remaining = max(0, st.remaining - 1)
        hdrs.setdefault("x-ratelimit-limit", str(st.limit))
        hdrs.setdefault("x-ratelimit-remaining", str(st.remaining))
        hdrs.setdefault("x-ratelimit-used", str(st.limit - st.remaining))
        hdrs.setdefault("x-ratelimit-reset", str(st.reset))
        hdrs.setdefault("x-ratelimit-resource", "core")
        hdrs.setdefault("x-github-api-version-selected", "2022-11-28")
        if data:
            hdrs.setdefault("Content-Type", "application/json; charset=utf-8")
        hdrs["Content-Length"] = str(len(data))
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.state.tokens

    def paged(self, items, query, key, base):
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        if self.state.page_size:
            per_page = self.state.page_size
        page = int(query.get("page", ["1"])[0])
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        q = {k: v[0] for k, v in query.items() if k != "page"}
        def url(p):
            return base + "?" + urllib.parse.urlencode({**q, "page": p})
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
            links.append(f'<{url(page - 1)}>; rel="prev"')
        body = {"total_count": len(items), key: chunk}
        return body, ({"Link": ", ".join(links)} if links else {})

    def conditional(self, body, headers):
        etag = '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'
        headers["ETag"] = etag
        if self.headers.get("If-None-Match") == etag:
            return self.reply(304, None, headers, cost=False)
        return self.reply(200, body, headers)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        st = self.state
        parsed = urllib.parse.urlparse(self.path)
        path, query = parsed.path, urllib.parse.parse_qs(parsed.query)
        payload = self.body()
        if path.startswith("/_admin/"):
            return self.admin(method, path, payload)
        with st.lock:
            st.requests.append({
                "method": method, "path": path, "query": parsed.query, "time": time.time(),
                "accept": self.headers.get("Accept"),
                "version": self.headers.get("X-GitHub-Api-Version"),
                "if_none_match": self.headers.get("If-None-Match"),
            })
            now = time.time()
            if method == "POST" and path.startswith("/app/installations/"):
                return self.app_token(path)
            if not self.authorized():
                return self.reply(401, {"message": "Bad credentials",
                                        "documentation_url": "https://docs.github.com/rest"})
            if st.retry_after:
                status, seconds = st.retry_after
                st.retry_after = None
                return self.reply(status, {"message": "You have exceeded a secondary rate limit."},
                                  {"retry-after": str(seconds)})
            if now < st.exhausted_until:
                return self.reply(403, {"message": "API rate limit exceeded"},
                                  {"x-ratelimit-remaining": "0",
                                   "x-ratelimit-reset": str(int(st.exhausted_until))}, cost=False)
            parts = path.strip("/").split("/")
            if len(parts) == 5 and parts[0] == "repos" and parts[3:] == ["actions", "runs"]:
                repo = parts[1] + "/" + parts[2]
                status = query.get("status", [None])[0]
                runs = [{"id": rid, "status": r["status"], "name": "CI",
                         "repository": {"full_name": repo}}
                        for rid, r in sorted(st.runs.get(repo, {}).items())
                        if status is None or r["status"] == status]
                body, headers = self.paged(runs, query, "workflow_runs",
                                           f"http://{self.headers.get('Host')}{path}")
                return self.conditional(body, headers)
            if len(parts) == 7 and parts[0] == "repos" and parts[3:5] == ["actions", "runs"] \
                    and parts[6] == "jobs":
                repo = parts[1] + "/" + parts[2]
                run = st.runs.get(repo, {}).get(int(parts[5]))
                if run is None:
                    return self.reply(404, {"message": "Not Found"})
                jobs = [job_json(j, repo) for j in run["jobs"]]
                body, headers = self.paged(jobs, query, "jobs",
                                           f"http://{self.headers.get('Host')}{path}")
                return self.conditional(body, headers)
            if len(parts) == 3 and parts[0] == "orgs" and parts[2] == "repos":
                repos = [{"full_name": r, "name": r.split("/")[1]} for r in sorted(st.runs)
                         if r.startswith(parts[1] + "/")]
                return self.conditional(repos, {})
            handled = self.runners_route(method, parts, query, payload, path)
            if handled is not None:
                return handled
            return self.reply(404, {"message": "Not Found"})

    def app_token(self, path):
        st = self.state
        auth = self.headers.get("Authorization", "")
        try:
            header, claims, _sig = auth[7:].split(".")
            pad = lambda s: s + "=" * (-len(s) % 4)
            head = json.loads(base64.urlsafe_b64decode(pad(header)))
            c = json.loads(base64.urlsafe_b64decode(pad(claims)))
        except Exception:
            return self.reply(401, {"message": "A JSON web token could not be decoded"})
        now = time.time()
        if head.get("alg") != "RS256" or str(c.get("iss")) != str(st.app_id) or \
                c["exp"] - c["iat"] > 600 or c["iat"] > now + 1 or c["exp"] < now:
            return self.reply(401, {"message": "'Expiration time' claim ('exp') is too far in the future"})
        token = "ghs_" + hashlib.sha1(str(now).encode()).hexdigest()[:36]
        st.tokens.add(token)
        return self.reply(201, {"token": token, "expires_at": iso(now + st.token_ttl),
                                "permissions": {"actions": "read"},
                                "repository_selection": "all"})

    def admin(self, method, path, payload):
        st = self.state
        with st.lock:
            if path == "/_admin/runs" and method == "POST":
                data = json.loads(payload)
                st.runs = {repo: {int(k): v for k, v in runs.items()}
                           for repo, runs in data.items()}
                return self.reply(200, {"ok": True}, cost=False)
            if path == "/_admin/config" and method == "POST":
                data = json.loads(payload)
                if "page_size" in data:
                    st.page_size = data["page_size"]
                if "exhaust_for" in data:
                    st.exhausted_until = time.time() + data["exhaust_for"]
                if "retry_after" in data:
                    st.retry_after = tuple(data["retry_after"])
                return self.reply(200, {"ok": True}, cost=False)
            if path == "/_admin/requests":
                return self.reply(200, st.requests, cost=False)
            handled = self.runners_admin(method, path, payload)
            if handled is not None:
                return handled
        return self.reply(404, {"message": "Not Found"}, cost=False)


def _runners_scope(parts):
    """(scope, rest) for /repos/{o}/{r}/actions/runners/... or /orgs/{org}/actions/runners/..."""
    if len(parts) >= 5 and parts[0] == "repos" and parts[3:5] == ["actions", "runners"]:
        return "repos/" + parts[1] + "/" + parts[2], parts[5:]
    if len(parts) >= 4 and parts[0] == "orgs" and parts[2:4] == ["actions", "runners"]:
        return "orgs/" + parts[1], parts[4:]
    return None, None


def _runner_json(r):
    return {"id": r["id"], "name": r["name"], "os": "linux", "status": r["status"],
            "busy": r["busy"],
            "labels": [{"id": i + 1, "name": l,
                        "type": "read-only" if l == "self-hosted" else "custom"}
                       for i, l in enumerate(r["labels"])]}


def _done(handler, *args, **kwargs):
    """Replies and returns True: the request was handled (reply() itself returns None)."""
    handler.reply(*args, **kwargs)
    return True


def _runners_route(self, method, parts, query, payload, path):
    """Self-hosted runner endpoints (JIT config, list, delete). Called under state.lock."""
    st = self.state
    scope, rest = _runners_scope(parts)
    if scope is None:
        return None
    if method == "POST" and rest == ["generate-jitconfig"]:
        try:
            data = json.loads(payload or b"{}")
        except ValueError:
            return _done(self, 400, {"message": "Problems parsing JSON"})
        for key in ("name", "runner_group_id", "labels"):
            if key not in data:
                return _done(self, 422, {"message": "Invalid request.\n\n\"%s\" wasn't supplied." % key})
        labels = data["labels"]
        if not isinstance(labels, list) or not labels or len(labels) > 100:
            return _done(self, 422, {"message": "Invalid request.\n\nlabels must have 1-100 items."})
        if any(r["name"] == data["name"] and r["scope"] == scope for r in st.runners.values()):
            return _done(self, 409, {"message": "Already exists - A runner with the name %s already exists." % data["name"]})
        st.next_runner_id += 1
        rid = st.next_runner_id
        jit = base64.b64encode(json.dumps({".runner": "r%d" % rid, "secret": hashlib.sha1(
            ("jit%d%f" % (rid, time.time())).encode()).hexdigest()}).encode()).decode()
        runner = {"id": rid, "name": data["name"], "labels": labels, "status": "offline",
                  "busy": False, "scope": scope, "jit": jit,
                  "runner_group_id": data["runner_group_id"],
                  "work_folder": data.get("work_folder", "_work")}
        st.runners[rid] = runner
        st.issued_jit_configs.append(jit)
        return _done(self, 201, {"runner": _runner_json(runner), "encoded_jit_config": jit})
    if method == "GET" and rest == []:
        items = [_runner_json(r) for rid, r in sorted(st.runners.items()) if r["scope"] == scope]
        body, headers = self.paged(items, query, "runners",
                                   f"http://{self.headers.get('Host')}{path}")
        return _done(self, 200, body, headers)
    if len(rest) == 1 and rest[0].isdigit():
        runner = st.runners.get(int(rest[0]))
        if runner is None or runner["scope"] != scope:
            return _done(self, 404, {"message": "Not Found"})
        if method == "GET":
            return _done(self, 200, _runner_json(runner))
        if method == "DELETE":
            if runner["busy"]:
                return _done(self, 422, {"message": "Bad request - Runner \"%s\" is still running a job" % runner["name"]})
            del st.runners[runner["id"]]
            return _done(self, 204, None)
    return None


def _runners_admin(self, method, path, payload):
    """/_admin/runners: GET all (with their JIT configs, for tests); POST /_admin/runners/{id}
    {"busy": true, "status": "online"} changes one."""
    st = self.state
    if path == "/_admin/runners" and method == "GET":
        return _done(self, 200, list(st.runners.values()), cost=False)
    if path.startswith("/_admin/runners/") and method == "POST":
        runner = st.runners.get(int(path.rsplit("/", 1)[1]))
        if runner is None:
            return _done(self, 404, {"message": "Not Found"}, cost=False)
        runner.update({k: v for k, v in json.loads(payload).items() if k in ("busy", "status")})
        return _done(self, 200, runner, cost=False)
    return None


Handler.runners_route = _runners_route
Handler.runners_admin = _runners_admin


def serve(token, app_id=None, port=0):
    state = State(token, app_id)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


if __name__ == "__main__":
    server, _ = serve(sys.argv[1] if len(sys.argv) > 1 else "ghp_demo")
    print(f"fake GitHub on http://127.0.0.1:{server.server_address[1]}", flush=True)
    if len(sys.argv) > 2:  # a port file for tests that start it as a process
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        import os
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
