"""Dev/CI ClickHouse endpoint: the real ClickHouse engine (chdb) behind the ClickHouse HTTP interface.

This is test and development infrastructure, not a ClickHouse server. Production runs a real ClickHouse server;
this process exists because no server binary is installable on the dev/CI machines, while the ClickHouse engine is
(PyPI `chdb`). Services talk to it with `@clickhouse/client` exactly as they would to a server: queries in the
`query` URL parameter and/or the body, typed `param_<name>` parameters bound by the engine, settings as URL
parameters, ClickHouse-style errors and response headers.

Usage: server.py --host 127.0.0.1 --port 8123 --data <dir>

Limits compared with a real server:
- One engine session for the whole process. Every request runs under one lock, so queries never run in parallel.
  `session_id` gives a per-session current database, per-session `SET` settings and the SESSION_IS_LOCKED check,
  but temporary tables are shared by all clients.
- Per-request settings are applied with `SET` before the query and restored after it; `readonly` is enforced here
  (GET requests get readonly=2) by query kind, not by the engine, because the engine cannot leave readonly mode.
- HTTP only: no native TCP protocol, no TLS, no cluster/replication (ON CLUSTER, Replicated*, Distributed), one
  user (`default`), no users/roles/quotas. The password is `CLICKHOUSE_DEV_PASSWORD` when set, else empty.
- Results and request bodies are buffered in memory (bounded by --max-body-bytes): no streaming, no progress
  headers (send_progress_in_http_headers is accepted and ignored), no mid-stream exceptions.
- Response compression: gzip and deflate only. Request bodies: gzip, deflate, or none.
- `result_rows` in X-ClickHouse-Summary is counted only for row-per-line formats (TSV/CSV/*EachRow); else 0.
- External tables (multipart file parts) are not supported; multipart is read for `query` and `param_*` fields.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# Parameters that belong to the HTTP layer; every other URL parameter is an engine setting, as on the server.
HTTP_PARAMS = {
    "query", "query_id", "session_id", "session_timeout", "session_check", "database", "default_format", "user",
    "password", "quota_key", "compress", "decompress", "stacktrace", "role", "wait_end_of_query", "buffer_size",
    "client_protocol_version", "close_session",
}

READ_KINDS = {"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "SET", "USE", "CHECK"}

STATUS_BY_ERROR = {
    "REQUIRED_PASSWORD": 401,
    **{n: 403 for n in ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
                        "ACCESS_DENIED")},
    **{n: 400 for n in (
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
        "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
        "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
        "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE")},
    **{n: 404 for n in (
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
        "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
        "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE")},
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ERROR_TEXT = re.compile(r"^Code: (\d+)\. DB::Exception: (.*?)(?: \(version [^)]*\))?\.?$", re.S)
ERROR_NAME = re.compile(r"\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)$")
SECRET = re.compile(r"(IDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+)'(?:[^'\\]|\\.)*'", re.I)
KEEP_ALIVE_S = 10


class ChError(Exception):
    """An error carried to the client in ClickHouse's wire shape."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


def from_engine(err: Exception) -> ChError:
    """chdb nests `Code: N. DB::Exception:` prefixes for some errors; a server prints the innermost once."""
    text = str(err).strip()
    while True:
        m = ERROR_TEXT.match(text)
        if not m:
            break
        inner = m.group(2)
        if not inner.startswith("Code: "):
            code = int(m.group(1))
            body = inner
            # the doubly-wrapped form ends with `(NAME) (version X). (NAME)`: drop the outer repeat
            body = re.sub(r" \(version [^)]*\)\. \(([A-Z0-9_]+)\)$", "", body)
            nm = ERROR_NAME.search(body)
            name = nm.group(1) if nm else "UNKNOWN_EXCEPTION"
            message = body[: nm.start()].rstrip() if nm else body
            return ChError(code, name, message)
        text = inner
    return ChError(1001, "STD_EXCEPTION", text)


# --- a small lexer: enough to find the query kind, an explicit FORMAT, INSERT data and extra statements ---------

