-- The first schema: instruments, their bars in integer ticks, each series' first and last bar, a revision.
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

-- time: the bar's start in UTC seconds; open, high, low, close: ticks (minmov / pricescale).
CREATE TABLE bars (
    symbol TEXT NOT NULL,
    resolution TEXT NOT NULL,
    time INTEGER NOT NULL,
    open INTEGER NOT NULL,
    high INTEGER NOT NULL,
    low INTEGER NOT NULL,
    close INTEGER NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (symbol, resolution, time)
) WITHOUT ROWID;

-- Kept by every write, so that listing the instruments never scans their bars.
CREATE TABLE series (
    symbol TEXT NOT NULL,
    resolution TEXT NOT NULL,
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    PRIMARY KEY (symbol, resolution)
) WITHOUT ROWID;

-- One row, bumped in the transaction of every write that changes something: a cheap poll for readers.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);

INSERT INTO revision (id, value) VALUES (1, 0);
