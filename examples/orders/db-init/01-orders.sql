-- The orders table: an order's key is the client's idempotency key (the journey's uuid4).
CREATE TABLE orders (
    key        text        PRIMARY KEY,
    item       int         NOT NULL,
    quantity   int         NOT NULL CHECK (quantity > 0),
    zone       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
