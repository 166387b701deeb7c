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
