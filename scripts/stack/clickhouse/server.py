"""Dev/CI ClickHouse endpoint: the real ClickHouse engine (chdb) behind the ClickHouse HTTP interface.

This is test and development infrastructure, not a ClickHouse server. Production runs a real ClickHouse server;
this process exists because no server binary is installable on the dev/CI machines, while the ClickHouse engine is
(PyPI `chdb`). Services talk to it with `@clickhouse/client` exactly as they would to a server: queries in the
`query` URL parameter and/or the body, typed `param_<name>` parameters bound by the engine, settings as URL
parameters, ClickHouse-style errors and response headers, results streamed as the engine produces them.

Usage: server.py --host 127.0.0.1 --port 8123 --data <dir>

How it works and what it cannot do (users, roles, query_log, ...): README.md beside this file.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hmac
import json
import os
import queue
import re
import secrets
import select
import signal
import socket
import sys
import tempfile
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
    "client_protocol_version", "close_session", "http_write_exception_in_output_format",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
}

READ_KINDS = {"SELECT", "WITH", "(", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "SET", "USE", "CHECK"}
# The engine streams only these query kinds; every other kind runs to completion first (DDL, SHOW, ...).
STREAM_KINDS = {"SELECT", "WITH", "("}

# Formats whose output can be cut between blocks: a chunk of the engine's stream is valid output on its own, so
# the chunks concatenate to what a server sends. Header formats repeat their header in every chunk (the engine
# formats each block separately); `header_lines` / `header_binary` say how to strip the repeats.
ROW_FORMATS = {
    "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv", "jsoneachrow", "jsonlines", "ndjson",
    "jsonstringseachrow", "jsoncompacteachrow", "jsoncompactstringseachrow", "rowbinary", "native",
    "lineasstring", "rawblob", "jsonobjecteachrow",
}
HEADER_LINES = {
    "tabseparatedwithnames": 1, "tsvwithnames": 1, "csvwithnames": 1, "jsoncompacteachrowwithnames": 1,
    "jsoncompactstringseachrowwithnames": 1, "tabseparatedrawwithnames": 1, "tsvrawwithnames": 1,
    "tabseparatedwithnamesandtypes": 2, "tsvwithnamesandtypes": 2, "csvwithnamesandtypes": 2,
    "jsoncompacteachrowwithnamesandtypes": 2, "jsoncompactstringseachrowwithnamesandtypes": 2,
    "tabseparatedrawwithnamesandtypes": 2, "tsvrawwithnamesandtypes": 2,
}
HEADER_BINARY = {"rowbinarywithnames": 1, "rowbinarywithnamesandtypes": 2}
PROGRESS_FORMATS = {"jsoneachrowwithprogress", "jsonstringseachrowwithprogress"}
# Input formats whose data is bytes, not text: every byte is data (a body of blanks is not empty).
BINARY_INPUT_FORMATS = {
    "rowbinary", "rowbinarywithnames", "rowbinarywithnamesandtypes", "rowbinarywithdefaults", "native", "parquet",
    "arrow", "arrowstream", "orc", "avro", "protobuf", "protobufsingle", "protobuflist", "capnproto", "msgpack",
    "bsoneachrow", "npy", "rawblob",
}
# settings the engine takes only inside a query (`SETTINGS` clause), never from SET
QUERY_ONLY_SETTINGS = {"run_query_in_background"}

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
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", "CANNOT_READ_ALL_DATA")},
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
# chdb's Python layer wraps streaming errors in its own sentence
CHDB_WRAPPER = re.compile(r"^(?:Streaming (?:query|insert(?: append| finish)?) failed: )+")
SECRET = re.compile(r"(IDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+)'(?:[^'\\]|\\.)*'", re.I)
KEEP_ALIVE_S = 10
READ_PIECE = 1 << 20  # bytes read from the socket (and handed to the engine) at a time
SQL_HEAD = 256 * 1024  # how much of a body is read to find where an INSERT's data starts


class ChError(Exception):
    """An error carried to the client in ClickHouse's wire shape."""

    def __init__(self, code: int, name: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message
        self.status = status


def bad_request(message: str) -> ChError:
    """A request this endpoint cannot frame: answered with 400 and the connection closed, never read on."""
    return ChError(1000, "POCO_EXCEPTION", message, status=400)


def from_engine(err: Exception) -> ChError:
    """chdb nests `Code: N. DB::Exception:` prefixes for some errors; a server prints the innermost once."""
    text = CHDB_WRAPPER.sub("", str(err).strip())
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
        text = CHDB_WRAPPER.sub("", inner)
    return ChError(1001, "STD_EXCEPTION", text)


# --- a small lexer: enough to find the query kind, an explicit FORMAT, INSERT data and extra statements ---------

@dataclass
class Shape:
    kind: str = ""
    format: str | None = None
    extra_statement_at: int | None = None
    # WITH TOTALS adds rows the engine's block stream leaves out: such results are answered whole
    totals: bool = False
    # INSERT with inline data: the statement without `FORMAT name` / `VALUES` (what the engine's streaming insert
    # takes), the input format, and where the data starts
    insert_sql_end: int | None = None
    data_at: int | None = None
    # the INSERT statement has its own SETTINGS clause (before FORMAT / VALUES)
    insert_settings: bool = False


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


def _data_start(sql: str, j: int) -> int:
    """The data of `INSERT ... FORMAT f` starts after blanks and at most one line break, as on the server."""
    n = len(sql)
    while j < n and sql[j] in " \t":
        j += 1
    if sql.startswith("\r\n", j):
        return j + 2
    if j < n and sql[j] == "\n":
        return j + 1
    return j


def shape_of(sql: str) -> Shape:
    tokens: list[tuple[str, int]] = []  # (text, position); words upper-cased, punctuation as-is
    shape = Shape()
    i, n = 0, len(sql)
    insert = False
    depth = 0
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
            word = sql[i:j].upper()
            tokens.append((word, i))
            if word == "TOTALS":
                shape.totals = True
            if not shape.kind:
                shape.kind = word
                insert = shape.kind == "INSERT"
            if insert and depth == 0:
                if word == "SETTINGS":
                    shape.insert_settings = True
                # INSERT ... FORMAT <name> / INSERT ... VALUES: everything after is data, not SQL
                if len(tokens) >= 2 and tokens[-2][0] == "FORMAT":
                    shape.format = sql[i:j]
                    shape.insert_sql_end = tokens[-2][1]
                    shape.data_at = _data_start(sql, j)
                    return shape
                if word == "VALUES":
                    shape.format = "Values"
                    shape.insert_sql_end = i
                    shape.data_at = j
                    return shape
                if word == "SELECT" or word == "WITH":
                    insert = False
            i = j
        elif c == ";":
            rest = sql[i + 1:]
            if _has_code(rest):
                shape.extra_statement_at = i
                return shape
            break
        else:
            if not shape.kind and c == "(":
                shape.kind = "("
            depth += 1 if c == "(" else -1 if c == ")" else 0
            tokens.append((c, i))
            i += 1
    if shape.kind != "INSERT":
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


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def header_length(fmt: str, chunk: bytes) -> int:
    """Length of the header the engine repeats at the start of every streamed chunk (0: none)."""
    f = fmt.lower()
    lines = HEADER_LINES.get(f)
    if lines:
        at = 0
        for _ in range(lines):
            nl = chunk.find(b"\n", at)
            if nl < 0:
                return 0
            at = nl + 1
        return at
    groups = HEADER_BINARY.get(f)
    if groups:
        try:
            columns, at = _varint(chunk, 0)
            for _ in range(columns * groups):
                size, at = _varint(chunk, at)
                at += size
            return at if at <= len(chunk) else 0
        except IndexError:
            return 0
    return 0


class ChunkShaper:
    """Turns the engine's per-block outputs into one stream, as a server's single output format writes it."""

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.lower = fmt.lower()
        self.header: bytes | None = None
        self.progress = self.lower in PROGRESS_FORMATS

    @staticmethod
    def streamable(fmt: str) -> bool:
        f = fmt.lower()
        return f in ROW_FORMATS or f in HEADER_LINES or f in HEADER_BINARY or f in PROGRESS_FORMATS

    def shape(self, chunk: bytes, progress: dict | None) -> bytes:
        if self.progress:
            return self._progress_rows(chunk, progress)
        if self.header is None:
            self.header = chunk[: header_length(self.fmt, chunk)]
            return chunk
        if self.header and chunk.startswith(self.header):
            return chunk[len(self.header):]
        return chunk

    def _progress_rows(self, chunk: bytes, progress: dict | None) -> bytes:
        # A server writes a progress row as the engine reports progress, before the rows it read; the engine's
        # per-block output puts its own progress rows after the data and repeats the meta row: reorder and drop.
        out = []
        if progress is not None:
            out.append(b'{"progress":' + json.dumps(progress, separators=(",", ":")).encode() + b"}\n")
        for line in chunk.splitlines(keepends=True):
            if line.startswith(b'{"progress":'):
                continue
            if line.startswith(b'{"meta":'):
                if self.header is not None:
                    continue
                self.header = line
            out.append(line)
        return b"".join(out)


def progress_first(body: bytes) -> bytes:
    """A server writes a progress row before the rows it reports on; the engine's whole output has it after."""
    lines = body.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.startswith(b'{"progress":')), None)
    if at is None or at == 0:
        return body
    return b"".join([lines[at], *lines[:at], *lines[at + 1:]])


