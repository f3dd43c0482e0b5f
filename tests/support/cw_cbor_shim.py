"""CloudWatch CBOR -> JSON translator in front of moto, for the Rust SDK in tests.

aws-sdk-cloudwatch (Rust) speaks Smithy RPC-v2 CBOR:
  POST /service/GraniteServiceVersion20100801/operation/<Op>   (CBOR body)
moto speaks AWS JSON 1.0 for CloudWatch:
  POST /  X-Amz-Target: GraniteServiceVersion20100801.<Op>     (JSON body)
This process forwards the first as the second (keeping the Authorization header, whose
credential scope `monitoring` routes it in moto) and re-encodes the reply as CBOR:
timestamps as tag 1 around a float, doubles as floats, errors as {"__type", "message"} with the same HTTP status plus the
`x-amzn-query-error` header CloudWatch sends. Any other request (e.g. a JSON PutMetricData
from a test) is passed through unchanged.

Faults, for error-path tests: `POST /shim/fault` with JSON
  {"access_key": "AKID", "operation": "GetMetricData", "status": 400,
   "code": "ThrottlingException", "message": "...", "times": 2}
makes the next `times` calls of that operation signed with that access key fail so
(`times` -1: always). Keyed by access key, so tests running in parallel do not interfere.

Usage: python cw_cbor_shim.py [UPSTREAM_URL]
Without an upstream, moto is started in this process (moto.server.ThreadedMotoServer).
Prints "<shim port> <moto port>" on one line, then serves until standard input closes.
Only 127.0.0.1 is used.
"""
import datetime
import json
import re
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cbor2

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
TIMESTAMP_KEYS = {"Timestamp", "Timestamps", "StartTime", "EndTime", "StateUpdatedTimestamp",
                  "AlarmConfigurationUpdatedTimestamp", "StateTransitionedTimestamp",
                  "LastModified"}
# Fields whose shape is a double: JSON may spell 40.0 as 40, but CBOR must send a float.
DOUBLE_KEYS = {"Values", "Value", "Sum", "Average", "Minimum", "Maximum", "SampleCount",
               "Threshold"}

FAULTS = {}
FAULTS_LOCK = threading.Lock()
UPSTREAM = None


def to_json(value):
    """CBOR-decoded request -> JSON-able (datetimes as epoch seconds)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        import base64
        return base64.b64encode(value).decode()
    return value


def as_time(value):
    """A timestamp as Smithy RPC-v2 CBOR wants it: tag 1 around a float (the Rust SDK
    refuses an integer there)."""
    if isinstance(value, (int, float)):
        return cbor2.CBORTag(1, float(value))
    if isinstance(value, str):
        try:
            t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return cbor2.CBORTag(1, t.timestamp())
    return value


def from_json(value, key=None):
    """moto's JSON reply -> CBOR-able (timestamp fields as datetimes, encoded as tag 1)."""
    if isinstance(value, dict):
        return {k: from_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in TIMESTAMP_KEYS:
            return [as_time(v) for v in value]
        if key in DOUBLE_KEYS:
            return [float(v) for v in value]
        return [from_json(v) for v in value]
    if key in TIMESTAMP_KEYS:
        return as_time(value)
    if key in DOUBLE_KEYS and isinstance(value, (int, float)):
        return float(value)
    return value


def access_key(headers):
    m = re.search(r"Credential=([^/,\s]+)/", headers.get("Authorization", ""))
    return m.group(1) if m else ""


def take_fault(akid, op):
    with FAULTS_LOCK:
        faults = FAULTS.get(akid, [])
        for f in faults:
            if f["operation"] == op and f["times"] != 0:
                if f["times"] > 0:
                    f["times"] -= 1
                return f
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def cbor_error(self, status, code, message):
        sender = "Sender" if status < 500 else "Receiver"
        self.reply(status, [("Content-Type", "application/cbor"),
                            ("smithy-protocol", "rpc-v2-cbor"),
                            ("x-amzn-query-error", f"{code};{sender}")],
                   cbor2.dumps({"__type": f"com.amazonaws.cloudwatch#{code}",
                                "message": message}))

    def forward(self, method, path, headers, body):
        req = urllib.request.Request(UPSTREAM + path, data=body if method != "GET" else None,
                                     method=method)
        for k, v in headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, list(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, list(e.headers.items()), e.read()

    def passthrough(self, method):
        status, headers, body = self.forward(method, self.path, dict(self.headers.items()),
                                             self.body())
        keep = [(k, v) for k, v in headers
                if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                     "server", "date")]
        self.reply(status, keep, body)

    def do_GET(self):
        self.passthrough("GET")

    def do_POST(self):
        if self.path == "/shim/fault":
            f = json.loads(self.body())
            f.setdefault("message", f["code"])
            f.setdefault("times", -1)
            with FAULTS_LOCK:
                FAULTS.setdefault(f["access_key"], []).append(f)
            self.reply(200, [("Content-Type", "application/json")], b"{}")
            return
        if not self.path.startswith(PREFIX):
            self.passthrough("POST")
            return
        op = self.path[len(PREFIX):]
        raw = self.body()
        fault = take_fault(access_key(self.headers), op)
        if fault:
            self.cbor_error(fault["status"], fault["code"], fault["message"])
            return
        payload = to_json(cbor2.loads(raw)) if raw else {}
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"GraniteServiceVersion20100801.{op}",
            "Authorization": self.headers.get("Authorization", ""),
        }
        for h in ("X-Amz-Date", "X-Amz-Security-Token"):
            if self.headers.get(h):
                headers[h] = self.headers[h]
        status, _, body = self.forward("POST", "/", headers, json.dumps(payload).encode())
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            self.cbor_error(500, "InternalFailure",
                            f"moto answered {status} with non-JSON: {body[:200]!r}")
            return
        if status >= 400:
            code = str(data.get("__type") or data.get("code") or "InternalFailure")
            code = code.split("#")[-1].split(":")[0]
            self.cbor_error(status, code, str(data.get("message") or data.get("Message") or code))
            return
        self.reply(200, [("Content-Type", "application/cbor"),
                         ("smithy-protocol", "rpc-v2-cbor")],
                   cbor2.dumps(from_json(data)))


def main():
    global UPSTREAM
    moto = None
    if len(sys.argv) > 1:
        UPSTREAM = sys.argv[1].rstrip("/")
        moto_port = int(UPSTREAM.rsplit(":", 1)[1])
    else:
        from moto.server import ThreadedMotoServer
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        moto_port = moto.get_host_and_port()[1]
        UPSTREAM = f"http://127.0.0.1:{moto_port}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], moto_port, flush=True)
    sys.stdin.read()
    server.shutdown()
    if moto:
        moto.stop()


if __name__ == "__main__":
    main()
