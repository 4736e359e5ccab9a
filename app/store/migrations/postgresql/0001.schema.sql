-- The first schema: instruments, their bars in integer ticks, each series' first and last bar, a revision.

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
);

-- time: the bar's start in UTC seconds; open, high, low, close: ticks (minmov / pricescale).
CREATE TABLE bars (
    symbol TEXT NOT NULL,
    resolution TEXT NOT NULL,
    time BIGINT NOT NULL,
    open BIGINT NOT NULL,
    high BIGINT NOT NULL,
    low BIGINT NOT NULL,
    close BIGINT NOT NULL,
    volume DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (symbol, resolution, time)
);

-- Kept by every write, so that listing the instruments never scans their bars. rewrites: the writes that changed the
-- series other than by appending bars after its last (a bar replaced, one added before the last), with the earliest
-- bar time the latest of them wrote and the earliest any wrote (NULL: none), so that a reader holding bars in memory
-- knows from where to read them again.
CREATE TABLE series (
    symbol TEXT NOT NULL,
    resolution TEXT NOT NULL,
    first_time BIGINT NOT NULL,
    last_time BIGINT NOT NULL,
    rewrites BIGINT NOT NULL DEFAULT 0,
    rewrite_latest_from BIGINT,
    rewrite_earliest_from BIGINT,
    PRIMARY KEY (symbol, resolution)
);

-- One row, bumped last in the transaction of every write that changes something (its row lock is held only
-- until that commit): a cheap poll for readers.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO revision (id, value) VALUES (1, 0);
