-- The first schema: instruments, each series (symbol, resolution) with its first and last bar, their bars in integer
-- ticks, a revision.
-- Tables without rowid are stored in primary-key order: a series' bars lie together on disk, in time order.

CREATE TABLE instruments (
    symbol TEXT PRIMARY KEY,
    asset_class TEXT NOT NULL,
    exchange TEXT NOT NULL,
    timezone TEXT NOT NULL,
    session TEXT NOT NULL,
    description TEXT NOT NULL,
    pricescale INTEGER NOT NULL,
    minmov INTEGER NOT NULL,
    volume_precision INTEGER NOT NULL,
    currency TEXT NOT NULL
) WITHOUT ROWID;

-- Kept by every write, so that listing the instruments never scans their bars. id names the series in bars: an
-- integer binds and compares faster than (symbol, resolution) as text (an import some 15 % faster, a smaller file).
-- rewrites: the writes that changed the series other than by appending bars after its last (a bar replaced, one added
-- before the last), with the earliest bar time the latest of them wrote and the earliest any wrote (NULL: none), so
-- that a reader holding bars in memory knows from where to read them again.
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    symbol TEXT NOT NULL,
    resolution TEXT NOT NULL,
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    rewrites INTEGER NOT NULL DEFAULT 0,
    rewrite_latest_from INTEGER,
    rewrite_earliest_from INTEGER,
    UNIQUE (symbol, resolution)
);

-- time: the bar's start in UTC seconds; open, high, low, close: ticks (minmov / pricescale).
CREATE TABLE bars (
    series INTEGER NOT NULL REFERENCES series (id),
    time INTEGER NOT NULL,
    open INTEGER NOT NULL,
    high INTEGER NOT NULL,
    low INTEGER NOT NULL,
    close INTEGER NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (series, time)
) WITHOUT ROWID;

-- One row, bumped in the transaction of every write that changes something: a cheap poll for readers.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);

INSERT INTO revision (id, value) VALUES (1, 0);
