// SQL through node-postgres (imported lazily).
import type {Client} from 'pg'

export type PgConn = {host: string; port: number; user: string; password?: string; database: string}

/** libpq's TLS settings of the environment (one per run, like Patroni's REST access). */
export type PgTls = {sslmode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'; rootCertFile?: string; certFile?: string; keyFile?: string}
let tls: PgTls | undefined
export function setPgTls(t: PgTls | undefined): void {
  tls = t
}

/** The same settings for libpq's tools (pg_basebackup, pg_amcheck, psql), as environment variables. */
export function pgTlsEnv(): Record<string, string> {
  if (!tls) return {}
  return {PGSSLMODE: tls.sslmode, ...(tls.rootCertFile ? {PGSSLROOTCERT: tls.rootCertFile} : {}), ...(tls.certFile ? {PGSSLCERT: tls.certFile} : {}), ...(tls.keyFile ? {PGSSLKEY: tls.keyFile} : {})}
}

async function sslOptions(): Promise<false | Record<string, unknown>> {
  if (!tls || tls.sslmode === 'disable') return false
  const {readPem} = await import('./files.js')
  const verify = tls.sslmode === 'verify-ca' || tls.sslmode === 'verify-full'
  return {
    rejectUnauthorized: verify,
    ...(tls.rootCertFile ? {ca: readPem(tls.rootCertFile)} : {}),
    ...(tls.certFile ? {cert: readPem(tls.certFile)} : {}),
    ...(tls.keyFile ? {key: readPem(tls.keyFile)} : {}),
    // verify-ca: the chain, not the name (libpq's meaning)
    ...(tls.sslmode === 'verify-ca' ? {checkServerIdentity: () => undefined} : {}),
  }
}

/** A connection kept open by its caller (the drill's probe); each query gives up after `timeoutMs`. */
export async function pgClient(conn: PgConn, timeoutMs: number): Promise<Client> {
  const pg = await import('pg')
  const ssl = tls?.sslmode === 'prefer' ? false : await sslOptions()
  const c = new pg.default.Client({...conn, ssl, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs})
  c.on('error', () => {})
  await c.connect()
  return c
}

export async function withPg<T>(conn: PgConn, fn: (c: Client) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const pg = await import('pg')
  // 'prefer' is libpq's "try TLS, else plain": node-postgres has no such mode, so plain is used.
  const ssl = tls?.sslmode === 'prefer' ? false : await sslOptions()
  const c = new pg.default.Client({...conn, ssl, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs * 3})
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
