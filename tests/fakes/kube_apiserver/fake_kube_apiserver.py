#!/usr/bin/env python3
"""A fake Kubernetes API server for tests (Python 3 standard library only).

It serves the documented REST shapes of the objects the runner scaler uses, over HTTPS with a
certificate the test made, and authenticates a bearer token against a token file that it
re-reads on every request (so tests can rotate it) or a client certificate signed by the CA.

  /api/v1/namespaces/{ns}/{pods,secrets,events,configmaps}[/{name}[/status]]
  /api/v1/nodes[/{name}]                                   (cluster scoped)
  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]
  /apis/apps/v1/namespaces/{ns}/deployments[/{name}[/scale|/status]]
  /api/v1/{plural}, /apis/{g}/{v}/{plural}                 (lists and watches across namespaces)

What is faithful: one global resourceVersion counter (as etcd's revision), uid and
creationTimestamp, 201 on create, 409 AlreadyExists / Conflict (stale metadata.resourceVersion on
PUT or in a merge patch, failed delete preconditions) and 404 NotFound as Status objects, JSON
merge patch (RFC 7386, Content-Type application/merge-patch+json), Secret stringData folded into
base64 data, list with equality- and set-based labelSelector returning metadata.resourceVersion,
watch (?watch=1, chunked newline-delimited {"type","object"} events ADDED/MODIFIED/DELETED,
BOOKMARK with allowWatchBookmarks, timeoutSeconds), ERROR 410 Expired for a resourceVersion older
than the retained history, finalizers (deletionTimestamp until they are removed), and
ownerReferences garbage collection (Background, Foreground and Orphan propagation).

What is simplified, and said so: garbage collection and the deployment "controller" run
synchronously inside the request (status.replicas follows spec.replicas at once); pods are
deleted at once (no kubelet grace period); no field selectors, no strategic merge patch, no
RBAC, no admission.

Test control (no authentication, 127.0.0.1 only):
  POST /_fake/objects/{plural}/{ns|-}/{name}   JSON merge patch applied as a controller would
                                               (no precondition; e.g. {"status":{"phase":"Running"}})
  POST /_fake/nodes/{name}/gone                the node is deleted; its pods turn Failed with a
                                               DisruptionTarget condition (PodGC), then are
                                               deleted unless ?keep_pods=1
  POST /_fake/watches/drop                     every open watch connection is cut (no final chunk)
  POST /_fake/compact                          forget the event history: older versions get 410
  POST /_fake/fail {"status":503,"count":2,"retry_after":"1","method":"GET","path_contains":"/pods"}
                                               the next `count` matching API requests get `status`
  DELETE /_fake/fail                           no more injected failures
  POST /_fake/config {"bookmark_interval":1.0,"history":1000}
  GET  /_fake/requests, DELETE /_fake/requests the API requests seen (method, path, query, status,
                                               auth kind; never a credential)
  GET  /_fake/state                            resourceVersion, object counts, open watches

Usage: fake_kube_apiserver.py --cert server.pem --key server.key --ca ca.pem \
         --token-file token --port-file port [--host 127.0.0.1] [--port 0]
The chosen port is written to --port-file once the server listens.
"""

import argparse
import base64
import copy
import datetime
import hmac
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (group, version, plural) -> kind, namespaced
RESOURCES = {
    ("", "v1", "pods"): ("Pod", True),
    ("", "v1", "secrets"): ("Secret", True),
    ("", "v1", "events"): ("Event", True),
    ("", "v1", "configmaps"): ("ConfigMap", True),
    ("", "v1", "nodes"): ("Node", False),
    ("coordination.k8s.io", "v1", "leases"): ("Lease", True),
    ("apps", "v1", "deployments"): ("Deployment", True),
}
SUBRESOURCES = {("pods", "status"), ("deployments", "scale"), ("deployments", "status")}
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_version(group, version):
    return version if not group else group + "/" + version


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def qualified(plural, group):
    return plural if not group else plural + "." + group


