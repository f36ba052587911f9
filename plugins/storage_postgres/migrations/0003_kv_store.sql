-- 0003: the kv_store service (core/include/appliance/kv_store.h).
--
-- One row per live or not yet purged entry. Keys compare as bytes (COLLATE "C"), which is the
-- order list() promises and lets a prefix be one range of the primary key. expires_at is UTC
-- microseconds, 0 for never; expired rows are invisible to every statement and deleted in
-- batches by the storage_postgres.kv_purge timer (through the partial index below).
CREATE TABLE IF NOT EXISTS appliance_kv (
  ns text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  value bytea NOT NULL,
  version bigint NOT NULL CHECK (version >= 1),
  expires_at bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, key)
);
CREATE INDEX IF NOT EXISTS appliance_kv_expiry_idx ON appliance_kv (expires_at)
  WHERE expires_at <> 0;

-- Every write takes a fresh version from here. A sequence never hands out a value twice (not
-- even after a rollback), so a key deleted and re-created never gets an old version back.
CREATE SEQUENCE IF NOT EXISTS appliance_kv_version AS bigint START 1 NO CYCLE;
