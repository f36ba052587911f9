"""Helpers shared by the runner_scaler end-to-end scripts: ports, polling, files, and the fake
Kubernetes API server over HTTPS with a CA made at test time."""
import os
import signal
import socket
import ssl
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, timeout=15.0, every=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return check()


def make_certs(folder):
    script = (
        "set -e; cd '%s'; "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=fake-kube-ca "
        "-keyout ca.key -out ca.pem 2>/dev/null; "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout server.key "
        "-out server.csr 2>/dev/null; "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext; "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile san.ext -out server.pem 2>/dev/null" % folder)
    subprocess.run(["sh", "-c", script], check=True)


def read(path):
    with open(path) as f:
        return f.read()


def log_text(log):
    """Everything written so far to an open log file."""
    log.flush()
    return read(log.name)


def stop_process(proc, timeout):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def start_fake_kube(fake_path, folder, token_file, log):
    """Starts tests/fakes/kube_apiserver over HTTPS (certificates made in `folder`), accepting the
    token in `token_file`; returns (process, url, TLS context trusting its CA)."""
    make_certs(folder)
    port_file = os.path.join(folder, "kube-port")
    proc = subprocess.Popen(
        [sys.executable, fake_path, "--cert", os.path.join(folder, "server.pem"),
         "--key", os.path.join(folder, "server.key"), "--ca", os.path.join(folder, "ca.pem"),
         "--token-file", token_file, "--port-file", port_file],
        stdout=log, stderr=subprocess.STDOUT)
    eventually(lambda: os.path.exists(port_file) and read(port_file).strip(), 10)
    url = "https://127.0.0.1:" + read(port_file).strip()
    return proc, url, ssl.create_default_context(cafile=os.path.join(folder, "ca.pem"))


def write_kubeconfig(path, url, folder, token_file, namespace):
    """A kubeconfig for the fake: its CA from `folder`, a tokenFile, `namespace` as default."""
    write_atomic(path, f"""apiVersion: v1
kind: Config
current-context: e2e
clusters:
- name: fake
  cluster: {{server: "{url}", certificate-authority: {folder}/ca.pem}}
users:
- name: scaler
  user: {{tokenFile: {token_file}}}
contexts:
- name: e2e
  context: {{cluster: fake, user: scaler, namespace: {namespace}}}
""")