@dataclass
class Shape:
    kind: str = ""
    format: str | None = None
    extra_statement_at: int | None = None


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    n = len(sql)
    i += 1
    while i < n:
        c = sql[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def shape_of(sql: str) -> Shape:
    tokens: list[tuple[str, int]] = []  # (text, position); words upper-cased, punctuation as-is
    shape = Shape()
    i, n = 0, len(sql)
    insert = False
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i) or c == "#":
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c in "'\"`":
            j = _skip_quoted(sql, i, c)
            tokens.append(("'" if c == "'" else sql[i + 1:j - 1], i))
            i = j
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            tokens.append((sql[i:j].upper(), i))
            if not shape.kind:
                shape.kind = sql[i:j].upper()
                insert = shape.kind == "INSERT"
            # INSERT ... FORMAT <name>: everything after the name is data, not SQL
            if insert and len(tokens) >= 2 and tokens[-2][0] == "FORMAT":
                return shape
            i = j
        elif c == ";":
            rest = sql[i + 1:]
            if _has_code(rest):
                shape.extra_statement_at = i
                return shape
            break
        else:
            tokens.append((c, i))
            i += 1
    if not insert:
        for k in range(len(tokens) - 2, -1, -1):
            if tokens[k][0] == "FORMAT" and (k + 2 == len(tokens) or tokens[k + 2][0] == "SETTINGS"):
                name_pos = tokens[k + 1][1]
                m = re.match(r"[`\"]?([A-Za-z0-9_]+)", sql[name_pos:])
                if m:
                    shape.format = m.group(1)
                break
    return shape


def _has_code(rest: str) -> bool:
    stripped = re.sub(r"--[^\n]*|#[^\n]*|/\*.*?\*/|\s+|;", "", rest, flags=re.S)
    return stripped != ""


def content_type_for(fmt: str) -> str:
    f = fmt.lower()
    if "eachrow" in f and f.startswith("json"):
        return "application/x-ndjson; charset=UTF-8"
    if f.startswith("json"):
        return "application/json; charset=UTF-8"
    if f.startswith("tabseparated") or f.startswith("tsv"):
        return "text/tab-separated-values; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8; header=absent"
    if f in {"native", "rowbinary", "rowbinarywithnames", "rowbinarywithnamesandtypes", "parquet", "arrow",
             "arrowstream", "orc", "avro"} or f.startswith("rowbinary"):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def count_rows(fmt: str, body: bytes) -> int:
    f = fmt.lower()
    if not body:
        return 0
    if "eachrow" in f or f in {"tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv"}:
        return body.count(b"\n")
    return 0


# --- the engine -------------------------------------------------------------------------------------------------

@dataclass
class ClientSession:
    database: str = "default"
    settings: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout_s: float = 60.0
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Outcome:
    body: bytes
    format: str
    summary: dict[str, str]
    wait_ns: int = 0
    query_ns: int = 0