def progress_row(p: dict) -> dict:
    return {k: str(p.get(k, 0)) for k in ("read_rows", "read_bytes", "total_rows_to_read", "elapsed_ns")}


def exception_block(tag: str, text: str) -> bytes:
    """An error after the first bytes of a result went out, in the server's in-stream form (ClickHouse 25.11+):
    the client finds the marker at the end of the last chunk and reads the message back by its length."""
    msg = text.rstrip("\n").encode()
    return (b"\r\n__exception__\r\n" + tag.encode() + b"\n" + msg + b"\n" + str(len(msg) + 1).encode() + b" "
            + tag.encode() + b"\r\n__exception__\r\n")


# --- the engine -------------------------------------------------------------------------------------------------

def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Conn:
    """One engine connection: its own settings and current database, one query at a time.

    Connections of one process share the databases (one data path per process), so queries on different
    connections run in parallel while each request's settings stay on its own connection."""

    def __init__(self, path: str, index: str, defaults: dict[str, str]):
        self.session = chdb_session.Session(path)
        self.marker = f"tollgate-dev-endpoint {index}"
        self.current_db = "default"
        self.progress: dict | None = None
        # Values of settings before any request changed them (None: at its default). Every request restores what
        # it set, so these change only through a SET statement in a session.
        self._baseline: dict[str, str | None] = {}
        # chdb turns on conveniences a server has off; a query valid here must be valid on a server. The marker
        # finds this connection's running query in system.processes, to kill it when its client goes away.
        init = {"implicit_select": "0", "log_comment": self.marker, **defaults}
        self.run("SET " + ", ".join(f"{k} = {quote_str(v)}" for k, v in init.items()))
        raw = getattr(getattr(self.session, "_conn", None), "_conn", None)
        if raw is not None and hasattr(raw, "set_progress_callback"):
            raw.set_progress_callback(self._on_progress)

    def _on_progress(self, p: dict) -> None:
        self.progress = p

    def run(self, sql: str | bytes, fmt: str = "TSV", params: dict[str, str] | None = None):
        try:
            return self.session.query(sql, fmt, params=params or None)
        except Exception as err:  # chdb raises ChdbError; anything else is still an engine failure
            raise from_engine(err) from None

    def stream(self, sql: str | bytes, fmt: str, params: dict[str, str] | None):
        try:
            return self.session.send_query(sql, fmt, params=params or None)
        except Exception as err:
            raise from_engine(err) from None

    def changed_settings(self, names: list[str] | None) -> dict[str, str]:
        if names is None:
            rows = self.run("SELECT name, value FROM system.settings WHERE changed", "JSONCompactEachRow")
        else:
            rows = self.run("SELECT name, value FROM system.settings WHERE changed AND name IN {n:Array(String)}",
                            "JSONCompactEachRow", {"n": "[" + ",".join(quote_str(x) for x in names) + "]"})
        out: dict[str, str] = {}
        for line in rows.bytes().splitlines():
            name, value = json.loads(line)
            out[name] = value
        return out

    def use(self, database: str) -> None:
        if database != self.current_db:
            self.run(f"USE {quote_ident(database)}")
            self.current_db = database

    def apply(self, settings: dict[str, str]) -> dict[str, str]:
        """SETs the request's settings on this connection only; returns what `restore` needs."""
        names = list(settings)
        missing = [n for n in names if n not in self._baseline]
        if missing:
            found = self.changed_settings(missing)
            for n in missing:
                self._baseline[n] = found.get(n)
        before = {n: v for n in names if (v := self._baseline[n]) is not None}
        if names:
            try:
                self.run("SET " + ", ".join(f"{n} = {quote_str(v)}" for n, v in settings.items()))
            except ChError:
                self._baseline.clear()
                raise
        return before

    def restore(self, names: list[str], before: dict[str, str]) -> None:
        if not names:
            return
        parts = [f"{n} = {quote_str(before[n])}" if n in before else f"{n} = DEFAULT" for n in names]
        try:
            self.run("SET " + ", ".join(parts))
        except ChError:
            self._baseline.clear()
            raise

    def forget_baseline(self) -> None:
        self._baseline.clear()

    def close(self) -> None:
        try:
            self.session.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not stop the endpoint
            pass


