// The drill's probe: a client that writes a sequence number every interval to PostgreSQL (the
// leader, found through Patroni as a client's pooler would), Redis Cluster and S3, reads the newest
// back, and records every attempt with its time. Afterwards it reads back which acknowledged
// writes survived. One loop per system, so a hung Redis does not slow the PostgreSQL writes.
import type {Client} from 'pg'
import type {Cluster} from 'ioredis'
import type {ProbeSpec} from '../plan/ops-drill.js'
import type {Attempt, ProbeTarget} from '../drill/measure.js'
import type {OperationSecrets} from './operations.js'
import {firstCluster} from '../postgres/cluster-state.js'
import {normalizeRole} from '../postgres/roles.js'
import {pgClient} from './postgres.js'
import {redisCluster} from './redis.js'
import {errorMessage, failure} from '../errors.js'
import type {S3Client} from './s3.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const PROBE_TABLE = 'vaultctl_drill.probe'
export const CORRUPTION_TABLE = 'vaultctl_drill.corruption'
export const redisKey = (run: string, seq: number) => `vaultctl:drill:{${run}}:${seq}`

type Driver = {write(seq: number): Promise<void>; read(): Promise<void>; survivors(acked: number[]): Promise<Set<number>>; close(): Promise<void>}

/** The leader's address, as Patroni says now (a pooler does the same). */
export async function leaderConn(endpoints: string[], user: string, database: string, password?: string): Promise<{host: string; port: number; user: string; database: string; password?: string}> {
  const {cluster} = await firstCluster(endpoints)
  const leader = cluster.members.find((m) => normalizeRole(m.role) === 'leader' && m.host && m.port && /running|streaming/.test(m.state ?? 'running'))
  if (!leader) throw new Error('no running leader')
  return {host: leader.host!, port: leader.port!, user, database, password}
}

function postgresDriver(spec: NonNullable<ProbeSpec['postgres']>, run: string, password: string | undefined, timeoutMs: number): Driver {
  let client: Client | undefined
  let closed = false
  const connect = async () => {
    if (!client) {
      const c = await pgClient(await leaderConn(spec.endpoints, spec.user, spec.database, password), timeoutMs)
      // An attempt that outlived its timeout may connect after close(): that connection must not stay open.
      if (closed) {
        void c.end().catch(() => {})
        throw new Error('the probe is closed')
      }
      client = c
    }
    return client
  }
  const drop = (error: unknown) => {
    void client?.end().catch(() => {})
    client = undefined
    throw error
  }
  return {
    write: async (seq) => {
      await (await connect()).query(`insert into ${PROBE_TABLE}(run, seq) values ($1, $2)`, [run, seq]).catch(drop)
    },
    read: async () => {
      await (await connect()).query(`select max(seq) from ${PROBE_TABLE} where run = $1`, [run]).catch(drop)
    },
    survivors: async () => {
      const r = await (await connect()).query<{seq: number}>(`select seq from ${PROBE_TABLE} where run = $1`, [run]).catch(drop)
      return new Set(r.rows.map((x) => Number(x.seq)))
    },
    close: async () => {
      closed = true
      await client?.end().catch(() => {})
      client = undefined
    },
  }
}

function redisDriver(spec: NonNullable<ProbeSpec['redis']>, run: string, password: string | undefined, timeoutMs: number): Driver {
  let cluster: Cluster | undefined
  let last = 0
  let closed = false
  let rotation = 0
  const connect = async () => {
    if (!cluster) {
      // Each new client starts from the next seed: one hung node first in the list cannot stall every reconnect.
      rotation++
      const seeds = spec.nodes.map((_, i) => spec.nodes[(i + rotation) % spec.nodes.length]!)
      const c = await redisCluster(seeds, password, timeoutMs)
      // Created after close() by an attempt that outlived its timeout: its slot-refresh timer would keep the process alive.
      if (closed) {
        c.disconnect()
        throw new Error('the probe is closed')
      }
      cluster = c
    }
    return cluster
  }
  const drop = (error: unknown) => {
    cluster?.disconnect()
    cluster = undefined
    throw error
  }
  const timed = <T>(p: Promise<T>) => Promise.race([p, sleep(timeoutMs).then(() => {
    throw new Error(`no answer within ${timeoutMs} ms`)
  })])
  return {
    write: async (seq) => {
      await timed((await connect()).set(redisKey(run, seq), String(Date.now()), 'EX', 86_400)).catch(drop)
      last = seq
    },
    read: async () => {
      if (last) await timed((await connect()).get(redisKey(run, last))).catch(drop)
    },
    survivors: async (acked) => {
      // One hash tag: every key of the run is in one slot, so MGET reads them from one node.
      const c = await connect()
      const found = new Set<number>()
      for (let i = 0; i < acked.length; i += 500) {
        const batch = acked.slice(i, i + 500)
        const values = await timed(c.mget(...batch.map((seq) => redisKey(run, seq)))).catch(drop)
        batch.forEach((seq, k) => values[k] !== null && found.add(seq))
      }
      return found
    },
    close: async () => {
      closed = true
      cluster?.disconnect()
      cluster = undefined
    },
  }
}

