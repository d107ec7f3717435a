"""PostgreSQL with the pgvector extension as the vector store (`llm.rag.store: pgvector`), over psycopg 3.

Same interface as the embedded and Qdrant stores.

Layout: one table per RAG collection, not one shared table with a collection column. A filtered search on
a shared HNSW index walks the graph first and filters after, so a small collection next to a large one can
get fewer than top_k matches back; a table of its own gives each collection an index of its own rows,
its own vector size (like Qdrant's collections) and makes dropping one a `DROP TABLE`.
The table is `rag_<collection>`; a collection name too long for PostgreSQL's 63-byte identifiers (with
room for the index suffix) becomes `rag:<first 37 characters>:<16 hex digits of its SHA-256>`, and since
`:` is not allowed in collection names the two forms never collide. Columns: document id, chunk number
(together the primary key), text, metadata (jsonb), embedder name and `embedding vector(<dims>)`.

Similarity is cosine (`<=>`, score = 1 - distance; pgvector's NaN for a zero vector, which the hashing
embedder makes for text without words, is a score of 0 as in the embedded store), with an HNSW index (`vector_cosine_ops`) when the
server's pgvector has HNSW (0.5.0 and later) and the vectors fit it (2,000 dimensions at most). Older
versions search exactly without an index: IVFFlat is not used because it learns its lists from the rows
present when it is built, and these tables start empty. HNSW returns at most `hnsw.ef_search` (40 by
default) rows, so a query for more raises it for its own transaction.

Re-ingesting a document id replaces its chunks inside one transaction, holding an advisory lock per table,
so concurrent ingests (several workers or replicas) neither race on creating the table nor interleave.
An ingest by another embedder than the one a table's rows carry is refused, so one row tells a table's
embedder and the check costs no scan.
Connections: a few idle ones are kept for reuse by the worker's threads; one found dead on reuse is
replaced once. psycopg's automatic server-side prepared statements are off: they belong to a server
session, so they clash behind a transaction-pooling PgBouncer (and in PGlite, whose wire server runs every
client connection in its one session). Any database failure is an `UpstreamError` (HTTP 502); a table
whose vector size or embedder differs from this gateway's is a `ValueError` (HTTP 409). SQL is
parameterised; table and index names are quoted identifiers.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from typing import Callable, TypeVar

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from runtime.llm.rag.store import chunk_words
from runtime.web.errors import UpstreamError

T = TypeVar("T")

HNSW_MIN_VERSION = (0, 5, 0)
HNSW_MAX_DIMS = 2000
HNSW_DEFAULT_EF_SEARCH = 40
MAX_IDLE_CONNECTIONS = 4
_IDENTIFIER_BYTES = 63
_INDEX_SUFFIX = "_hnsw"
_EXTENSION_LOCK = "rag:create-extension"

_COLUMN_SIZE = sql.SQL(
    "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relname = %s AND a.attname = 'embedding' AND NOT a.attisdropped")


def table_name(collection: str) -> str:
    """The collection's table: `rag_<name>`, or a hashed form when that would not fit with the index suffix."""
    room = _IDENTIFIER_BYTES - len(_INDEX_SUFFIX)
    direct = f"rag_{collection}"
    if len(direct.encode()) <= room:
        return direct
    digest = hashlib.sha256(collection.encode()).hexdigest()[:16]
    return f"rag:{collection[:room - len('rag:') - 1 - len(digest)]}:{digest}"