class Engine:
    """A bounded pool of engine connections; a request waits for one at most `wait_s`, then gets Code 202."""

    def __init__(self, data_dir: str, size: int, wait_s: float, defaults: dict[str, str]):
        self.path = data_dir
        self.defaults = defaults
        self.wait_s = wait_s
        self.size = size
        self._seq = 0
        self._seq_lock = threading.Lock()
        self.conns = [self.new_conn() for _ in range(size)]
        self.free: queue.Queue[Conn] = queue.Queue()
        for c in self.conns:
            self.free.put(c)
        # kills run on their own connection so a full pool never delays them
        self.control = self.new_conn()
        self.control_lock = threading.Lock()
        self.version = self.control.run("SELECT version()", "TSV").bytes().decode().strip()
        self.timezone = self.control.run("SELECT timezone()", "TSV").bytes().decode().strip()

    def new_conn(self) -> Conn:
        with self._seq_lock:
            self._seq += 1
            index = f"conn-{self._seq}"
        return Conn(self.path, index, self.defaults)

    def acquire(self) -> Conn:
        try:
            return self.free.get(timeout=self.wait_s)
        except queue.Empty:
            raise ChError(202, "TOO_MANY_SIMULTANEOUS_QUERIES",
                          f"Too many simultaneous queries: all {self.size} engine connections of this endpoint stayed "
                          f"busy for {int(self.wait_s * 1000)} ms (--engine-connections, --engine-wait-ms)",
                          status=503) from None

    def release(self, conn: Conn) -> None:
        self.free.put(conn)

    def kill(self, conn: Conn) -> None:
        """Stops the query running on `conn` even while the engine computes its first block."""
        with self.control_lock:
            try:
                self.control.run(f"KILL QUERY WHERE Settings['log_comment'] = {quote_str(conn.marker)} ASYNC")
            except ChError as err:
                sys.stderr.write(f"kill on {conn.marker} failed: {err.message}\n")

    def close(self) -> None:
        for c in [*self.conns, self.control]:
            c.close()


@dataclass
class ClientSession:
    """A `session_id`: its own engine connection, so its SET settings, current database and temporary tables
    persist between its requests, as on a server."""
    conn: Conn | None = None
    database: str = "default"
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout_s: float = 60.0
    last_used: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self, engine: Engine, max_sessions: int) -> None:
        self.engine = engine
        self.max_sessions = max_sessions
        self.by_id: dict[str, ClientSession] = {}
        self.lock = threading.Lock()

    def acquire(self, args: dict[str, str]) -> ClientSession | None:
        sid = args.get("session_id")
        if not sid:
            return None
        now = time.monotonic()
        expired: list[ClientSession] = []
        with self.lock:
            for k in [k for k, s in self.by_id.items() if now - s.last_used > s.timeout_s and not s.lock.locked()]:
                expired.append(self.by_id.pop(k))
            session = self.by_id.get(sid)
            if session is None:
                if args.get("session_check") == "1":
                    raise ChError(372, "SESSION_NOT_FOUND", f"Session {sid} not found")
                if len(self.by_id) >= self.max_sessions:
                    raise ChError(202, "TOO_MANY_SIMULTANEOUS_QUERIES",
                                  f"Too many open sessions: {self.max_sessions} (--max-sessions); "
                                  "sessions expire after their session_timeout", status=503)
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
        for s in expired:
            if s.conn is not None:
                s.conn.close()
        if session.conn is None:
            try:
                session.conn = self.engine.new_conn()
            except BaseException:
                session.lock.release()
                raise
        return session

    def release(self, session: ClientSession | None, close: bool = False) -> None:
        if session is None:
            return
        session.last_used = time.monotonic()
        if close:
            with self.lock:
                for k, s in list(self.by_id.items()):
                    if s is session:
                        del self.by_id[k]
            if session.conn is not None:
                session.conn.close()
                session.conn = None
        session.lock.release()


class Watcher:
    """Notices a client that hung up while its query runs (nothing is being written to it then) and kills the
    query, so an abandoned query frees its connection within a poll interval."""

    def __init__(self, engine: Engine, interval_s: float = 0.1):
        self.engine = engine
        self.interval_s = interval_s
        self.active: dict[int, tuple[socket.socket, Conn, threading.Event]] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, name="disconnect-watcher", daemon=True).start()

    def watch(self, sock: socket.socket, conn: Conn) -> threading.Event:
        gone = threading.Event()
        with self.lock:
            self.active[id(gone)] = (sock, conn, gone)
        return gone

    def unwatch(self, gone: threading.Event) -> None:
        with self.lock:
            self.active.pop(id(gone), None)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            with self.lock:
                items = list(self.active.values())
            if not items:
                continue
            try:
                readable, _, _ = select.select([s for s, _, _ in items], [], [], 0)
            except (OSError, ValueError):
                readable = [s for s, _, _ in items]
            for sock, conn, gone in items:
                if sock not in readable or gone.is_set():
                    continue
                try:
                    closed = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    # under the lock: the request still holds `conn` (it unwatches before releasing it), so the
                    # kill cannot reach a later request's query
                    with self.lock:
                        if id(gone) in self.active:
                            gone.set()
                            self.engine.kill(conn)