def not_found(plural, group, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(plural, group), name),
                    {"name": name, "group": group, "kind": plural})


def conflict(plural, group, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                    % (qualified(plural, group), name),
                    {"name": name, "group": group, "kind": plural})


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_selector(text):
    """Label selector -> list of (key, op, values). Raises ApiError 400 when malformed."""
    requirements = []
    parts, depth, current = [], 0, ""
    for ch in text or "":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current or parts:
        parts.append(current)
    for raw in parts:
        part = raw.strip()
        m = re.match(r"^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            requirements.append((m.group(1), m.group(2), values))
            continue
        m = re.match(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$", part)
        if m:
            op = "=" if m.group(2) == "==" else m.group(2)
            requirements.append((m.group(1), op, {m.group(3)}))
            continue
        m = re.match(r"^(!?)([A-Za-z0-9./_-]+)$", part)
        if m:
            requirements.append((m.group(2), "!exists" if m.group(1) else "exists", set()))
            continue
        raise ApiError(400, "BadRequest", "unable to parse requirement: %r" % part)
    return requirements


def selector_matches(requirements, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and (not present or value not in values):
            return False
        if op == "!=" and present and value in values:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


class Store:
    """All objects, the global resourceVersion and the recent event history."""

    def __init__(self, history):
        self.cond = threading.Condition()
        self.rv = 0
        self.objects = {}  # (group, plural, ns, name) -> object
        self.history = deque()  # (rv, group, plural, ns, type, obj, old_obj)
        self.history_limit = history
        self.compacted = 0  # a watch from N is valid when N >= compacted
        self.drop_generation = 0
        self.open_watches = 0
        self.bookmark_interval = 2.0

    # --- writes (callers hold self.cond) ---
    def _record(self, key, event_type, obj, old):
        group, plural, ns, _ = key
        self.history.append((int(obj["metadata"]["resourceVersion"]), group, plural, ns,
                             event_type, copy.deepcopy(obj), old))
        while len(self.history) > self.history_limit:
            self.compacted = self.history.popleft()[0]
        self.cond.notify_all()

    def _bump(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def put(self, key, obj, event_type):
        old = self.objects.get(key)
        self._bump(obj)
        kind_controller(key, obj, old)
        self.objects[key] = obj
        self._record(key, event_type, obj, copy.deepcopy(old) if old else None)
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
            self.remove(key, "Background")
        return obj

    def remove(self, key, propagation):
        """Deletes the object at `key` (finalizers permitting) and collects its dependents."""
        obj = self.objects.get(key)
        if obj is None:
            return None
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_rfc3339()
                meta["deletionGracePeriodSeconds"] = 0
                self._bump(obj)
                self._record(key, "MODIFIED", obj, None)
            return obj
        uid = meta["uid"]
        if propagation == "Foreground":
            self._collect(uid, propagation)
        del self.objects[key]
        meta["deletionTimestamp"] = meta.get("deletionTimestamp") or now_rfc3339()
        self._bump(obj)
        self._record(key, "DELETED", obj, None)
        if propagation != "Foreground":
            self._collect(uid, propagation)
        return obj

    def _collect(self, owner_uid, propagation):
        live_uids = {o["metadata"]["uid"] for o in self.objects.values()}
        for key, dep in list(self.objects.items()):
            refs = dep["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == owner_uid for r in refs):
                continue
            remaining = [r for r in refs if r.get("uid") != owner_uid]
            if propagation == "Orphan" or any(r.get("uid") in live_uids for r in remaining):
                dep = copy.deepcopy(dep)
                if remaining:
                    dep["metadata"]["ownerReferences"] = remaining
                else:
                    dep["metadata"].pop("ownerReferences", None)
                self.put(key, dep, "MODIFIED")
            elif key in self.objects:
                self.remove(key, "Background" if propagation == "Orphan" else propagation)


def kind_controller(key, obj, old):
    """What the built-in controllers would do at once: deployment status follows its spec."""
    _, plural, _, _ = key
    if plural == "deployments":
        spec = obj.setdefault("spec", {})
        replicas = spec.setdefault("replicas", 1)
        generation = (old or {}).get("metadata", {}).get("generation", 0)
        if old is None or old.get("spec") != spec:
            generation += 1
        obj["metadata"]["generation"] = generation
        obj["status"] = {"observedGeneration": generation, "replicas": replicas,
                         "updatedReplicas": replicas, "readyReplicas": replicas,
                         "availableReplicas": replicas}


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def take(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.get("method") and rule["method"] != method:
                    continue
                if rule.get("path_contains") and rule["path_contains"] not in path:
                    continue
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.rules.remove(rule)
                return rule
        return None


REASONS = {429: "TooManyRequests", 500: "InternalError", 502: "InternalError",
           503: "ServiceUnavailable", 504: "Timeout"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    # Answers go out as header and body writes; with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms) and every request would look 40 ms slow.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet; /_fake/requests records what tests need
        pass

    def setup(self):
        # The TLS handshake, on this connection's own thread (accept() left it undone).
        self.request.settimeout(10)
        self.request.do_handshake()
        self.request.settimeout(None)
        super().setup()

    # --- plumbing ---
    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return code

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self):
        raw = self.read_body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ApiError(400, "BadRequest", "the request body is not valid JSON: %s" % e)
        return body

    def auth_kind(self):
        try:
            if self.connection.getpeercert():
                return "cert"
        except (AttributeError, ValueError):
            pass
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        presented = header[len("Bearer "):].strip().encode()
        try:
            with open(self.server.token_file, "rb") as f:
                tokens = [line.strip() for line in f.read().splitlines() if line.strip()]
        except OSError:
            tokens = []
        ok = False
        for token in tokens:
            ok |= hmac.compare_digest(token, presented)
        return "token" if ok else None

    def record(self, path, query, status, auth):
        with self.server.requests_lock:
            self.server.requests.append({"method": self.command, "path": path, "query": query,
                                         "status": status, "auth": auth or "none"})

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if path.startswith("/_fake/"):
            try:
                return self.control(path, query)
            except ApiError as e:
                return self.send_json(e.code, e.status())
        auth = self.auth_kind()
        status = 0
        try:
            if auth is None:
                self.read_body()
                raise ApiError(401, "Unauthorized", "Unauthorized")
            fault = self.server.faults.take(self.command, path)
            if fault:
                self.read_body()
                headers = {"Retry-After": str(fault["retry_after"])} if fault.get(
                    "retry_after") is not None else {}
                code = int(fault.get("status", 503))
                status = self.send_json(code, ApiError(
                    code, REASONS.get(code, "InternalError"), "injected failure").status(), headers)
                return
            status = self.api(path, query)
        except ApiError as e:
            status = self.send_json(e.code, e.status())
        except Exception as e:  # a bug in the fake: say so loudly, answer 500
            import traceback
            traceback.print_exc()
            status = self.send_json(500, ApiError(500, "InternalError",
                                                  "fake apiserver bug: %r" % e).status())
        finally:
            self.record(path, url.query, status, auth)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # --- the API ---
    def route(self, path):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        plural = rest[0]
        if (group, version, plural) not in RESOURCES:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        kind, namespaced = RESOURCES[(group, version, plural)]
        if not namespaced and ns is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub and (plural, sub) not in SUBRESOURCES:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return {"group": group, "version": version, "plural": plural, "kind": kind,
                "namespaced": namespaced, "ns": ns if namespaced else "", "name": name,
                "sub": sub, "all_ns": namespaced and ns is None}

    def api(self, path, query):
        r = self.route(path)
        method = self.command
        if r["name"] is None:
            if method == "GET":
                if query.get("watch", ["false"])[0] in ("1", "true"):
                    return self.watch(r, query)
                return self.list(r, query)
            if method == "POST" and not r["all_ns"]:
                return self.create(r, self.json_body(), query)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
        if r["sub"] == "scale":
            return self.scale(r)
        if method == "GET":
            return self.send_json(200, self.view(r, self.get(r)))
        if method == "PUT":
            return self.replace(r, self.json_body())
        if method == "PATCH":
            return self.patch(r)
        if method == "DELETE":
            return self.delete(r, query)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")

    def key(self, r, name=None):
        return (r["group"], r["plural"], r["ns"], name or r["name"])

    def get(self, r):
        obj = self.server.store.objects.get(self.key(r))
        if obj is None:
            raise not_found(r["plural"], r["group"], r["name"])
        return obj

    def view(self, r, obj):
        return copy.deepcopy(obj)

    def list(self, r, query):
        selector = parse_selector(query.get("labelSelector", [""])[0])
        store = self.server.store
        with store.cond:
            items = [copy.deepcopy(o) for (g, p, ns, _), o in sorted(store.objects.items())
                     if g == r["group"] and p == r["plural"]
                     and (r["all_ns"] or ns == r["ns"]) and selector_matches(selector, o)]
            rv = str(store.rv)
        body = {"kind": r["kind"] + "List", "apiVersion": api_version(r["group"], r["version"]),
                "metadata": {"resourceVersion": rv}, "items": items}
        return self.send_json(200, body)

    def validate_new(self, r, obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        want_version = api_version(r["group"], r["version"])
        if obj.get("kind", r["kind"]) != r["kind"] or obj.get("apiVersion",
                                                               want_version) != want_version:
            raise ApiError(400, "BadRequest", "the API version in the data (%s) does not match "
                           "the expected API version (%s)" % (obj.get("apiVersion"), want_version))
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            raise ApiError(422, "Invalid", "%s: metadata is required" % r["kind"])
        if r["namespaced"] and meta.get("namespace") not in (None, "", r["ns"]):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                           "match the namespace sent on the request")
        return meta

    def create(self, r, obj, query):
        meta = self.validate_new(r, obj)
        store = self.server.store
        with store.cond:
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise ApiError(422, "Invalid", "%s \"\" is invalid: metadata.name: Required "
                                   "value: name or generateName is required" % r["kind"])
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta["name"]
            if len(name) > 253 or not NAME_RE.match(name):
                raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.name: Invalid value: '
                               '"%s": a lowercase RFC 1123 subdomain must consist of lower case '
                               "alphanumeric characters, '-' or '.'" % (r["kind"], name, name))
            key = self.key(r, name)
            if key in store.objects:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists'
                               % (qualified(r["plural"], r["group"]), name),
                               {"name": name, "group": r["group"], "kind": r["plural"]})
            obj["kind"], obj["apiVersion"] = r["kind"], api_version(r["group"], r["version"])
            for drop in ("resourceVersion", "deletionTimestamp", "generation"):
                meta.pop(drop, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if r["namespaced"]:
                meta["namespace"] = r["ns"]
            self.defaults(r, obj, None)
            if query.get("dryRun"):
                return self.send_json(201, obj)
            stored = store.put(key, obj, "ADDED")
            return self.send_json(201, copy.deepcopy(stored))

    def defaults(self, r, obj, old):
        if r["plural"] == "pods":
            obj["status"] = (old or {}).get("status") or {"phase": "Pending"}
        if r["plural"] == "secrets":
            obj.setdefault("type", "Opaque")
            data = obj.get("data") or {}
            for k, v in data.items():
                try:
                    base64.b64decode(v, validate=True)
                except (ValueError, TypeError):
                    raise ApiError(422, "Invalid", 'Secret "%s" is invalid: data[%s]: Invalid '
                                   "value: illegal base64 data" % (obj["metadata"]["name"], k))
            for k, v in (obj.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            if data:
                obj["data"] = data

    def replace(self, r, obj):
        meta = self.validate_new(r, obj)
        if meta.get("name") != r["name"]:
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the "
                           "name on the URL (%s)" % (meta.get("name"), r["name"]))
        store = self.server.store
        with store.cond:
            old = self.get(r)
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(r["plural"], r["group"], r["name"])
            return self.store_update(r, old, obj)

    def store_update(self, r, old, obj):
        if obj["metadata"].get("uid") not in (None, "", old["metadata"]["uid"]):
            raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID "
                           "in object meta: %s" % (obj["metadata"]["uid"], old["metadata"]["uid"]))
        obj["kind"], obj["apiVersion"] = r["kind"], api_version(r["group"], r["version"])
        for keep in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
            if keep in old["metadata"]:
                obj["metadata"][keep] = old["metadata"][keep]
        if r["plural"] == "pods" and r["sub"] != "status":
            obj["status"] = old.get("status")
        if r["plural"] == "secrets":
            self.defaults(r, obj, old)
        stored = self.server.store.put(self.key(r), obj, "MODIFIED")
        return self.send_json(200, copy.deepcopy(stored))

    def patch(self, r):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/merge-patch+json":
            self.read_body()
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                           "unknown format - accepted media types include: "
                           "application/merge-patch+json")
        patch = self.json_body()
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        store = self.server.store
        with store.cond:
            old = self.get(r)
            pmeta = patch.get("metadata") or {}
            if pmeta.get("resourceVersion") and pmeta["resourceVersion"] != \
                    old["metadata"]["resourceVersion"]:
                raise conflict(r["plural"], r["group"], r["name"])
            if pmeta.get("name") not in (None, r["name"]):
                raise ApiError(400, "BadRequest", "the name of the object cannot be changed")
            merged = merge_patch(old, patch)
            merged.setdefault("metadata", {})["name"] = r["name"]
            return self.store_update(r, old, merged)

    def delete(self, r, query):
        body = self.json_body() or {}
        propagation = query.get("propagationPolicy", [body.get("propagationPolicy")])[0] \
            or "Background"
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise ApiError(400, "BadRequest", "propagationPolicy %r is not one of Background, "
                           "Foreground, Orphan" % propagation)
        pre = body.get("preconditions") or {}
        store = self.server.store
        with store.cond:
            old = self.get(r)
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, "
                               "UID in object meta: %s" % (pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != \
                    old["metadata"]["resourceVersion"]:
                raise conflict(r["plural"], r["group"], r["name"])
            obj = store.remove(self.key(r), propagation)
            if r["plural"] == "pods" or obj["metadata"].get("finalizers"):
                return self.send_json(200, copy.deepcopy(obj))
            return self.send_json(200, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": r["name"], "group": r["group"], "kind": r["plural"],
                            "uid": obj["metadata"]["uid"]}})

    def scale(self, r):
        store = self.server.store
        with store.cond:
            dep = self.get(r)
            if self.command == "PATCH":
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype != "application/merge-patch+json":
                    self.read_body()
                    raise ApiError(415, "UnsupportedMediaType", "accepted media types include: "
                                   "application/merge-patch+json")
                patch = self.json_body() or {}
                current = self.scale_of(dep)
                pmeta = patch.get("metadata") or {}
                if pmeta.get("resourceVersion") and pmeta["resourceVersion"] != \
                        current["metadata"]["resourceVersion"]:
                    raise conflict(r["plural"], r["group"], r["name"])
                wanted = merge_patch(current, patch).get("spec", {}).get("replicas")
                if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 0:
                    raise ApiError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: '
                                   "spec.replicas: Invalid value: %s: must be greater than or "
                                   "equal to 0" % (r["name"], json.dumps(wanted)))
                dep = copy.deepcopy(dep)
                dep["spec"]["replicas"] = wanted
                dep = store.put(self.key(r), dep, "MODIFIED")
            elif self.command != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
            return self.send_json(200, self.scale_of(dep))

    @staticmethod
    def scale_of(dep):
        meta = dep["metadata"]
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp") if k in meta},
                "spec": {"replicas": dep["spec"]["replicas"]},
                "status": {"replicas": dep["status"]["replicas"],
                           "selector": ",".join("%s=%s" % kv for kv in sorted(labels.items()))}}

    # --- watch ---
    def chunk(self, payload):
        data = payload if isinstance(payload, bytes) else (json.dumps(payload) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, r, query):
        selector = parse_selector(query.get("labelSelector", [""])[0])
        bookmarks = query.get("allowWatchBookmarks", ["false"])[0] in ("1", "true")
        timeout = float(query.get("timeoutSeconds", ["1800"])[0])
        since = query.get("resourceVersion", [""])[0]
        store = self.server.store

        def mine(group, plural, ns):
            return group == r["group"] and plural == r["plural"] and (r["all_ns"] or
                                                                      ns == r["ns"])

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with store.cond:
            generation = store.drop_generation
            initial = []
            if since in ("", "0"):
                cursor = store.rv
                initial = [{"type": "ADDED", "object": copy.deepcopy(o)}
                           for (g, p, ns, _), o in sorted(store.objects.items())
                           if mine(g, p, ns) and selector_matches(selector, o)]
            else:
                try:
                    cursor = int(since)
                except ValueError:
                    cursor = -1
            store.open_watches += 1
        try:
            for event in initial:
                self.chunk(event)
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + store.bookmark_interval
            while True:
                with store.cond:
                    if store.drop_generation != generation:
                        self.cut()
                        return 200
                    if cursor < store.compacted:
                        gone = ApiError(410, "Expired", "too old resource version: %d (%d)"
                                        % (cursor, store.compacted))
                        self.chunk({"type": "ERROR", "object": gone.status()})
                        self.chunk(b"")
                        return 200
                    pending = [e for e in store.history if e[0] > cursor]
                    if not pending:
                        wait = min(deadline, next_bookmark) - time.monotonic()
                        if wait > 0:
                            store.cond.wait(min(wait, 0.5))
                        pending = [e for e in store.history if e[0] > cursor]
                    current_rv = store.rv
                for rv, g, p, ns, etype, obj, old in pending:
                    cursor = rv
                    if not mine(g, p, ns):
                        continue
                    now_match = selector_matches(selector, obj)
                    was_match = old is not None and selector_matches(selector, old)
                    if etype == "MODIFIED" and now_match and not was_match:
                        etype = "ADDED"
                    elif etype == "MODIFIED" and was_match and not now_match:
                        etype = "DELETED"
                    elif not now_match:
                        continue
                    self.chunk({"type": etype, "object": obj})
                now = time.monotonic()
                if now >= deadline:
                    self.chunk(b"")
                    return 200
                if bookmarks and now >= next_bookmark:
                    cursor = max(cursor, current_rv)
                    self.chunk({"type": "BOOKMARK", "object": {
                        "kind": r["kind"], "apiVersion": api_version(r["group"], r["version"]),
                        "metadata": {"resourceVersion": str(cursor)}}})
                if now >= next_bookmark:
                    next_bookmark = now + store.bookmark_interval
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
            return 200
        finally:
            with store.cond:
                store.open_watches -= 1

    def cut(self):
        """Drops the connection mid-stream, as a restarting API server or a load balancer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- test control ---
    def control(self, path, query):
        store = self.server.store
        parts = [p for p in path.split("/") if p][1:]
        if parts == ["requests"]:
            self.read_body()
            with self.server.requests_lock:
                seen = list(self.server.requests)
                if self.command == "DELETE":
                    self.server.requests.clear()
            return self.send_json(200, {"requests": seen})
        if parts == ["state"]:
            with store.cond:
                counts = {}
                for (g, p, _, _) in store.objects:
                    counts[qualified(p, g)] = counts.get(qualified(p, g), 0) + 1
                return self.send_json(200, {"resourceVersion": str(store.rv), "objects": counts,
                                            "openWatches": store.open_watches,
                                            "compacted": str(store.compacted)})
        body = self.json_body() or {}
        if parts == ["watches", "drop"]:
            with store.cond:
                store.drop_generation += 1
                store.cond.notify_all()
            return self.send_json(200, {})
        if parts == ["compact"]:
            with store.cond:
                store.compacted = store.rv
                store.history.clear()
                store.cond.notify_all()
            return self.send_json(200, {"compacted": str(store.compacted)})
        if parts == ["fail"] and self.command == "DELETE":
            with self.server.faults.lock:
                self.server.faults.rules.clear()
            return self.send_json(200, {})
        if parts == ["fail"]:
            rule = {"status": int(body.get("status", 503)), "count": int(body.get("count", 1)),
                    "retry_after": body.get("retry_after"), "method": body.get("method"),
                    "path_contains": body.get("path_contains")}
            with self.server.faults.lock:
                self.server.faults.rules.append(rule)
            return self.send_json(200, {})
        if parts == ["config"]:
            with store.cond:
                if "bookmark_interval" in body:
                    store.bookmark_interval = float(body["bookmark_interval"])
                if "history" in body:
                    store.history_limit = int(body["history"])
            return self.send_json(200, {})
        if len(parts) == 4 and parts[0] == "objects":
            return self.control_patch(parts[1], "" if parts[2] == "-" else parts[2], parts[3],
                                      body)
        if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "gone":
            return self.node_gone(parts[1], query.get("keep_pods", ["0"])[0] in ("1", "true"))
        raise ApiError(404, "NotFound", "no such control endpoint: " + path)

    def find_key(self, plural, ns, name):
        for (g, _, _), _ in RESOURCES.items():
            key = (g, plural, ns, name)
            if key in self.server.store.objects:
                return key
        raise ApiError(404, "NotFound", '%s "%s" not found' % (plural, name))

    def control_patch(self, plural, ns, name, patch):
        store = self.server.store
        with store.cond:
            key = self.find_key(plural, ns, name)
            merged = merge_patch(store.objects[key], patch)
            return self.send_json(200, copy.deepcopy(store.put(key, merged, "MODIFIED")))

    def node_gone(self, node, keep_pods):
        store = self.server.store
        with store.cond:
            key = ("", "nodes", "", node)
            if key in store.objects:
                store.remove(key, "Background")
            affected = []
            for pkey, pod in list(store.objects.items()):
                if pkey[1] != "pods" or (pod.get("spec") or {}).get("nodeName") != node:
                    continue
                pod = copy.deepcopy(pod)
                status = pod.setdefault("status", {})
                if status.get("phase") not in ("Succeeded", "Failed"):
                    status["phase"] = "Failed"
                    status.setdefault("conditions", []).append({
                        "type": "DisruptionTarget", "status": "True",
                        "reason": "DeletionByPodGC", "message": "PodGC: node no longer exists",
                        "lastTransitionTime": now_rfc3339()})
                store.put(pkey, pod, "MODIFIED")
                if not keep_pods:
                    store.remove(pkey, "Background")
                affected.append(pkey[3])
            return self.send_json(200, {"pods": affected})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # TLS handshakes refused by clients that do not trust the CA end up here



def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca", required=True, help="CA that signs accepted client certificates")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--history", type=int, default=10000)
    args = parser.parse_args()

    server = Server((args.host, args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.load_verify_locations(args.ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    # The handshake runs on the handler's thread at its first read, never in accept().
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    server.token_file = args.token_file
    server.store = Store(args.history)
    server.faults = Faults()
    server.requests = []
    server.requests_lock = threading.Lock()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