function s3Driver(spec: NonNullable<ProbeSpec['s3']>, secrets: OperationSecrets, timeoutMs: number): Driver {
  let client: S3Client | undefined
  let last = 0
  let closed = false
  const connect = async () => {
    const {s3Client} = await import('./s3.js')
    if (!client) {
      const c = await s3Client({...spec.s3, ...secrets.s3}, {maxAttempts: 1})
      if (closed) {
        c.destroy()
        throw new Error('the probe is closed')
      }
      client = c
    }
    return client
  }
  const abort = () => AbortSignal.timeout(timeoutMs)
  return {
    write: async (seq) => {
      const {PutObjectCommand} = await import('@aws-sdk/client-s3')
      await (await connect()).send(new PutObjectCommand({Bucket: spec.bucket, Key: `${spec.prefix}${seq}`, Body: JSON.stringify({seq, at: new Date().toISOString()})}), {abortSignal: abort()})
      last = seq
    },
    read: async () => {
      const {HeadObjectCommand} = await import('@aws-sdk/client-s3')
      if (last) await (await connect()).send(new HeadObjectCommand({Bucket: spec.bucket, Key: `${spec.prefix}${last}`}), {abortSignal: abort()})
    },
    survivors: async () => {
      const {listObjects} = await import('./s3.js')
      const objects = await listObjects(await connect(), spec.bucket, spec.prefix)
      return new Set(objects.map((o) => Number(o.key.slice(spec.prefix.length))).filter((n) => Number.isInteger(n)))
    },
    close: async () => {
      closed = true
      client?.destroy()
      client = undefined
    },
  }
}

export class Probe {
  readonly attempts: Attempt[] = []
  readonly startedAt = Date.now()
  stoppedAt?: number
  private readonly drivers = new Map<ProbeTarget, Driver>()
  private readonly loops: Promise<void>[] = []
  private stopping = false

  constructor(private readonly spec: ProbeSpec, secrets: OperationSecrets) {
    const t = spec.attemptTimeoutMs
    if (spec.postgres) this.drivers.set('postgres', postgresDriver(spec.postgres, spec.run, secrets.pgPassword, t))
    if (spec.redis) this.drivers.set('redis', redisDriver(spec.redis, spec.run, secrets.redisPassword, t))
    if (spec.s3) this.drivers.set('s3', s3Driver(spec.s3, secrets, t))
  }

  get targets(): ProbeTarget[] {
    return [...this.drivers.keys()]
  }

  start(): void {
    for (const [target, d] of this.drivers) this.loops.push(this.loop(target, d))
  }

  private async attempt(target: ProbeTarget, op: 'write' | 'read', seq: number, fn: () => Promise<void>): Promise<boolean> {
    const startedAt = Date.now()
    try {
      // Whatever hangs (a connect to a stopped node included) is a failed attempt, never a stuck probe.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([fn(), new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.spec.attemptTimeoutMs} ms`)), this.spec.attemptTimeoutMs)
      })]).finally(() => clearTimeout(timer))
      this.attempts.push({target, op, seq, startedAt, endedAt: Date.now(), ok: true})
      return true
    } catch (error) {
      this.attempts.push({target, op, seq, startedAt, endedAt: Date.now(), ok: false, error: errorMessage(error).slice(0, 200)})
      return false
    }
  }

  private async loop(target: ProbeTarget, d: Driver): Promise<void> {
    let seq = 0
    while (!this.stopping) {
      const t0 = Date.now()
      seq++
      const s = seq
      if (await this.attempt(target, 'write', s, () => d.write(s))) await this.attempt(target, 'read', s, () => d.read())
      const wait = this.spec.intervalMs - (Date.now() - t0)
      if (wait > 0) await sleep(wait)
    }
  }

  /** The first successful write of `target` that started after `t` (ms). */
  firstOkAfter(t: number, target?: ProbeTarget): number | undefined {
    return this.attempts.find((a) => a.op === 'write' && a.ok && a.startedAt >= t && (!target || a.target === target))?.endedAt
  }

  /** Every target has written at least once since `t`. */
  allWroteSince(t: number): boolean {
    return this.targets.every((target) => this.firstOkAfter(t, target) !== undefined)
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    await Promise.all(this.loops)
    this.stoppedAt = Date.now()
  }

  /** Which sequence numbers each target still holds (retried while the system settles). */
  async survivors(target: ProbeTarget, timeoutMs = 30_000): Promise<Set<number>> {
    const d = this.drivers.get(target)!
    const t0 = Date.now()
    for (;;) {
      try {
        return await d.survivors(this.attempts.filter((a) => a.target === target && a.op === 'write' && a.ok).map((a) => a.seq))
      } catch (error) {
        if (Date.now() - t0 > timeoutMs) throw failure('DRILL_READBACK', `cannot read back the probe's writes from ${target}: ${errorMessage(error)}`)
        await sleep(500)
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.drivers.values()].map((d) => d.close()))
  }
}