# --- HTTP -------------------------------------------------------------------------------------------------------

class Body:
    """The request body as a bounded stream. Its framing is checked before a byte is read, and it is never read
    past its end: a request whose body is refused or left unread closes the connection, so no leftover byte is
    ever taken for the next request."""

    def __init__(self, rfile, headers) -> None:
        self.rfile = rfile
        self.chunked = False
        self.remaining = 0
        self.chunk_left = 0
        te = headers.get_all("Transfer-Encoding") or []
        lengths = headers.get_all("Content-Length") or []
        if te:
            if len(te) > 1 or te[0].strip().lower() != "chunked":
                raise bad_request(f"Unsupported Transfer-Encoding '{', '.join(te)[:60]}': expected chunked")
            if lengths:
                raise bad_request("Both Transfer-Encoding and Content-Length are set: expected one of them")
            self.chunked = True
        elif lengths:
            values = {v.strip() for v in lengths}
            value = values.pop()
            if values:
                raise bad_request(f"Conflicting Content-Length headers: {', '.join(lengths)[:80]}")
            if not (value.isascii() and value.isdigit()) or len(value) > 18:
                raise bad_request(f"Invalid Content-Length '{value[:40]}': expected a non-negative decimal integer")
            self.remaining = int(value)
        self.done = not self.chunked and self.remaining == 0
        encoding = headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self.decoder = None
        elif encoding in ("gzip", "deflate"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        else:
            raise ChError(432, "UNKNOWN_COMPRESSION_METHOD", f"Unknown HTTP compression method: {encoding}")

    def _wire(self, n: int) -> bytes:
        if self.done:
            return b""
        if not self.chunked:
            data = self.rfile.read(min(n, self.remaining))
            if not data:
                raise ConnectionError("connection closed inside the request body")
            self.remaining -= len(data)
            self.done = self.remaining == 0
            return data
        if self.chunk_left == 0:
            line = self.rfile.readline(1026)
            if not line:
                raise ConnectionError("connection closed inside a chunked body")
            if not line.endswith(b"\n"):
                raise bad_request("Chunk size line longer than 1024 bytes")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 15 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise bad_request(f"Invalid chunk size '{size_text[:20].decode('latin-1')}': expected hex digits")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):  # trailer fields, then the blank line
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        break
                self.done = True
                return b""
            self.chunk_left = size
        data = self.rfile.read(min(n, self.chunk_left))
        if not data:
            raise ConnectionError("connection closed inside a chunked body")
        self.chunk_left -= len(data)
        if self.chunk_left == 0 and self.rfile.readline(3) not in (b"\r\n", b"\n"):
            raise bad_request("Chunk data not followed by CRLF")
        return data

    def pieces(self):
        """Decoded body pieces of at most about READ_PIECE bytes each, read as they are used."""
        while True:
            raw = self._wire(READ_PIECE)
            if not raw:
                if self.decoder is not None:
                    tail = self.decoder.flush()
                    if tail:
                        yield tail
                return
            if self.decoder is None:
                yield raw
                continue
            try:
                out = self.decoder.decompress(raw, READ_PIECE)
                while out:
                    yield out
                    out = self.decoder.decompress(self.decoder.unconsumed_tail, READ_PIECE) \
                        if self.decoder.unconsumed_tail else b""
            except zlib.error as err:
                raise ChError(432, "UNKNOWN_COMPRESSION_METHOD", f"Cannot decompress request body: {err}") from None

    def read(self, limit: int, stop_at: int | None = None) -> bytes:
        """The body up to `limit` bytes (else 413); with `stop_at`, returns once that much is read."""
        out = bytearray()
        for piece in self.pieces():
            out += piece
            if len(out) > limit:
                raise too_large(len(out), limit)
            if stop_at is not None and len(out) >= stop_at:
                break
        return bytes(out)

    def discard(self, limit: int) -> None:
        self.read(limit)


def too_large(size: int, limit: int) -> ChError:
    return ChError(393, "QUERY_IS_TOO_LARGE",
                   f"Request body of at least {size} bytes exceeds this endpoint's limit of {limit} bytes for a "
                   "query text (--max-body-bytes; INSERT data is streamed and not limited)")


