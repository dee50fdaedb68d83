"""The catalog's schema, as the list of migrations that build it: version i -> i+1, index 0 from nothing.

Kept apart from the access code in ``catalog.py``: each issue that needs a table adds one entry here and
bumps SCHEMA_VERSION; ``Catalog._migrate`` runs what a library is missing, one transaction per step.
"""

from __future__ import annotations

SCHEMA_VERSION = 8

# Each entry migrates from version i to i+1; index 0 creates the schema from nothing.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS folders(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT UNIQUE NOT NULL,
        added_at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS files(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT UNIQUE NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT,
        width INTEGER, height INTEGER, format TEXT, date_taken TEXT,
        status TEXT NOT NULL,
        error TEXT,
        scanned_at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS files_hash ON files(hash);
    CREATE TABLE IF NOT EXISTS embeddings(
        file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        vector BLOB NOT NULL,
        seq INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS embeddings_seq ON embeddings(seq);
    CREATE TABLE IF NOT EXISTS tombstones(file_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);
    """,
    # issue 11: evidence for the keeper rule (camera EXIF, software, border), reference folders, and the
    # groups a user reviewed ("not duplicates" / "keep all"), keyed by their members' content so that a
    # rescan keeps them reviewed. info_version < INFO_VERSION: the row predates this evidence (rescan fills it).
    """
    ALTER TABLE files ADD COLUMN camera_make TEXT;
    ALTER TABLE files ADD COLUMN camera_model TEXT;
    ALTER TABLE files ADD COLUMN software TEXT;
    ALTER TABLE files ADD COLUMN content_fraction REAL;
    ALTER TABLE files ADD COLUMN info_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE folders ADD COLUMN reference INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS reviewed_groups(
        group_id TEXT PRIMARY KEY,
        verdict TEXT NOT NULL,
        members TEXT NOT NULL,
        reviewed_at REAL NOT NULL);
    """,
    # issue 13: the stored neighbour graph (core/neighbours.py). A vector's edges leave with it, and the
    # photos that listed it are marked for a fresh look at their neighbours.
    """
    CREATE TABLE IF NOT EXISTS edges(
        a INTEGER NOT NULL,
        b INTEGER NOT NULL,
        sim REAL NOT NULL,
        PRIMARY KEY(a, b)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS edges_b ON edges(b);
    CREATE INDEX IF NOT EXISTS edges_sim ON edges(sim);
    CREATE TABLE IF NOT EXISTS edges_dirty(a INTEGER PRIMARY KEY);
    CREATE TRIGGER IF NOT EXISTS edges_follow_embeddings AFTER DELETE ON embeddings BEGIN
        INSERT OR IGNORE INTO edges_dirty(a) SELECT a FROM edges WHERE b=OLD.file_id;
        DELETE FROM edges WHERE a=OLD.file_id;
        DELETE FROM edges WHERE b=OLD.file_id;
    END;
    """,
    # issue 10: verification verdicts of candidate pairs and orientation signatures, keyed by content hash
    """
    CREATE TABLE IF NOT EXISTS pair_verdicts(
        a_hash TEXT NOT NULL, b_hash TEXT NOT NULL, version TEXT NOT NULL,
        same INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY(a_hash, b_hash, version));
    CREATE TABLE IF NOT EXISTS photo_signatures(
        hash TEXT NOT NULL, version TEXT NOT NULL, sig BLOB NOT NULL,
        PRIMARY KEY(hash, version));
    """,
    # issue 13: `status` reads running counts instead of counting a million rows (two passes, ~1 s at 1M):
    # one row for the whole catalog (folder '') and one per library folder (filled by Catalog when a folder
    # is added or first counted; lo/hi bound the paths below it), kept by triggers on every files change.
    """
    CREATE TABLE IF NOT EXISTS file_counts(
        folder TEXT PRIMARY KEY, lo TEXT NOT NULL, hi TEXT NOT NULL,
        files INTEGER NOT NULL, not_ok INTEGER NOT NULL, errors INTEGER NOT NULL, bytes INTEGER NOT NULL);
    INSERT OR REPLACE INTO file_counts SELECT '', '', '', COUNT(*), COALESCE(SUM(status<>'ok'), 0),
        COALESCE(SUM(status='error'), 0), COALESCE(SUM(size), 0) FROM files;
    CREATE TRIGGER IF NOT EXISTS file_counts_insert AFTER INSERT ON files BEGIN
        UPDATE file_counts SET files=files+1, not_ok=not_ok+(NEW.status<>'ok'),
            errors=errors+(NEW.status='error'), bytes=bytes+NEW.size
        WHERE folder='' OR folder=NEW.path OR (NEW.path>=lo AND NEW.path<hi);
    END;
    CREATE TRIGGER IF NOT EXISTS file_counts_delete AFTER DELETE ON files BEGIN
        UPDATE file_counts SET files=files-1, not_ok=not_ok-(OLD.status<>'ok'),
            errors=errors-(OLD.status='error'), bytes=bytes-OLD.size
        WHERE folder='' OR folder=OLD.path OR (OLD.path>=lo AND OLD.path<hi);
    END;
    CREATE TRIGGER IF NOT EXISTS file_counts_update AFTER UPDATE OF path, status, size ON files BEGIN
        UPDATE file_counts SET files=files-1, not_ok=not_ok-(OLD.status<>'ok'),
            errors=errors-(OLD.status='error'), bytes=bytes-OLD.size
        WHERE folder='' OR folder=OLD.path OR (OLD.path>=lo AND OLD.path<hi);
        UPDATE file_counts SET files=files+1, not_ok=not_ok+(NEW.status<>'ok'),
            errors=errors+(NEW.status='error'), bytes=bytes+NEW.size
        WHERE folder='' OR folder=NEW.path OR (NEW.path>=lo AND NEW.path<hi);
    END;
    """,
    # issues 10 + 13: what a rerun of `dupes` reads instead of recomputing. Orientation-signature candidate
    # pairs (core/signature_pairs.py) and each candidate pair's verdict by file id (core/verdicts.py), so a
    # rerun reads two tables rather than matching a million signatures and looking up verdicts by hash. A
    # removed vector takes its rows along; a changed one is handled by seq (see those modules).
    """
    CREATE TABLE IF NOT EXISTS sig_edges(
        a INTEGER NOT NULL, b INTEGER NOT NULL, sim REAL NOT NULL,
        PRIMARY KEY(a, b)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS sig_edges_b ON sig_edges(b);
    CREATE TABLE IF NOT EXISTS pair_checks(
        a INTEGER NOT NULL, b INTEGER NOT NULL, same INTEGER NOT NULL, sim REAL NOT NULL,
        PRIMARY KEY(a, b)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS pair_checks_b ON pair_checks(b);
    CREATE INDEX IF NOT EXISTS pair_checks_same ON pair_checks(a, b, sim) WHERE same=1;
    CREATE TRIGGER IF NOT EXISTS pairs_follow_embeddings AFTER DELETE ON embeddings BEGIN
        DELETE FROM sig_edges WHERE a=OLD.file_id;
        DELETE FROM sig_edges WHERE b=OLD.file_id;
        DELETE FROM pair_checks WHERE a=OLD.file_id;
        DELETE FROM pair_checks WHERE b=OLD.file_id;
    END;
    """,
    # the keeper compares JPEGs of one size by how hard they were compressed, not by bytes (INFO_VERSION 2:
    # rows before it get the quality from their headers at the next scan, as the EXIF evidence did)
    """
    ALTER TABLE files ADD COLUMN jpeg_quality INTEGER;
    """,
    # a multi-page TIFF or an animation holds pictures its first does not show: never marked as a copy of it
    # alone (INFO_VERSION 3: older rows get the count from their headers at the next scan)
    """
    ALTER TABLE files ADD COLUMN pictures INTEGER;
    """,
]