def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    def __init__(self, data_dir: str):
        self.session = chdb_session.Session(data_dir)
        self.lock = threading.Lock()
        self.current_db = "default"
        # Engine-level values of settings before any request changed them (None: at its default). Every request
        # restores what it set, so these only change through a SET statement, which clears the cache; looking
        # them up in system.settings cost more than a small insert's SET + restore together.
        self._baseline: dict[str, str | None] = {}
        # chdb turns on conveniences a server has off; a query valid here must be valid on a server
        self.session.query("SET implicit_select = 0", "TSV")
        self.version = self.session.query("SELECT version()", "TSV").bytes().decode().strip()
        self.timezone = self.session.query("SELECT timezone()", "TSV").bytes().decode().strip()

    def _run(self, sql: str | bytes, fmt: str = "TSV", params: dict[str, str] | None = None):
        try:
            return self.session.query(sql, fmt, params=params or None)
        except Exception as err:  # chdb raises ChdbError; anything else is still an engine failure
            raise from_engine(err) from None

    def _changed_settings(self, names: list[str] | None) -> dict[str, str]:
        if names is None:
            rows = self._run("SELECT name, value FROM system.settings WHERE changed", "JSONCompactEachRow")
        else:
            rows = self._run("SELECT name, value FROM system.settings WHERE changed AND name IN {n:Array(String)}",
                             "JSONCompactEachRow", {"n": "[" + ",".join(quote_str(x) for x in names) + "]"})
        out: dict[str, str] = {}
        for line in rows.bytes().splitlines():
            name, value = json.loads(line)
            out[name] = value
        return out

    def _before(self, names: list[str]) -> dict[str, str]:
        missing = [n for n in names if n not in self._baseline]
        if missing:
            found = self._changed_settings(missing)
            for n in missing:
                self._baseline[n] = found.get(n)
        return {n: v for n in names if (v := self._baseline[n]) is not None}

    def _restore(self, names: list[str], before: dict[str, str]) -> None:
        if not names:
            return
        parts = [f"{n} = {quote_str(before[n])}" if n in before else f"{n} = DEFAULT" for n in names]
        self._run("SET " + ", ".join(parts))

    def execute(self, sql: bytes, shape: Shape, fmt: str, database: str, settings: dict[str, str],
                params: dict[str, str], session: ClientSession | None) -> Outcome:
        for name in settings:
            if not IDENT.match(name):
                raise ChError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
        waited = time.monotonic_ns()
        with self.lock:
            started = time.monotonic_ns()
            if database != self.current_db:
                self._run(f"USE {quote_ident(database)}")
                self.current_db = database
            names = list(settings)
            before = self._before(names) if names else {}
            snapshot_all = self._changed_settings(None) if shape.kind == "SET" else None
            if snapshot_all is not None:
                self._baseline.clear()
            restored = False
            try:
                if names:
                    self._run("SET " + ", ".join(f"{n} = {quote_str(v)}" for n, v in settings.items()))
                query_started = time.monotonic_ns()
                result = self._run(sql, fmt, params)
                query_ns = time.monotonic_ns() - query_started
                if snapshot_all is not None:
                    after = self._changed_settings(None)
                    made = {k: v for k, v in after.items() if snapshot_all.get(k) != v and k not in settings}
                    if session is not None:
                        session.settings.update(made)
                    self._restore(list(made), snapshot_all)
                if shape.kind == "USE":
                    self.current_db = self._run("SELECT currentDatabase()").bytes().decode().strip()
                    if session is not None:
                        session.database = self.current_db
                restored = True
            finally:
                try:
                    if names:
                        self._restore(names, before)
                except BaseException:
                    restored = False
                    raise
                finally:
                    if not restored:
                        # A failed query or restore may leave settings changed: look them up again next time.
                        self._baseline.clear()
            elapsed_ns = time.monotonic_ns() - started
        body = result.bytes()
        written_rows = result.rows_written()
        summary = {
            "read_rows": str(result.rows_read()),
            "read_bytes": str(result.bytes_read()),
            "written_rows": str(written_rows),
            "written_bytes": str(result.bytes_written()),
            "total_rows_to_read": str(result.rows_read()),
            "result_rows": str(written_rows if shape.kind == "INSERT" else count_rows(fmt, body)),
            "result_bytes": str(len(body)),
            "elapsed_ns": str(elapsed_ns),
        }
        return Outcome(body, fmt, summary, started - waited, query_ns)


