// SQL through node-postgres (imported lazily).
import type {Client} from 'pg'

export type PgConn = {host: string; port: number; user: string; password?: string; database: string}

export async function withPg<T>(conn: PgConn, fn: (c: Client) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const pg = await import('pg')
  const c = new pg.default.Client({...conn, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs * 3})
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => {})
  }
}

/** A real write check: txid_current() assigns a transaction id, which a standby refuses. Also returns the WAL timeline. */
export async function writableTimeline(conn: PgConn, timeoutMs = 1500): Promise<{timeline: number; xid: string}> {
  return withPg(conn, async (c) => {
    const r = await c.query<{tl: number; xid: string}>(
      `select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tl, txid_current()::text as xid`)
    return {timeline: Number(r.rows[0]!.tl), xid: r.rows[0]!.xid}
  }, timeoutMs)
}