def vector_text(vector: np.ndarray) -> str:
    """pgvector's text input form, `[x1,x2,...]`; repr keeps every float32 value exactly."""
    return "[" + ",".join(repr(value) for value in vector.tolist()) + "]"


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class PgvectorStore:
    def __init__(self, embedder, host: str, port: int, database: str, user: str, password: str, sslmode: str,
                 timeout_seconds: float, chunk_size: int, chunk_overlap: int) -> None:
        self.embedder = embedder
        self.chunk_size = chunk_size
        self.chunk_overlap = min(chunk_overlap, chunk_size - 1)
        self.where = f"pgvector at {host}:{port}/{database}"
        self._connect_args = {
            "host": host, "port": port, "dbname": database, "user": user, "password": password,
            "sslmode": sslmode, "connect_timeout": max(2, math.ceil(timeout_seconds)),
            "options": f"-c statement_timeout={max(1, round(timeout_seconds * 1000))}",
            "application_name": "platform-runtime-rag", "autocommit": True, "prepare_threshold": None}
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    def _fail(self, exc: psycopg.Error) -> UpstreamError:
        state = f" [{exc.sqlstate}]" if getattr(exc, "sqlstate", None) else ""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return UpstreamError(f"{self.where} failed{state}: {message}")

    def _take(self) -> tuple[psycopg.Connection, bool]:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection, True
        return psycopg.connect(**self._connect_args), False

    def _give_back(self, connection: psycopg.Connection) -> None:
        with self._lock:
            if not connection.closed and not connection.broken and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def _run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """`work` on a connection; a reused one that turns out dead is replaced once; failures become 502."""
        retried = False
        while True:
            try:
                connection, reused = self._take()
            except psycopg.Error as exc:
                raise self._fail(exc) from None
            try:
                result = work(connection)
            except psycopg.OperationalError as exc:
                connection.close()
                if reused and connection.broken and not retried:
                    retried = True
                    continue
                raise self._fail(exc) from None
            except psycopg.Error as exc:
                self._give_back(connection)
                raise self._fail(exc) from None
            except BaseException:
                self._give_back(connection)
                raise
            self._give_back(connection)
            return result

    def _column_size(self, connection: psycopg.Connection, table: str) -> int | None:
        row = connection.execute(_COLUMN_SIZE, (table,)).fetchone()
        return None if row is None else int(row[0])

    def _check_size(self, name: str, table: str, size: int) -> None:
        if size != self.embedder.dims:
            raise ValueError(f"pgvector table {table!r} of collection {name!r} holds {size}-dimensional vectors, "
                             f"the embedder {self.embedder.name} makes {self.embedder.dims}")

    def _create_table(self, connection: psycopg.Connection, table: str) -> None:
        """The extension (created here, not once per process: the database may be new since), table and index."""
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_EXTENSION_LOCK,))
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        version = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        identifier = sql.Identifier(table)
        connection.execute(sql.SQL(
            "CREATE TABLE {} (document_id text NOT NULL, chunk integer NOT NULL, content text NOT NULL, "
            "metadata jsonb NOT NULL, embedder text NOT NULL, embedding vector({}) NOT NULL, "
            "PRIMARY KEY (document_id, chunk))").format(identifier, sql.Literal(int(self.embedder.dims))))
        if _version(version) >= HNSW_MIN_VERSION and self.embedder.dims <= HNSW_MAX_DIMS:
            connection.execute(sql.SQL("CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops)")
                               .format(sql.Identifier(table + _INDEX_SUFFIX), identifier))

    def ingest(self, name: str, documents: list[dict]) -> int:
        rows = []
        for document in documents:
            for index, text in enumerate(chunk_words(document["text"], self.chunk_size, self.chunk_overlap)):
                rows.append([document["id"], index, text, Jsonb(document.get("metadata", {})), self.embedder.name])
        vectors = self.embedder.embed([row[2] for row in rows])
        for row, vector in zip(rows, vectors):
            row.append(vector_text(vector))
        table = table_name(name)

        def write(connection: psycopg.Connection) -> None:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
                size = self._column_size(connection, table)
                if size is None:
                    self._create_table(connection, table)
                else:
                    self._check_size(name, table, size)
                    other = connection.execute(sql.SQL("SELECT embedder FROM {} LIMIT 1")
                                               .format(sql.Identifier(table))).fetchone()
                    if other is not None and other[0] != self.embedder.name:
                        raise ValueError(f"collection {name!r} was embedded with {other[0]}, not "
                                         f"{self.embedder.name}; drop table {table!r} to re-ingest it")
                connection.execute(sql.SQL("DELETE FROM {} WHERE document_id = ANY(%s)").format(sql.Identifier(table)),
                                   ([document["id"] for document in documents],))
                with connection.cursor() as cursor:
                    cursor.executemany(sql.SQL(
                        "INSERT INTO {} (document_id, chunk, content, metadata, embedder, embedding) "
                        "VALUES (%s, %s, %s, %s, %s, %s::vector)").format(sql.Identifier(table)), rows)

        self._run(write)
        return len(rows)

    def query(self, name: str, text: str, top_k: int) -> list[dict]:
        vector = vector_text(self.embedder.embed([text])[0])
        table = table_name(name)

        def search(connection: psycopg.Connection) -> list[tuple]:
            with connection.transaction():
                size = self._column_size(connection, table)
                if size is None:
                    return []
                self._check_size(name, table, size)
                if top_k > HNSW_DEFAULT_EF_SEARCH:
                    connection.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(top_k),))
                return connection.execute(sql.SQL(
                    "SELECT document_id, chunk, content, metadata, embedder, 1 - (embedding <=> %s::vector) "
                    "FROM {} ORDER BY embedding <=> %s::vector LIMIT %s").format(sql.Identifier(table)),
                    (vector, vector, top_k)).fetchall()

        out = []
        for document_id, chunk, content, metadata, embedder, score in self._run(search):
            if embedder != self.embedder.name:
                raise ValueError(f"collection {name!r} was embedded with {embedder}, not {self.embedder.name}; "
                                 "re-ingest it")
            similarity = float(score)
            out.append({"document_id": document_id, "chunk": chunk, "text": content, "metadata": metadata,
                        "score": 0.0 if math.isnan(similarity) else round(similarity, 6)})
        return out

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(psycopg.Error):
                connection.close()
