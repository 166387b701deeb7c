// Where the lab keeps its files and which ports it uses. Saved as lab.json in the lab dir so
// that up, status and down agree on them.
import {createHash} from 'node:crypto'
import {z} from 'zod'
import {readJsonFile, readText} from '../clients/files.js'
import {join} from 'node:path'
import {isRoot, lookupUser} from '../clients/process.js'
import {usageError} from '../errors.js'

export const PORT_NAMES = ['etcd', 'etcd-peer', 'patroni-1', 'patroni-2', 'patroni-3', 'postgres-1', 'postgres-2', 'postgres-3',
  'redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6', 's3', 's3-console', 'prometheus',
  'kube-etcd', 'kube-etcd-peer', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'velero-metrics', 'velero-profiler'] as const
export type PortName = (typeof PORT_NAMES)[number]

export const DEFAULT_BASE_PORT = 12000
const OFFSETS: Record<PortName, number> = {
  etcd: 379, 'etcd-peer': 380,
  'patroni-1': 8, 'patroni-2': 9, 'patroni-3': 10,
  'postgres-1': 432, 'postgres-2': 433, 'postgres-3': 434,
  'redis-1': 701, 'redis-2': 702, 'redis-3': 703, 'redis-4': 704, 'redis-5': 705, 'redis-6': 706,
  s3: 900, 's3-console': 901, prometheus: 90,
  'kube-etcd': 479, 'kube-etcd-peer': 480, 'kube-apiserver': 643, 'kube-controller-manager': 257, 'kube-scheduler': 259, kwok: 247,
  'velero-metrics': 285, 'velero-profiler': 286,
}

export type S3Server = 'moto' | 'minio'

/** What a lab runs by default; `kubernetes` only when asked (`lab up --with kubernetes`): it is heavier. */
export const LAB_COMPONENTS = ['postgres', 'redis', 's3', 'prometheus'] as const
export const OPTIONAL_COMPONENTS = ['kubernetes'] as const
export const ALL_COMPONENTS = [...LAB_COMPONENTS, ...OPTIONAL_COMPONENTS] as const
export type LabComponent = (typeof ALL_COMPONENTS)[number]

export type LabLayout = {
  dir: string
  /** PostgreSQL data, Patroni configs and the WAL archive: must be reachable by the postgres user. */
  pgRoot: string
  ports: Record<PortName, number>
  s3Server: S3Server
  cluster: string
  /** What this lab runs (all four by default; `lab up --only s3` for a light one). */
  components: LabComponent[]
}

export function portsFrom(base: number, overrides: Partial<Record<PortName, number>> = {}): Record<PortName, number> {
  return Object.fromEntries(PORT_NAMES.map((n) => [n, overrides[n] ?? base + OFFSETS[n]])) as Record<PortName, number>
}

const COMPONENT_PORTS: Record<LabComponent, (n: PortName) => boolean> = {
  postgres: (n) => n.startsWith('etcd') || n.startsWith('patroni-') || n.startsWith('postgres-'),
  redis: (n) => n.startsWith('redis-'),
  s3: (n) => n.startsWith('s3'),
  prometheus: (n) => n === 'prometheus',
  kubernetes: (n) => n.startsWith('kube-') || n === 'kwok' || n.startsWith('velero-'),
}

/** The ports a lab with these components listens on (Redis Cluster also on client port + 10000). */
export function listeningPorts(ports: Record<PortName, number>, components: readonly LabComponent[]): [string, number][] {
  const used = PORT_NAMES.filter((n) => components.some((c) => COMPONENT_PORTS[c](n)))
  return [...used.map((n) => [n, ports[n]] as [string, number]), ...used.filter((n) => n.startsWith('redis-')).map((n) => [`${n} cluster bus`, ports[n] + 10_000] as [string, number])]
}

export function validatePorts(ports: Record<PortName, number>, components: readonly LabComponent[], ephemeral = ephemeralRange()): void {
  const seen = new Map<number, string>()
  for (const [n, p] of listeningPorts(ports, components)) {
    if (!Number.isInteger(p) || p < 1024 || p > 65_535) throw usageError('LAB_PORT', `port for ${n} must be 1024-65535, got ${p}`, ['Pick another --base-port or --port NAME=PORT.'])
    if (ephemeral && p >= ephemeral[0] && p <= ephemeral[1]) {
      throw usageError('LAB_PORT', `${n} would use port ${p}, inside the kernel's ephemeral range ${ephemeral[0]}-${ephemeral[1]}: any outgoing connection may hold it and the service would fail to start`,
        [`Pick a --base-port whose ports (and Redis cluster bus ports, +10000) stay below ${ephemeral[0]}, e.g. the default 12000.`])
    }
    if (seen.has(p)) throw usageError('LAB_PORT', `ports for ${seen.get(p)} and ${n} are both ${p}`, ['Give each service its own port.'])
    seen.set(p, n)
  }
}