# --- HTTP -------------------------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ClickHouse-dev-chdb"
    timeout = KEEP_ALIVE_S + 5
    server: "Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it so
        pass

    def do_GET(self) -> None:
        self._handle(readonly_get=True)

    def do_POST(self) -> None:
        self._handle(readonly_get=False)

    def _handle(self, readonly_get: bool) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        query_id = ""
        sql_text = ""
        status = 200
        self._timing = ""
        try:
            if url.path in ("/ping", "/replicas_status") or (url.path == "/" and readonly_get and not url.query):
                self._drain_body()
                self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            if url.path != "/":
                self._drain_body()
                raise ChError(1000, "POCO_EXCEPTION", f"There is no handle {url.path}")
            args = dict(parse_qsl(url.query, keep_blank_values=True, errors="replace"))
            body = b"" if readonly_get else self._read_body()
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                args.update(parse_multipart(body, ctype))
                body = b""
            query_id = args.get("query_id") or str(uuid.uuid4())
            self._authenticate(args)
            url_query = args.get("query", "")
            if url_query and body:
                sql = url_query.encode() + b"\n" + body
            else:
                sql = url_query.encode() if url_query else body
            sql_text = sql[:4096].decode("utf-8", "replace")
            status = self._run(sql, sql_text, args, query_id, readonly_get)
        except ChError as err:
            status = STATUS_BY_ERROR.get(err.name, 500)
            self._send_error(status, err, query_id)
        except (ConnectionError, socket.timeout):
            status = 499
            self.close_connection = True
        except Exception as err:  # a bug here must still answer in ClickHouse's shape, not drop the socket
            status = 500
            self._send_error(500, ChError(1001, "STD_EXCEPTION", f"{type(err).__name__}: {err}"), query_id)
        finally:
            ms = (time.monotonic() - started) * 1000
            shown = SECRET.sub(r"\1'[HIDDEN]'", sql_text)[:200].replace("\n", " ")
            sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.command} {query_id or '-'} {status} "
                             f"{ms:.1f}ms{self._timing} {shown}\n")

    def _run(self, sql: bytes, sql_text: str, args: dict[str, str], query_id: str, readonly_get: bool) -> int:
        if not sql.strip():
            raise ChError(62, "SYNTAX_ERROR", "Empty query")
        shape = shape_of(sql_text if len(sql) <= 4096 else sql.decode("utf-8", "replace"))
        if shape.extra_statement_at is not None:
            pos = shape.extra_statement_at
            raise ChError(62, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): failed at position "
                          f"{pos + 1} (end of query): {sql_text[pos:pos + 100]}")
        readonly = 2 if readonly_get else 0
        settings = {k: v for k, v in args.items() if k not in HTTP_PARAMS and not k.startswith("param_")}
        if "readonly" in settings:
            try:
                readonly = max(readonly, int(settings.pop("readonly")))
            except ValueError:
                raise ChError(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "Cannot parse input: readonly") from None
        if readonly and shape.kind not in READ_KINDS:
            raise ChError(164, "READONLY", "Cannot execute query in readonly mode")
        if readonly == 1 and (shape.kind == "SET" or settings):
            raise ChError(164, "READONLY", "Cannot modify setting in readonly mode")
        params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
        fmt = shape.format or self.headers.get("X-ClickHouse-Format") or args.get("default_format") or "TabSeparated"

        session = self.server.sessions.acquire(args)
        try:
            database = (self.headers.get("X-ClickHouse-Database") or args.get("database")
                        or (session.database if session else "default"))
            effective = {**(session.settings if session else {}), **settings}
            outcome = self.server.engine.execute(sql, shape, fmt, database, effective, params, session)
        finally:
            self.server.sessions.release(session)
        # Where the request's time went: waiting for the engine lock, inside it (settings + query), the query alone.
        self._timing = (f" (lock wait {outcome.wait_ns / 1e6:.1f}ms, engine {int(outcome.summary['elapsed_ns']) / 1e6:.1f}ms,"
                        f" query {outcome.query_ns / 1e6:.1f}ms, body {len(sql)} B)")

        headers = {
            "Content-Type": content_type_for(outcome.format),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": outcome.format,
            "X-ClickHouse-Timezone": self.server.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(outcome.summary, separators=(",", ":")),
        }
        if args.get("session_id"):
            headers["X-ClickHouse-Session-Id"] = args["session_id"]
        body = outcome.body
        if effective.get("enable_http_compression", "0").lower() in ("1", "true"):
            body, encoding = compress(body, self.headers.get("Accept-Encoding", ""))
            if encoding:
                headers["Content-Encoding"] = encoding
        self._send(200, body, headers)
        return 200

    def _authenticate(self, args: dict[str, str]) -> None:
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if user is None and auth.startswith("Basic "):
            try:
                user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise ChError(516, "AUTHENTICATION_FAILED", "Malformed Basic authorization header") from None
        if user is None:
            user, key = args.get("user", "default"), args.get("password", "")
        user = user or "default"
        expected = os.environ.get("CLICKHOUSE_DEV_PASSWORD", "")
        if user != "default" or not hmac.compare_digest((key or "").encode(), expected.encode()):
            raise ChError(516, "AUTHENTICATION_FAILED",
                          f"{user}: Authentication failed: password is incorrect, or there is no user with such name")

    def _read_body(self) -> bytes:
        limit = self.server.max_body_bytes
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = read_chunked(self.rfile, limit)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                self.close_connection = True
                raise too_large(length, limit)
            raw = self.rfile.read(length)
        encoding = self.headers.get("Content-Encoding", "").lower().strip()
        if encoding in ("", "identity"):
            return raw
        if encoding in ("gzip", "deflate"):
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            d = zlib.decompressobj(wbits)
            try:
                out = d.decompress(raw, limit + 1)
            except zlib.error as err:
                raise ChError(432, "UNKNOWN_COMPRESSION_METHOD", f"Cannot decompress request body: {err}") from None
            if len(out) > limit:
                raise too_large(len(out), limit)
            return out
        raise ChError(432, "UNKNOWN_COMPRESSION_METHOD", f"Unknown HTTP compression method: {encoding}")

    def _drain_body(self) -> None:
        if self.command == "POST":
            self._read_body()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("X-ClickHouse-Server-Display-Name", self.server.display_name)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "Keep-Alive")
            self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_S}")
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, status: int, err: ChError, query_id: str) -> None:
        message = err.message.rstrip()
        message = message if message.endswith(".") else message + "."
        text = f"Code: {err.code}. DB::Exception: {message} ({err.name}) (version {self.server.engine.version})\n"
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(err.code),
        }
        if query_id:
            headers["X-ClickHouse-Query-Id"] = query_id
        try:
            self._send(status, text.encode(), headers)
        except (ConnectionError, socket.timeout):
            self.close_connection = True