@dataclass
class Request:
    sql: bytes
    text: str
    shape: Shape
    fmt: str
    settings: dict[str, str]
    params: dict[str, str]
    insert_data: bytes = b""


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
        self._sql_text = ""
        status = 200
        self._timing = ""
        self._body: Body | None = None
        self._streaming = False
        self._compress_with: str | None = None
        try:
            if url.path in ("/ping", "/replicas_status") or (url.path == "/" and readonly_get and not url.query):
                self._body = Body(self.rfile, self.headers)
                self._body.discard(64 * 1024)
                self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            if url.path != "/":
                raise ChError(1000, "POCO_EXCEPTION", f"There is no handle {url.path}", status=404)
            args = dict(parse_qsl(url.query, keep_blank_values=True, errors="replace"))
            if args.get("enable_http_compression", "0").lower() in ("1", "true"):
                self._compress_with = pick_encoding(self.headers.get("Accept-Encoding", ""))
            query_id = args.get("query_id") or str(uuid.uuid4())
            # who is asking is settled on the headers alone: a refused client's body is never read
            self._authenticate(args)
            self._body = Body(self.rfile, self.headers)
            status = self._run(args, query_id, readonly_get)
        except ChError as err:
            status = err.status or STATUS_BY_ERROR.get(err.name, 500)
            if not self._body_consumed():
                self.close_connection = True
            if self._streaming:
                self.close_connection = True
            else:
                self._send_error(status, err, query_id)
        except (ConnectionError, socket.timeout):
            status = 499
            self.close_connection = True
        except Exception as err:  # a bug here must still answer in ClickHouse's shape, not drop the socket
            status = 500
            self.close_connection = True
            if not self._streaming:
                self._send_error(500, ChError(1001, "STD_EXCEPTION", f"{type(err).__name__}: {err}"), query_id)
        finally:
            ms = (time.monotonic() - started) * 1000
            shown = SECRET.sub(r"\1'[HIDDEN]'", self._sql_text)[:200].replace("\n", " ")
            sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.command} {query_id or '-'} {status} "
                             f"{ms:.1f}ms{self._timing} {shown}\n")

    def _body_consumed(self) -> bool:
        """Whether the connection can carry a next request: the body was read to its end, or there is none."""
        if self._body is not None:
            return self._body.done
        return not self.headers.get("Transfer-Encoding") and self.headers.get("Content-Length", "0").strip() == "0"

    def _parse(self, args: dict[str, str], readonly_get: bool) -> Request:
        body = self._body
        assert body is not None
        limit = self.server.max_body_bytes
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            args.update(parse_multipart(body.read(limit), ctype))
        url_query = args.get("query", "")
        url_shape = shape_of(url_query) if url_query else None
        insert_data = b""
        if url_shape is not None and url_shape.kind == "INSERT" and url_shape.data_at is not None:
            # the usual client insert: statement in the URL, all of the body is data
            shape, text = url_shape, url_query
            rest = url_query[url_shape.data_at:]
            insert_data = rest.encode() + b"\n" if rest.strip() else b""
            sql = url_query[:url_shape.insert_sql_end].encode()
        else:
            if readonly_get:
                body.discard(limit)  # a GET carries its query in the URL; a body, if any, is read and ignored
            first = b"" if readonly_get else body.read(SQL_HEAD + READ_PIECE, stop_at=SQL_HEAD)
            head = url_query.encode() + b"\n" + first if url_query and first else url_query.encode() or first
            text = head.decode("utf-8", "surrogateescape")
            shape = shape_of(text)
            if shape.kind == "INSERT" and shape.data_at is not None and shape.insert_sql_end is not None:
                insert_data = text[shape.data_at:].encode("utf-8", "surrogateescape")
                sql = text[:shape.insert_sql_end].encode("utf-8", "surrogateescape")
            else:
                sql = head if body.done else head + body.read(max(0, limit - len(first)))
                if len(sql) > limit:
                    raise too_large(len(sql), limit)
                if not body.done or len(first) >= SQL_HEAD:
                    text = sql.decode("utf-8", "surrogateescape")
                    shape = shape_of(text)
        self._sql_text = text[:4096].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if not sql.strip():
            raise ChError(62, "SYNTAX_ERROR", "Empty query")
        if shape.extra_statement_at is not None:
            pos = shape.extra_statement_at
            raise ChError(62, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): failed at position "
                          f"{pos + 1} (end of query): {text[pos:pos + 100]}")
        settings = {k: v for k, v in args.items() if k not in HTTP_PARAMS and not k.startswith("param_")}
        per_query = {k: settings.pop(k) for k in list(settings) if k in QUERY_ONLY_SETTINGS}
        for name, value in per_query.items():
            # the engine refuses these in SET; at their default they change nothing, else they go into the query
            if value.lower() not in ("0", "false", ""):
                if shape.kind == "INSERT" and shape.data_at is not None:
                    raise ChError(36, "BAD_ARGUMENTS", f"{name} cannot be set for an INSERT with data here")
                sql = sql.rstrip().rstrip(b";") + f"\nSETTINGS {name} = {quote_str(value)}".encode()
        for name in settings:
            if not IDENT.match(name):
                raise ChError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
        params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
        output = None if shape.kind == "INSERT" else shape.format
        fmt = output or self.headers.get("X-ClickHouse-Format") or args.get("default_format") or "TabSeparated"
        return Request(sql, text, shape, fmt, settings, params, insert_data)

    def _run(self, args: dict[str, str], query_id: str, readonly_get: bool) -> int:
        self._sql_text = args.get("query", "")[:4096]
        req = self._parse(args, readonly_get)
        shape, settings = req.shape, req.settings
        readonly = 2 if readonly_get else 0
        if "readonly" in settings:
            try:
                readonly = max(readonly, int(settings.pop("readonly")))
            except ValueError:
                raise ChError(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "Cannot parse input: readonly") from None
        if readonly and shape.kind not in READ_KINDS:
            raise ChError(164, "READONLY", "Cannot execute query in readonly mode")
        if readonly == 1 and (shape.kind == "SET" or settings):
            raise ChError(164, "READONLY", "Cannot modify setting in readonly mode")

        engine = self.server.engine
        waited = time.monotonic_ns()
        session = self.server.sessions.acquire(args)
        conn = session.conn if session is not None else engine.acquire()
        assert conn is not None
        started = time.monotonic_ns()
        close_session = args.get("close_session") == "1"
        try:
            database = (self.headers.get("X-ClickHouse-Database") or args.get("database")
                        or (session.database if session else "default"))
            conn.use(database)
            names = list(settings)
            before = conn.apply(settings)
            snapshot = conn.changed_settings(None) if shape.kind == "SET" and session is None else None
            try:
                status = self._execute(conn, req, query_id, args, session, started - waited)
            finally:
                if snapshot is not None:
                    # a SET outside a session lasts for its own request only, as on a server
                    after = conn.changed_settings(None)
                    made = [k for k, v in after.items() if snapshot.get(k) != v and k not in settings]
                    conn.restore(made, snapshot)
                if shape.kind == "SET":
                    conn.forget_baseline()
                conn.restore(names, before)
            if shape.kind == "USE":
                conn.current_db = conn.run("SELECT currentDatabase()").bytes().decode().strip()
                if session is not None:
                    session.database = conn.current_db
            return status
        finally:
            if session is not None:
                self.server.sessions.release(session, close=close_session)
            else:
                engine.release(conn)

    def _headers_for(self, req: Request, query_id: str, args: dict[str, str], summary: dict[str, str]) -> dict:
        headers = {
            "Content-Type": content_type_for(req.fmt),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": req.fmt,
            "X-ClickHouse-Timezone": self.server.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
        }
        if args.get("session_id"):
            headers["X-ClickHouse-Session-Id"] = args["session_id"]
        return headers

    def _execute(self, conn: Conn, req: Request, query_id: str, args: dict[str, str],
                 session: ClientSession | None, wait_ns: int) -> int:
        shape = req.shape
        t0 = time.monotonic_ns()
        if shape.kind == "INSERT" and shape.data_at is not None:
            summary = self._insert(conn, req)
            self._timing = f" (wait {wait_ns / 1e6:.1f}ms, engine {(time.monotonic_ns() - t0) / 1e6:.1f}ms, streamed insert)"
            self._send(200, b"", self._headers_for(req, query_id, args, summary))
            return 200
        wait_end = args.get("wait_end_of_query", "0") in ("1", "true")
        if shape.kind in STREAM_KINDS and not wait_end and self._streams_whole(req):
            try:
                return self._stream(conn, req, query_id, args, wait_ns)
            except ChError as err:
                if self._streaming or not (err.code == 36 and "Streaming query is not supported" in err.message):
                    raise
        gone = self.server.watcher.watch(self.connection, conn)
        try:
            result = conn.run(req.sql, req.fmt, req.params)
        except ChError:
            if gone.is_set():
                raise ConnectionError("client went away") from None
            raise
        finally:
            self.server.watcher.unwatch(gone)
        if gone.is_set():
            raise ConnectionError("client went away")
        query_ns = time.monotonic_ns() - t0
        body = result.bytes()
        if req.fmt.lower() in PROGRESS_FORMATS:
            body = progress_first(body)
        summary = {
            "read_rows": str(result.rows_read()),
            "read_bytes": str(result.bytes_read()),
            "written_rows": str(result.rows_written()),
            "written_bytes": str(result.bytes_written()),
            "total_rows_to_read": str(result.rows_read()),
            "result_rows": str(result.rows_written() if shape.kind == "INSERT" else count_rows(req.fmt, body)),
            "result_bytes": str(len(body)),
            "elapsed_ns": str(query_ns),
        }
        self._timing = f" (wait {wait_ns / 1e6:.1f}ms, query {query_ns / 1e6:.1f}ms, body {len(req.sql)} B)"
        headers = self._headers_for(req, query_id, args, summary)
        if self._compress_with:
            body = compress_all(body, self._compress_with)
            headers["Content-Encoding"] = self._compress_with
        self._send(200, body, headers)
        return 200

    @staticmethod
    def _streams_whole(req: Request) -> bool:
        """Whether the engine's block stream carries everything a server would write for this query: it leaves out
        totals, extremes and the rows_before_* events, so queries that produce them are answered whole."""
        if not ChunkShaper.streamable(req.fmt):
            return False
        on = lambda name: req.settings.get(name, "0").lower() not in ("0", "false", "")  # noqa: E731
        if req.shape.totals or on("extremes"):
            return False
        # rows_before_limit_at_least (a LIMIT in a *WithProgress format) is left out of a streamed result: see README
        if req.fmt.lower() in PROGRESS_FORMATS and on("rows_before_aggregation"):
            return False
        return True

    def _insert(self, conn: Conn, req: Request) -> dict[str, str]:
        """INSERT data up to `--insert-buffer-bytes` runs as one statement; a larger body goes to the engine as it
        arrives, so memory stays bounded whatever its size.

        Why not always stream: the engine's streaming insert (chdb 4.4) reports a CHECK-constraint violation as
        success and writes nothing (`finish()` says all rows were written, the table has none), where a server
        answers 469 VIOLATED_CONSTRAINT and a client such as the analyzer quarantines the refused rows. Parse
        errors are reported either way. So a body that fits is inserted by the path that reports every refusal,
        and only bodies beyond the buffer, which tests and `npm start` never send, take the streamed path (a
        documented limit).

        The statement reads the buffered body from a file (`FROM INFILE`), not from the query text: the engine's
        query path alters some byte sequences of inline data (two line breaks in a row, as RowBinary bodies hold in
        any string, port or timestamp, come back as "Cannot read all data"), where a server reads the body as sent.
        A statement with a SETTINGS clause of its own keeps inline data (INFILE must come before SETTINGS)."""
        assert self._body is not None
        pieces = self._body.pieces()
        head = bytearray(req.insert_data if req.insert_data.strip() else b"")
        streamed_rest = False
        for piece in pieces:
            head += piece
            if len(head) > self.server.insert_buffer_bytes:
                streamed_rest = True
                break
        fmt = req.shape.format or "Values"
        # An empty body takes the streamed path too: the engine's statement path answers 108 NO_DATA_TO_INSERT where
        # a server accepts it, and with no rows there is no constraint to check. Blanks are data in a binary format.
        has_data = bool(head) if fmt.lower() in BINARY_INPUT_FORMATS else bool(head.strip())
        if not streamed_rest and has_data:
            t0 = time.monotonic()
            if req.shape.insert_settings:
                res = conn.run(req.sql + f" FORMAT {fmt}\n".encode() + bytes(head), "TSV", req.params)
            else:
                res = self._insert_from_file(conn, req, fmt, head)
            return {
                "read_rows": str(res.rows_written()), "read_bytes": str(res.bytes_written()),
                "written_rows": str(res.rows_written()), "written_bytes": str(res.bytes_written()),
                "total_rows_to_read": "0", "result_rows": str(res.rows_written()),
                "result_bytes": str(res.bytes_written()), "elapsed_ns": str(int((time.monotonic() - t0) * 1e9)),
            }
        try:
            inserter = conn.session.send_insert(req.sql.decode("utf-8", "surrogateescape"), req.shape.format or "")
        except Exception as err:  # noqa: BLE001 - the engine's refusal, in ClickHouse's shape
            raise from_engine(err) from None
        committed = False
        try:
            inserter.append(bytes(head))
            for piece in pieces:
                inserter.append(piece)
            res = inserter.finish()
            committed = True
        except (ChError, ConnectionError, socket.timeout):
            raise
        except Exception as err:  # noqa: BLE001
            raise from_engine(err) from None
        finally:
            if not committed:
                try:
                    inserter.cancel()
                except Exception:  # noqa: BLE001 - already failed; the first error is the one to report
                    pass
        return {
            "read_rows": str(res.rows_written), "read_bytes": str(res.bytes_written),
            "written_rows": str(res.rows_written), "written_bytes": str(res.bytes_written),
            "total_rows_to_read": "0", "result_rows": str(res.rows_written), "result_bytes": str(res.bytes_written),
            "elapsed_ns": str(int(res.elapsed * 1e9)),
        }

    @staticmethod
    def _insert_from_file(conn: Conn, req: Request, fmt: str, body: bytearray):
        fd, path = tempfile.mkstemp(prefix="tollgate-insert-", suffix=".data")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            # COMPRESSION 'none': the engine would otherwise guess it from the file name
            sql = req.sql.rstrip() + f" FROM INFILE {quote_str(path)} COMPRESSION 'none' FORMAT {fmt}".encode()
            return conn.run(sql, "TSV", req.params)
        finally:
            os.unlink(path)

    def _stream(self, conn: Conn, req: Request, query_id: str, args: dict[str, str], wait_ns: int) -> int:
        """Rows go out as the engine produces them; a client that hangs up cancels the query.

        Like a server, the response is held back until it is complete, `buffer_size` bytes long (1 MiB) or the
        engine has produced a second block: a short result is one plain response with a complete summary and an
        early error a plain HTTP error; past that the result is sent chunked and a later error travels in-stream."""
        t0 = time.monotonic_ns()
        conn.progress = None
        gone = self.server.watcher.watch(self.connection, conn)
        try:
            stream = conn.stream(req.sql, req.fmt, req.params)
        except BaseException:
            self.server.watcher.unwatch(gone)
            raise
        finished = False
        shaper = ChunkShaper(req.fmt)
        try:
            buffer_size = int(args.get("buffer_size") or 1024 * 1024)
        except ValueError:
            buffer_size = 1024 * 1024
        held = bytearray()
        blocks = 0
        last_progress: list[dict | None] = [None]

        def shaped(chunk) -> bytes:
            progress = None
            if shaper.progress:
                p = conn.progress
                if p is None and last_progress[0] is None:
                    p = {"read_rows": chunk.rows_read(), "read_bytes": chunk.bytes_read(),
                         "total_rows_to_read": chunk.rows_read(), "elapsed_ns": int(chunk.elapsed() * 1e9)}
                if p is not None and p is not last_progress[0]:
                    progress = progress_row(p)
                    last_progress[0] = p
            return shaper.shape(chunk.bytes(), progress)

        def summary(result: bytes | None) -> dict[str, str]:
            p = conn.progress or {}
            return {
                "read_rows": str(p.get("read_rows", 0)), "read_bytes": str(p.get("read_bytes", 0)),
                "written_rows": "0", "written_bytes": "0",
                "total_rows_to_read": str(p.get("total_rows_to_read", 0)),
                "result_rows": str(count_rows(req.fmt, result) if result is not None else 0),
                "result_bytes": str(len(result) if result is not None else 0),
                "elapsed_ns": str(time.monotonic_ns() - t0),
            }

        try:
            chunk = self._fetch(stream, gone)
            while chunk is not None:
                held += shaped(chunk)
                blocks += 1
                chunk = self._fetch(stream, gone)
                if len(held) >= buffer_size or blocks >= 2:
                    break
            if chunk is None:
                finished = True
                body = bytes(held)
                if not body:
                    # The engine's stream yields no block for an empty result, so the header rows a server always
                    # sends (`*WithNames`, `*WithNamesAndTypes`) would be missing: run it once more whole, which
                    # answers exactly as a server. Only empty results pay for the second run.
                    body = conn.run(req.sql, req.fmt, req.params).bytes()
                headers = self._headers_for(req, query_id, args, summary(body))
                self._timing = f" (wait {wait_ns / 1e6:.1f}ms, query {(time.monotonic_ns() - t0) / 1e6:.1f}ms)"
                if self._compress_with:
                    body = compress_all(body, self._compress_with)
                    headers["Content-Encoding"] = self._compress_with
                self._send(200, body, headers)
                return 200

            headers = self._headers_for(req, query_id, args, summary(None))
            tag = secrets.token_hex(8)
            headers["X-ClickHouse-Exception-Tag"] = tag
            headers["Transfer-Encoding"] = "chunked"
            encoder = None
            if self._compress_with:
                headers["Content-Encoding"] = self._compress_with
                encoder = zlib.compressobj(3, zlib.DEFLATED,
                                           16 + zlib.MAX_WBITS if self._compress_with == "gzip" else zlib.MAX_WBITS)
            self.connection.settimeout(self.server.send_timeout_s)
            self._send_head(200, headers)
            self._streaming = True
            sent = len(held)
            self._write_chunk(encoder.compress(bytes(held)) if encoder else bytes(held))
            held = bytearray()
            try:
                while chunk is not None:
                    data = shaped(chunk)
                    sent += len(data)
                    self._write_chunk(encoder.compress(data) if encoder else data)
                    chunk = self._fetch(stream, gone)
                finished = True
            except ChError as err:
                if gone.is_set():
                    raise ConnectionError("client went away") from None
                # the status line went out long ago: the error travels inside the stream, as a server sends it
                block = exception_block(tag, self._error_text(err))
                self._write_chunk(encoder.compress(block) + encoder.flush(zlib.Z_SYNC_FLUSH) if encoder else block)
                finished = True
                self.close_connection = True
            if encoder is not None:
                self._write_chunk(encoder.flush())
            self.wfile.write(b"0\r\n\r\n")
            self.connection.settimeout(self.timeout)
            self._timing = (f" (wait {wait_ns / 1e6:.1f}ms, streamed {sent} B in "
                            f"{(time.monotonic_ns() - t0) / 1e6:.1f}ms)")
            return 200
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True
            if not gone.is_set():
                self.server.engine.kill(conn)
            raise ConnectionError("client went away") from None
        finally:
            self.server.watcher.unwatch(gone)
            if not finished:
                try:
                    stream.cancel()
                except Exception:  # noqa: BLE001 - the query is already gone
                    pass

    @staticmethod
    def _fetch(stream, gone: threading.Event):
        try:
            chunk = stream.fetch()
        except Exception as err:  # noqa: BLE001
            if gone.is_set():
                raise ConnectionError("client went away") from None
            raise from_engine(err) from None
        if gone.is_set():
            raise ConnectionError("client went away")
        return chunk

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))

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

    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("X-ClickHouse-Server-Display-Name", self.server.display_name)
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "Keep-Alive")
            self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_S}")
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._send_head(status, {**headers, "Content-Length": str(len(body))})
        self.wfile.write(body)

    def _error_text(self, err: ChError) -> str:
        message = err.message.rstrip()
        message = message if message.endswith(".") else message + "."
        return f"Code: {err.code}. DB::Exception: {message} ({err.name}) (version {self.server.engine.version})\n"

    def _send_error(self, status: int, err: ChError, query_id: str) -> None:
        body = self._error_text(err).encode()
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(err.code),
        }
        if query_id:
            headers["X-ClickHouse-Query-Id"] = query_id
        if self._compress_with:
            body = compress_all(body, self._compress_with)
            headers["Content-Encoding"] = self._compress_with
        try:
            self._send(status, body, headers)
        except (ConnectionError, socket.timeout):
            self.close_connection = True


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


