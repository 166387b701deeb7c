// The Redis protocol, through ioredis (imported lazily: --help must not load it).
import type {Redis as RedisClient} from 'ioredis'

export type RedisConn = {host: string; port: number; password?: string}

export function parseHostPort(s: string): RedisConn {
  const i = s.lastIndexOf(':')
  return {host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1))}
}

/** One short-lived connection to a single node (not cluster mode: we talk to each node ourselves). */
export async function withRedis<T>(conn: RedisConn, fn: (r: RedisClient) => Promise<T>, timeoutMs = 2000): Promise<T> {
  const {Redis} = await import('ioredis')
  const r = new Redis({host: conn.host, port: conn.port, password: conn.password, lazyConnect: true, connectTimeout: timeoutMs,
    commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false})
  r.on('error', () => {})
  try {
    await r.connect()
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

export async function redisCommand(conn: RedisConn, command: string, ...args: (string | number)[]): Promise<unknown> {
  return withRedis(conn, (r) => r.call(command, ...args.map(String)))
}