def too_large(size: int, limit: int) -> ChError:
    return ChError(393, "QUERY_IS_TOO_LARGE",
                   f"Request body of {size} bytes exceeds this endpoint's limit of {limit} bytes (--max-body-bytes)")


def read_chunked(rfile, limit: int) -> bytes:
    out = bytearray()
    while True:
        line = rfile.readline(1024)
        if not line:
            raise ConnectionError("connection closed inside a chunked body")
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        if len(out) + size > limit:
            raise too_large(len(out) + size, limit)
        out += rfile.read(size)
        rfile.readline(8)


def parse_multipart(body: bytes, ctype: str) -> dict[str, str]:
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        raise ChError(36, "BAD_ARGUMENTS", "multipart/form-data without boundary")
    fields: dict[str, str] = {}
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is None or b"filename=" in head:
            continue
        fields[name.group(1).decode()] = value[:-2].decode("utf-8", "replace") if value.endswith(b"\r\n") \
            else value.decode("utf-8", "replace")
    return fields


def compress(body: bytes, accept: str) -> tuple[bytes, str | None]:
    codecs = [c.split(";")[0].strip().lower() for c in accept.split(",")]
    if "gzip" in codecs:
        return gzip.compress(body, 3), "gzip"
    if "deflate" in codecs:
        return zlib.compress(body, 3), "deflate"
    return body, None


class Sessions:
    def __init__(self) -> None:
        self.by_id: dict[str, ClientSession] = {}
        self.lock = threading.Lock()

    def acquire(self, args: dict[str, str]) -> ClientSession | None:
        sid = args.get("session_id")
        if not sid:
            return None
        now = time.monotonic()
        with self.lock:
            for k in [k for k, s in self.by_id.items() if now - s.last_used > s.timeout_s and not s.lock.locked()]:
                del self.by_id[k]
            session = self.by_id.get(sid)
            if session is None:
                if args.get("session_check") == "1":
                    raise ChError(372, "SESSION_NOT_FOUND", f"Session {sid} not found")
                session = ClientSession()
                self.by_id[sid] = session
            if "session_timeout" in args:
                try:
                    session.timeout_s = float(args["session_timeout"])
                except ValueError:
                    raise ChError(36, "BAD_ARGUMENTS", "Invalid session timeout") from None
            if not session.lock.acquire(blocking=False):
                raise ChError(373, "SESSION_IS_LOCKED", f"Session {sid} is locked by a concurrent client")
            session.last_used = now
            return session

    def release(self, session: ClientSession | None) -> None:
        if session is not None:
            session.last_used = time.monotonic()
            session.lock.release()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], engine: Engine, max_body_bytes: int):
        super().__init__(addr, Handler)
        self.engine = engine
        self.sessions = Sessions()
        self.max_body_bytes = max_body_bytes
        self.display_name = socket.gethostname()


def main() -> None:
    ap = argparse.ArgumentParser(description="Dev/CI ClickHouse HTTP endpoint backed by chdb")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8123)
    ap.add_argument("--data", required=True, help="directory holding the databases")
    ap.add_argument("--max-body-bytes", type=int, default=512 * 1024 * 1024)
    ap.add_argument("--pid-file", help="written once the port and the data directory are ours, removed at exit")
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    engine = Engine(a.data)
    server = Server((a.host, a.port), engine, a.max_body_bytes)

    def stop(_sig: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if a.pid_file:
        # only a process that holds both the port and the data-dir lock names itself, so a losing racer never does
        with open(a.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write(f"dev ClickHouse endpoint (chdb engine {engine.version}) on http://{a.host}:{a.port}, "
                     f"data in {os.path.abspath(a.data)}\n")
    sys.stderr.flush()
    server.serve_forever()
    server.server_close()
    # the engine flushes MergeTree parts on close; make that explicit rather than leave it to interpreter exit
    with engine.lock:
        engine.session.close()
    if a.pid_file:
        try:
            with open(a.pid_file) as f:
                mine = f.read().strip() == str(os.getpid())
            if mine:
                os.remove(a.pid_file)
        except OSError:
            pass


if __name__ == "__main__":
    main()