def pick_encoding(accept: str) -> str | None:
    codecs = [c.split(";")[0].strip().lower() for c in accept.split(",")]
    return "gzip" if "gzip" in codecs else "deflate" if "deflate" in codecs else None


def compress_all(body: bytes, encoding: str) -> bytes:
    return gzip.compress(body, 3) if encoding == "gzip" else zlib.compress(body, 3)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], engine: Engine, max_body_bytes: int, max_connections: int,
                 max_sessions: int, send_timeout_s: float):
        super().__init__(addr, Handler)
        self.engine = engine
        self.sessions = Sessions(engine, max_sessions)
        self.watcher = Watcher(engine)
        self.max_body_bytes = max_body_bytes
        self.insert_buffer_bytes = 64 * 1024 * 1024
        self.max_connections = max_connections
        self.send_timeout_s = send_timeout_s
        self.display_name = socket.gethostname()
        self._active = 0
        self._active_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        # one thread per connection, at most max_connections of them: past that a client gets a clear 503 at once
        with self._active_lock:
            full = self._active >= self.max_connections
            if not full:
                self._active += 1
        if full:
            self._refuse(request)
            return
        threading.Thread(target=self._serve, args=(request, client_address), daemon=True).start()

    def _serve(self, request, client_address) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active -= 1

    def _refuse(self, request) -> None:
        text = (f"Code: 202. DB::Exception: Too many simultaneous connections: this endpoint serves at most "
                f"{self.max_connections} (--max-connections). (TOO_MANY_SIMULTANEOUS_QUERIES) "
                f"(version {self.engine.version})\n").encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                f"X-ClickHouse-Exception-Code: 202\r\nContent-Length: {len(text)}\r\nConnection: close\r\n\r\n")
        try:
            request.settimeout(0.5)
            request.sendall(head.encode() + text)
        except OSError:
            pass
        self.shutdown_request(request)


