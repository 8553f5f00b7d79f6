#!/usr/bin/env python3
"""Re-runs the outside security test's findings (issue 15) against a packaged Sluice jar, from outside the process.

    python3 sluice-bench/security/outside-check.py                       # the jar of this checkout
    python3 sluice-bench/security/outside-check.py --jar /tmp/old.jar    # an older build, for a before/after

Starts two simulated nodes (qwen3:32b, qwen2:7b), one gateway over plain HTTP (auth tokens, admin token, 1 GiB heap)
and one over HTTPS with its HTTP->HTTPS redirect port, all on 127.0.0.1, then tries each finding the way the outside
test did and prints one line per finding: FOUND (the weakness is there) or fixed. Exit status = findings found.
Needs python3, java and openssl; runs about two minutes (the idle keep-alive check waits past 60 s). Everything it
starts is stopped on exit. Finding 4 (DNS rebinding) needs a DNS server the script does not have: it is checked by
RunTimeNodesTest with an injected resolver, and reported here as "not run".
"""
import argparse
import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Setup:
    def __init__(self, jar):
        self.jar = jar
        self.dir = tempfile.mkdtemp(prefix="sluice-outside-")
        self.procs = []
        self.sim_big, self.sim_small, self.closed = free_port(), free_port(), free_port()
        self.port, self.tls_port, self.redirect_port = free_port(), free_port(), free_port()
        self.admin_token = "sluice-admin-" + secrets.token_urlsafe(30)
        self.log = os.path.join(self.dir, "gateway.log")

    def start(self):
        for port, model, gpu in ((self.sim_big, "qwen3:32b", "H100"), (self.sim_small, "qwen2:7b", "A10")):
            self.spawn(["sim", "--port", str(port), "--gpu", gpu, "--model", model, "--time-scale", "0",
                        "--id", model.replace(":", "-")], "sim-%d.log" % port)
        keys = os.path.join(self.dir, "keys.json")
        self.token = self.cli(["keys", "create", "--keys-file", keys, "--tenant", "outside"])
        self.scoped = self.cli(["keys", "create", "--keys-file", keys, "--tenant", "scoped", "--model", "qwen3:32b"])
        providers = {
            "big": {"api": "ollama", "models": [{"id": "qwen3:32b", "contextWindow": 1024, "maxTokens": 256,
                                                  "overflowModel": "qwen2:7b"}],
                    "nodes": [{"id": "h100-01", "baseUrl": "http://127.0.0.1:%d" % self.sim_big, "gpuType": "H100"}]},
            "small": {"api": "ollama", "models": [{"id": "qwen2:7b", "contextWindow": 32768, "maxTokens": 256}],
                      "nodes": [{"id": "a10-01", "baseUrl": "http://127.0.0.1:%d" % self.sim_small, "gpuType": "A10"}]},
        }
        base = {"auth": {"mode": "tokens", "keysFile": keys},
                "admin": {"tokenSha256": hashlib.sha256(self.admin_token.encode()).hexdigest()},
                "degradation": {"downgrade": {"qwen3:32b": "qwen2:7b"}},
                "providers": providers}
        plain = dict(base, server={"host": "127.0.0.1", "port": self.port})
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        tls = dict(base, server={"host": "127.0.0.1", "port": self.tls_port,
                                 "tls": {"certFile": cert, "keyFile": key, "redirectHttpPort": self.redirect_port}})
        for name, cfg in (("plain.json", plain), ("tls.json", tls)):
            with open(os.path.join(self.dir, name), "w") as f:
                json.dump(cfg, f)
        self.gateway = self.spawn(["serve", "--config", os.path.join(self.dir, "plain.json")], self.log,
                                  java_opts=["-Xms256m", "-Xmx1g"])
        self.spawn(["serve", "--config", os.path.join(self.dir, "tls.json")], "gateway-tls.log")
        ok = wait_for(lambda: self.ready(), 60, 0.5)
        if not ok:
            sys.exit("gateway did not become ready; see " + self.log)

    def ready(self):
        try:
            return self.get("/readyz")[0] == 200 and self.chat(self.token, "qwen3:32b", "hi")[0] == 200
        except OSError:
            return False

    def cli(self, args):
        return subprocess.run(["java", "-jar", self.jar] + args, check=True, capture_output=True,
                              text=True).stdout.strip()

    def spawn(self, args, log, java_opts=()):
        out = open(log if os.path.isabs(log) else os.path.join(self.dir, log), "w")
        p = subprocess.Popen(["java", *java_opts, "-jar", self.jar] + args, stdout=out, stderr=subprocess.STDOUT,
                             cwd=self.dir)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()

    # ---------------------------------------------------------------- HTTP helpers

    def request(self, method, path, body=None, headers=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=30)
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        out = (r.status, r.read().decode("utf-8", "replace"), {k.lower(): v for k, v in r.getheaders()})
        conn.close()
        return out

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def admin(self, method, path, body=None):
        return self.request(method, path, body, {"Authorization": "Bearer " + self.admin_token,
                                                 "Content-Type": "application/json"})

    def chat(self, token, model, text, extra_headers=None):
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        headers.update(extra_headers or {})
        return self.request("POST", "/v1/chat/completions",
                            {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": text}]}, headers)

    def heap_used(self):
        subprocess.run(["jcmd", str(self.gateway.pid), "GC.run"], capture_output=True)
        _, text, _ = self.admin("GET", "/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("jvm_memory_used_bytes{") and 'area="heap"' in line)

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()


# -------------------------------------------------------------------- the findings

def node_body(s, node_id, base_url, **extra):
    body = {"id": node_id, "baseUrl": base_url, "api": "ollama", "gpuType": "A10", "model": "qwen3:32b"}
    body.update(extra)
    return body


def f1_repair_command(s):
    marker = os.path.join(s.dir, "pwned")
    status, text, _ = s.admin("POST", "/admin/nodes", node_body(s, "evil-cmd", "http://127.0.0.1:%d" % s.closed,
                                                               repair={"command": "touch " + marker}))
    if status >= 300:
        return False, "POST /admin/nodes with repair.command: %d %s" % (status, text[:160])
    ran = wait_for(lambda: os.path.exists(marker), 30, 0.5)
    return True, "node added (%d); command %s" % (status, "RAN" if ran else "did not run within 30 s")


def f2_webhook_metadata(s):
    status, text, _ = s.admin("POST", "/admin/nodes", node_body(
        s, "evil-hook", "http://127.0.0.1:%d" % s.closed,
        repair={"webhook": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}))
    return status < 300, "repair.webhook at 169.254.169.254: %d %s" % (status, text[:160])


def f3_ipv6_forms(s):
    found = []
    for i, url in enumerate(("http://[::169.254.169.254]:80", "http://[64:ff9b::a9fe:a9fe]:80",
                             "http://[::ffff:0:a9fe:a9fe]:80", "http://[2002:a9fe:a9fe::1]:80",
                             "http://2852039166:80")):
        status, text, _ = s.admin("POST", "/admin/nodes", node_body(s, "evil-v6-%d" % i, url))
        if status < 300:
            found.append("%s -> %d" % (url, status))
    return bool(found), ", ".join(found) or "all 5 forms refused with 400"


def f5_memory(s):
    before = s.heap_used()
    socks = []
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n" % s.token).encode()
    for _ in range(40):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(head)
        socks.append(c)
    time.sleep(2)
    after = s.heap_used()
    for c in socks:
        c.close()
    grown = (after - before) / 2 ** 20
    return grown > 100, "40 requests announcing 10 MiB and sending nothing: heap %+.0f MiB" % grown


def still_open(c):
    try:
        c.setblocking(False)
        return c.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def f6_slowloris_and_idle(s):
    slow, idle = [], []
    for _ in range(200):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(c)
    for _ in range(200):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        c.recv(4096)
        idle.append(c)
    end = time.time() + 70
    while time.time() < end:  # one header byte per second on every slow connection
        for c in slow:
            try:
                c.send(b"X")
            except OSError:
                pass
        time.sleep(1)
    open_slow = sum(still_open(c) for c in slow)
    open_idle = sum(still_open(c) for c in idle)
    for c in slow + idle:
        c.close()
    return open_slow + open_idle > 20, ("after 70 s: %d of 200 slowloris and %d of 200 idle keep-alive connections "
                                        "still open" % (open_slow, open_idle))


def f7_h2c(s):
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
              b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    line = c.recv(4096).split(b"\r\n", 1)[0].decode()
    c.close()
    return line.startswith("HTTP/1.1 101"), "Upgrade: h2c answered " + line


def f8_overflow_scope(s):
    long_prompt = " ".join("word%d" % i for i in range(3000))
    status, text, headers = s.chat(s.scoped, "qwen3:32b", long_prompt)
    overflow = status == 200 or "x-sluice-overflow-model" in headers  # sent there, whatever that node answered
    s.admin("POST", "/admin/degradation", {"level": "downgrade", "model": "qwen3:32b"})
    st2, _, h2 = s.chat(s.scoped, "qwen3:32b", "hello")
    s.admin("DELETE", "/admin/degradation")
    downgraded = "x-model-downgraded" in h2
    return overflow or downgraded, ("key scoped to qwen3:32b, padded prompt: %d %s%s; forced downgrade: %d%s"
                                    % (status, "X-Sluice-Overflow-Model " if overflow else "",
                                       headers.get("x-sluice-overflow-model", text[:100]), st2,
                                       " X-Model-Downgraded " + h2["x-model-downgraded"] if downgraded else ""))


def f9_key_bodies(s):
    created = []
    for body in ({"tenant": "t1", "models": "qwen2:7b"}, {"tenant": "t2", "modles": ["qwen2:7b"]}):
        status, text, _ = s.admin("POST", "/admin/keys", body)
        if status < 300:
            created.append("%s -> %d (models: %s)" % (json.dumps(body), status, json.loads(text).get("models")))
    return bool(created), "; ".join(created) or "both refused with 400"


def f10_throttle(s):
    codes = []
    for i in range(30):
        status, _, _ = s.chat("sk-sluice-" + secrets.token_urlsafe(30)[:40], "qwen3:32b", "hi")
        codes.append(status)
        time.sleep(0.1)
    admin_codes = [s.request("GET", "/admin/nodes", headers={"Authorization": "Bearer sluice-admin-wrong%d" % i})[0]
                   for i in range(10)]
    still_ok = s.chat(s.token, "qwen3:32b", "hi")[0]
    throttled = codes.count(429) + admin_codes.count(429)
    return throttled == 0, ("30 wrong gateway tokens at 10/s: %d x 401, %d x 429; then 10 wrong admin tokens: %d x 429;"
                            " a token that worked before: %d" % (codes.count(401), codes.count(429),
                                                                  admin_codes.count(429), still_ok))


def f11_hsts(s):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", s.tls_port, context=ctx, timeout=10)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    hsts = r.getheader("Strict-Transport-Security")
    conn.close()
    plain = s.request("GET", "/healthz", port=s.redirect_port)
    return hsts is None, "HTTPS answer Strict-Transport-Security: %s; redirect port: %d %s" % (
        hsts, plain[0], plain[2].get("strict-transport-security", "(no HSTS on plain HTTP)"))


def f12_request_id(s):
    status, _, headers = s.chat(s.token, "qwen3:32b", "hi", {"X-Request-Id": s.token})
    time.sleep(1)
    echoed = headers.get("x-request-id") == s.token
    logged = s.token in s.log_text()
    return echoed or logged, "token as X-Request-Id: echoed %s, in the gateway log %s" % (echoed, logged)


def f13_login(s):
    before = s.log_text().count("\n")
    status, text, _ = s.request("POST", "/console/login", b"token=x",
                                {"Content-Type": "multipart/form-data;boundary="})
    time.sleep(1)
    new = s.log_text().splitlines()[before:]
    trace = sum(1 for line in new if line.lstrip().startswith("at "))
    return status >= 500 or trace > 0, "malformed multipart sign-in: %d, %d new log lines (%d stack frames)" % (
        status, len(new), trace)


def f14_unknown_model(s):
    status, text, _ = s.chat(s.scoped, "no-such-model", "hi")
    return "qwen2:7b" in text, "unknown model with a key scoped to qwen3:32b: %d %s" % (status, text[:200])


FINDINGS = [
    (1, "command execution through POST /admin/nodes repair.command", f1_repair_command),
    (2, "repair.webhook to the metadata address", f2_webhook_metadata),
    (3, "address policy bypass by IPv6 forms and numeric IPv4", f3_ipv6_forms),
    (4, "DNS rebinding of a run-time node", None),
    (5, "memory reserved for announced, unsent bodies", f5_memory),
    (6, "no request-head or keep-alive idle timeout", f6_slowloris_and_idle),
    (7, "h2c upgrade before authentication", f7_h2c),
    (8, "overflow/downgrade model outside the key's scope", f8_overflow_scope),
    (9, "admin key creation fails open", f9_key_bodies),
    (11, "no Strict-Transport-Security over HTTPS", f11_hsts),
    (12, "token sent as X-Request-Id logged or echoed", f12_request_id),
    (13, "malformed sign-in answered 500 with a stack trace", f13_login),
    (14, "unknown-model 404 lists models outside the key's scope", f14_unknown_model),
    (10, "no throttling of failed credentials", f10_throttle),  # last: it leaves this address in backoff
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jar", default=os.path.join(REPO, "sluice-app", "target", "sluice.jar"))
    ap.add_argument("--keep", action="store_true", help="keep the working directory (logs, configs)")
    args = ap.parse_args()
    s = Setup(os.path.abspath(args.jar))
    found = 0
    try:
        s.start()
        print("jar: %s\nworking directory: %s\n" % (s.jar, s.dir))
        for number, title, check in FINDINGS:
            if check is None:
                print("%2d  not run  %s: checked by RunTimeNodesTest (injected resolver)" % (number, title))
                continue
            try:
                bad, detail = check(s)
            except Exception as e:  # a check that cannot run counts as found: nothing is proven
                bad, detail = True, "check failed: %r" % e
            found += bad
            print("%2d  %-7s  %s: %s" % (number, "FOUND" if bad else "fixed", title, detail), flush=True)
        print("\n%d of %d findings checked are still there" % (found, sum(1 for f in FINDINGS if f[2])))
    finally:
        s.stop()
        if not args.keep:
            shutil.rmtree(s.dir, ignore_errors=True)
    sys.exit(found)


if __name__ == "__main__":
    main()
