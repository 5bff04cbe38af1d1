#!/usr/bin/env python3
"""Records the real syslog datagrams in this folder (run by hand; tests only read the output).

Starts HAProxy 2.6 and, if present, NGINX 1.22 on free 127.0.0.1 ports, each logging over UDP
to a collector here, sends a fixed set of requests (a slow loopback backend, a refused one, a
server timeout, bad requests, IPv6, a request longer than HAProxy's 1024-byte log line) and
writes one datagram per line (HAProxy's trailing newline dropped) to:
  haproxy-2.6-httplog-rfc3164.log   option httplog, default RFC 3164 framing
  haproxy-2.6-augur-rfc5424.log     Augur key=value log-format, `format rfc5424`
  haproxy-2.6-augur-json.log        Augur JSON log-format, RFC 3164
  nginx-1.22-augur-json.log         Augur log_format escape=json, syslog:server=
  nginx-1.22-combined.log           NGINX's default combined format (must be rejected)
usage: capture.py OUTDIR
"""
import os, signal, socket, subprocess, sys, tempfile, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Slow(BaseHTTPRequestHandler):
    """GET /x/<seconds> sleeps that long, then answers 200 with 10 bytes."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            time.sleep(float(self.path.rsplit("/", 1)[-1] or 0))
        except ValueError:
            pass
        body = b"x" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Collector:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.stop = False
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                d = self.sock.recv(70000)
            except socket.timeout:
                continue
            self.lines.append(d[:-1] if d.endswith(b"\n") else d)

    def wait(self, n, timeout=10):
        end = time.time() + timeout
        while len(self.lines) < n and time.time() < end:
            time.sleep(0.02)

    def close(self):
        self.stop = True
        self.thread.join()


def raw(port, data, half_close=False, host="127.0.0.1"):
    s = socket.create_connection((host, port))
    s.settimeout(5)
    s.sendall(data)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


def get(port, path, host="127.0.0.1"):
    raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", host=host)


def wait_listen(port, host="127.0.0.1"):
    for _ in range(200):
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d never listened" % port)


def main(outdir):
    backend_port, refused_port = free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", backend_port), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="augur-capture-")
    logs = {name: Collector() for name in ("httplog", "kv", "json", "ng_json", "ng_combined")}
    fe = {name: free_port() for name in ("httplog", "kv", "json", "nginx")}
    cfg = f"""
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe_httplog
    bind 127.0.0.1:{fe['httplog']}
    bind [::1]:{fe['httplog']}
    log 127.0.0.1:{logs['httplog'].port} local0 info
    option httplog
    use_backend be_canary if {{ path_beg /canary }}
    use_backend be_real if {{ path_beg /real }}
    use_backend be_refused if {{ path_beg /refused }}
    default_backend be_primary
frontend fe_augur
    bind 127.0.0.1:{fe['kv']}
    log 127.0.0.1:{logs['kv'].port} format rfc5424 local0 info
    log-format "augur=1 ts=%Ts.%ms fe=%ft be=%b srv=%s st=%ST ta_ms=%Ta tr_ms=%Tr bytes=%B term=%tsc meth=%HM"
    use_backend be_canary if {{ path_beg /canary }}
    use_backend be_real if {{ path_beg /real }}
    default_backend be_primary
frontend fe_json
    bind 127.0.0.1:{fe['json']}
    log 127.0.0.1:{logs['json'].port} local0 info
    log-format '{{"augur":1,"ts":%Ts.%ms,"be":"%b","srv":"%s","st":%ST,"ta_ms":%Ta,"tr_ms":%Tr,"bytes":%B}}'
    default_backend be_primary
backend be_primary
    http-request return status 200 content-type text/plain string ok
backend be_canary
    http-request return status 503 content-type text/plain string down
backend be_real
    timeout server 1500ms
    server s1 127.0.0.1:{backend_port}
backend be_refused
    retries 1
    server s1 127.0.0.1:{refused_port}