def main() -> None:
    ap = argparse.ArgumentParser(description="Dev/CI ClickHouse HTTP endpoint backed by chdb")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8123)
    ap.add_argument("--data", required=True, help="directory holding the databases")
    ap.add_argument("--max-body-bytes", type=int, default=256 * 1024 * 1024,
                    help="largest query text (body) read into memory; INSERT data is streamed and not limited")
    ap.add_argument("--insert-buffer-bytes", type=int, default=64 * 1024 * 1024,
                    help="INSERT data up to this size runs as one statement (every refusal reported); larger data is "
                         "streamed, where the engine does not report CHECK-constraint violations")
    ap.add_argument("--max-connections", type=int, default=128, help="open HTTP connections (one thread each)")
    ap.add_argument("--engine-connections", type=int, default=4, help="queries running at once")
    ap.add_argument("--engine-wait-ms", type=int, default=10_000,
                    help="how long a query waits for an engine connection before Code 202")
    ap.add_argument("--max-sessions", type=int, default=64, help="open session_id sessions (one engine connection each)")
    ap.add_argument("--max-result-bytes", type=int, default=1024 * 1024 * 1024,
                    help="default max_result_bytes of every query (a query may set its own; 0 = unlimited)")
    ap.add_argument("--max-execution-time", type=int, default=0,
                    help="default max_execution_time in seconds (a query may set its own; 0 = unlimited)")
    ap.add_argument("--send-timeout-s", type=float, default=30.0, help="a client that reads nothing this long is cut off")
    ap.add_argument("--pid-file", help="written once the port and the data directory are ours, removed at exit")
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    defaults = {}
    if a.max_result_bytes > 0:
        defaults["max_result_bytes"] = str(a.max_result_bytes)
    if a.max_execution_time > 0:
        defaults["max_execution_time"] = str(a.max_execution_time)
    engine = Engine(a.data, a.engine_connections, a.engine_wait_ms / 1000, defaults)
    server = Server((a.host, a.port), engine, a.max_body_bytes, a.max_connections, a.max_sessions, a.send_timeout_s)
    server.insert_buffer_bytes = a.insert_buffer_bytes

    def stop(_sig: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if a.pid_file:
        # only a process that holds both the port and the data-dir lock names itself, so a losing racer never does
        with open(a.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write(f"dev ClickHouse endpoint (chdb engine {engine.version}) on http://{a.host}:{a.port}, "
                     f"data in {os.path.abspath(a.data)}, {a.engine_connections} engine connections\n")
    sys.stderr.flush()
    server.serve_forever()
    server.server_close()
    # the engine flushes MergeTree parts on close; make that explicit rather than leave it to interpreter exit
    for session in list(server.sessions.by_id.values()):
        if session.conn is not None:
            session.conn.close()
    engine.close()
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
