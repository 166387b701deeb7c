// The Redis protocol, through ioredis (imported lazily: --help must not load it).
import type {Redis as RedisClient} from 'ioredis'

export type RedisConn = {host: string; port: number; password?: string}

export function parseHostPort(s: string): RedisConn {
  const i = s.lastIndexOf(':')
  return {host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1))}
}

/** The environment's Redis ACL user and TLS (one per run). */
export type RedisAccess = {username?: string; tls?: {caFile?: string; certFile?: string; keyFile?: string; insecureSkipVerify?: boolean}}
let access: RedisAccess = {}
export function setRedisAccess(a: RedisAccess): void {
  access = a
}

async function redisTls(): Promise<Record<string, unknown> | undefined> {
  const t = access.tls
  if (!t) return undefined
  const {readPem} = await import('./files.js')
  return {rejectUnauthorized: !t.insecureSkipVerify, ...(t.caFile ? {ca: readPem(t.caFile)} : {}), ...(t.certFile ? {cert: readPem(t.certFile)} : {}),
    ...(t.keyFile ? {key: readPem(t.keyFile)} : {})}
}

/** A Redis Cluster client (the drill's probe: it follows slots as a client library does); commands give up after `timeoutMs`. */
export async function redisCluster(seeds: string[], password: string | undefined, timeoutMs: number): Promise<import('ioredis').Cluster> {
  const {Cluster} = await import('ioredis')
  const tls = await redisTls()
  const c = new Cluster(seeds.map(parseHostPort), {
    // A third of the caller's budget per node: a hung node among the seeds is passed over in time.
    redisOptions: {password, ...(access.username ? {username: access.username} : {}), ...(tls ? {tls} : {}), connectTimeout: Math.ceil(timeoutMs / 3), commandTimeout: timeoutMs, maxRetriesPerRequest: 0},
    slotsRefreshTimeout: Math.ceil(timeoutMs / 3), slotsRefreshInterval: 0, retryDelayOnFailover: 100, retryDelayOnClusterDown: 100, retryDelayOnTryAgain: 100,
    clusterRetryStrategy: () => null, enableOfflineQueue: true, lazyConnect: true,
  })
  c.on('error', () => {})
  // No periodic slot refresh (slotsRefreshInterval 0): ioredis re-arms that timer when a refresh
  // finishes after disconnect(), which kept a finished drill's process alive. The probe drops and
  // re-creates the client after any error, which reads the slots again.
  // Not connected here: the first command connects, so a caller can always disconnect() it, even while
  // a connect to a hung node is pending (else the process would linger until that gives up).
  return c
}

/** One short-lived connection to a single node (not cluster mode: we talk to each node ourselves). */
export async function withRedis<T>(conn: RedisConn, fn: (r: RedisClient) => Promise<T>, timeoutMs = 2000): Promise<T> {
  const {Redis} = await import('ioredis')
  const tls = await redisTls()
  const r = new Redis({host: conn.host, port: conn.port, password: conn.password, ...(access.username ? {username: access.username} : {}), ...(tls ? {tls} : {}), lazyConnect: true, connectTimeout: timeoutMs,
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