/** Linux's range for outgoing connections' local ports (net.ipv4.ip_local_port_range). */
export function ephemeralRange(): [number, number] | undefined {
  const [a, b] = (readText('/proc/sys/net/ipv4/ip_local_port_range') ?? '').trim().split(/\s+/).map(Number)
  return a && b ? [a, b] : undefined
}

export function parsePortOverrides(items: string[] = []): Partial<Record<PortName, number>> {
  const out: Partial<Record<PortName, number>> = {}
  for (const item of items) {
    const m = /^([a-z0-9-]+)=(\d+)$/.exec(item)
    if (!m || !(PORT_NAMES as readonly string[]).includes(m[1]!)) {
      throw usageError('LAB_PORT', `--port ${item}: expected NAME=PORT with NAME one of ${PORT_NAMES.join(', ')}`, ['e.g. --port redis-1=7001'])
    }
    const port = Number(m[2])
    if (port < 1 || port > 65_535) throw usageError('LAB_PORT', `--port ${item}: the port must be from 1 to 65535`, ['e.g. --port redis-1=7001'])
    out[m[1] as PortName] = port
  }
  return out
}

/** As root, PostgreSQL's files live under the postgres user's home (root's home is not reachable). */
export function pgRootFor(dir: string): string {
  if (!isRoot()) return join(dir, 'postgres')
  const pg = lookupUser('postgres')
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 8)
  return join(pg?.home ?? '/var/lib/postgresql', `vaultctl-lab-${hash}`)
}

export const layoutFile = (dir: string) => join(dir, 'lab.json')

/** lab.json as written by `lab up` (older labs lack components and newer ports). */
const LabLayoutFileSchema = z.looseObject({
  dir: z.string(), pgRoot: z.string(), ports: z.record(z.string(), z.number().int().min(1).max(65_535)).refine((p) => p.etcd !== undefined, 'no etcd port'),
  s3Server: z.enum(['minio', 'moto']), cluster: z.string(), components: z.array(z.enum(ALL_COMPONENTS)).optional(),
})

export function readLayout(dir: string): LabLayout | undefined {
  const l = readJsonFile(layoutFile(dir), LabLayoutFileSchema) as LabLayout | undefined
  if (!l) return undefined
  // Ports added since the lab was made follow its base (etcd's offset tells it).
  const base = l.ports.etcd - OFFSETS.etcd
  return {...l, ports: {...portsFrom(base), ...l.ports}, components: l.components ?? [...LAB_COMPONENTS]}
}

export function newLayout(dir: string, opts: {basePort?: number; ports?: Partial<Record<PortName, number>>; s3Server?: S3Server; components?: LabComponent[]}): LabLayout {
  const components = opts.components && opts.components.length ? [...opts.components] : [...LAB_COMPONENTS]
  const ports = portsFrom(opts.basePort ?? DEFAULT_BASE_PORT, opts.ports)
  validatePorts(ports, components)
  return {
    dir,
    pgRoot: pgRootFor(dir),
    ports,
    s3Server: opts.s3Server ?? 'minio',
    cluster: 'vault-lab',
    components,
  }
}

/** What a lab creates in its directory (`lab down --purge` deletes these and nothing else). */
export const LAB_DIR_ENTRIES = ['lab.json', 'vaultctl.yaml', 'run', 'logs', 'secrets', 'tls', 'prometheus', 's3', 'etcd', 'kubernetes', 'postgres', ...[1, 2, 3, 4, 5, 6].map((i) => `redis-${i}`)]

export const LAB_BUCKETS = {data: 'vault-data', backups: 'vault-backups', audit: 'vault-audit'} as const
export const PG_MEMBERS = [1, 2, 3] as const
export type PgMember = (typeof PG_MEMBERS)[number]
export const REDIS_NODES = [1, 2, 3, 4, 5, 6] as const

/** The port of a named service ("patroni-2", "redis-5", ...). */
export const portOf = (l: LabLayout, name: string): number => {
  const p = l.ports[name as PortName]
  if (p === undefined) throw new Error(`no lab port named ${name}`)
  return p
}
