"""The mailbox: what came back from the clients (replies, bounces, out-of-office), read over
IMAP before each run, read-only. `retours` holds the records the rest of the tool reads."""
