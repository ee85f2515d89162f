-- A SET's `txn` (RFC 8417 §2.2): the transaction its change belongs to, when the client
-- was told one (the `Set-Txn` of an asynchronous request and the operation's index).
ALTER TABLE outbox ADD COLUMN txn TEXT;

-- Push delivery (RFC 8935). A receiver is where a tenant's SETs are POSTed; its secret
-- (the HS256 key) and OAuth client secret are secrets: protect the database as the keys
-- it holds. The counters are the receiver's delivery figures.
CREATE TABLE receivers (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    token_url TEXT,
    client_id TEXT,
    client_secret TEXT,
    scope TEXT,
    created BIGINT NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0,
    retried BIGINT NOT NULL DEFAULT 0,
    dead_lettered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX receivers_tenant ON receivers (tenant_id, created);

-- One row per outbox entry and receiver, written in the entry's transaction; deleted once
-- delivered. 'pending' rows are due at `due` (a claim pushes it past the attempt: the
-- lease); 'dead' rows wait for a re-drive. Per receiver and subject the lowest pending
-- seq goes first.
CREATE TABLE deliveries (
    receiver_id TEXT COLLATE "C" NOT NULL REFERENCES receivers (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due BIGINT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (receiver_id, seq)
);
CREATE INDEX deliveries_due ON deliveries (due, seq) WHERE state = 'pending';
CREATE INDEX deliveries_subject ON deliveries (receiver_id, subject, seq) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (receiver_id, seq) WHERE state = 'dead';