"""
    with open(os.path.join(tmp, "haproxy.cfg"), "w") as f:
        f.write(cfg)
    hap = subprocess.Popen(["/usr/sbin/haproxy", "-f", os.path.join(tmp, "haproxy.cfg"), "-db"])
    for p in (fe["httplog"], fe["kv"], fe["json"]):
        wait_listen(p)
    h = fe["httplog"]
    get(h, b"/")
    get(h, b"/canary/x?a=b%20c")
    get(h, b"/real/0.05", host="::1")
    get(h, b"/real/0.2")
    get(h, b"/real/3")  # server timeout: 504 sH--
    get(h, b"/refused")  # connection refused: 503 SC--
    raw(h, b"GARBAGE\r\n\r\n")  # 400 PR-- <BADREQ>
    raw(h, b"GET / HTTP/1.1\r\nHost: t\r\n", half_close=True)  # aborted request: CR--
    get(h, b"/" + b"a" * 3000)  # longer than the 1024-byte log line: request cut
    raw(h, b"POST /canary HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    logs["httplog"].wait(10)
    get(fe["kv"], b"/")
    get(fe["kv"], b"/canary")
    get(fe["kv"], b"/real/0.03")
    raw(fe["kv"], b"GARBAGE\r\n\r\n")
    logs["kv"].wait(4)
    get(fe["json"], b"/")
    logs["json"].wait(1)
    hap.send_signal(signal.SIGTERM)
    hap.wait()

    if os.path.exists("/usr/sbin/nginx"):
        nconf = f"""
daemon off; master_process off; worker_processes 1;
pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  log_format augur escape=json '{{"augur":1,"te":$msec,"be":"$proxy_host",'
      '"srv":"$upstream_addr","st":$status,"ta_s":$request_time,'
      '"tr_s":"$upstream_response_time","bytes":$bytes_sent,"meth":"$request_method"}}';
  upstream primary {{ server 127.0.0.1:{backend_port}; }}
  upstream canary {{ server 127.0.0.1:{refused_port} max_fails=0; server 127.0.0.1:{backend_port} max_fails=0; }}
  server {{
    listen 127.0.0.1:{fe['nginx']};
    listen [::1]:{fe['nginx']};
    access_log syslog:server=127.0.0.1:{logs['ng_json'].port},tag=nginx,severity=info augur;
    access_log syslog:server=127.0.0.1:{logs['ng_combined'].port} combined;
    location /primary/ {{ proxy_pass http://primary; }}
    location /canary/ {{ proxy_pass http://canary; }}
    location /direct {{ return 204; }}
  }}
}}
"""
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write(nconf)
        ng = subprocess.Popen(["/usr/sbin/nginx", "-c", os.path.join(tmp, "nginx.conf"), "-p", tmp])
        n = fe["nginx"]
        wait_listen(n)
        logs["ng_json"].wait(0)
        get(n, b"/primary/0.05")
        get(n, b"/canary/0.02", host="::1")  # first upstream refused: two-entry lists
        get(n, b"/canary/0.01")
        get(n, b"/direct")  # no upstream: empty be/srv, tr_s ""
        get(n, b'/primary/a%22b"c')  # a raw '"' in the URI: escaped in JSON, \x22 in combined
        logs["ng_json"].wait(5)
        logs["ng_combined"].wait(5)
        ng.send_signal(signal.SIGTERM)
        ng.wait()

    for c in logs.values():
        c.close()
    server.shutdown()
    names = {"httplog": "haproxy-2.6-httplog-rfc3164.log", "kv": "haproxy-2.6-augur-rfc5424.log",
             "json": "haproxy-2.6-augur-json.log", "ng_json": "nginx-1.22-augur-json.log",
             "ng_combined": "nginx-1.22-combined.log"}
    for key, name in names.items():
        if logs[key].lines:
            with open(os.path.join(outdir, name), "wb") as f:
                for line in logs[key].lines:
                    f.write(line + b"\n")
        print(name, len(logs[key].lines))


if __name__ == "__main__":
    main(sys.argv[1])
