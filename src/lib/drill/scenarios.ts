// The disaster scenarios a drill rehearses, each tied to the row of the architecture that promises
// its RPO and RTO (8.2's matrix; 7.2's failure-mode table for the failovers it does not list) and
// to how often the matrix says it is "Tested".

export const SCENARIOS = ['postgres-primary-loss', 'postgres-switchover', 'postgres-corruption', 'redis-master-loss', 'redis-cache-loss', 's3-prefix-deletion',
  'namespace-deletion', 'backup-validation'] as const
export type ScenarioId = (typeof SCENARIOS)[number]

export type Cadence = 'daily' | 'weekly' | 'monthly'

/**
 * `availability`: the RTO is the longest time clients could not write (or read), from the probe;
 * `data`: the RTO is the time from the fault until the lost data is back and verified.
 */
export type ScenarioKind = 'availability' | 'data'

export type Scenario = {
  id: ScenarioId
  title: string
  kind: ScenarioKind
  /** where the targets come from */
  source: string
  targets: {rpoSeconds: number; rtoSeconds: number}
  tested: Cadence
  /** the components the scenario needs in the environment */
  needs: ('postgres' | 'redis' | 's3' | 'kubernetes' | 'velero')[]
  /** what the probe writes to while the drill runs */
  probes: ('postgres' | 'redis' | 's3')[]
  recovery: 'automatic' | 'vaultctl'
  fault: string
}

export const SCENARIO_INFO: Record<ScenarioId, Scenario> = {
  'postgres-primary-loss': {
    id: 'postgres-primary-loss', title: 'PostgreSQL primary lost (kill -9 of the leader\'s Patroni and postmaster)', kind: 'availability',
    source: 'architecture 7.2 "PostgreSQL Primary": failover 20-30 s, data loss ~5 s of commits', targets: {rpoSeconds: 5, rtoSeconds: 30}, tested: 'weekly',
    needs: ['postgres'], probes: ['postgres'], recovery: 'automatic', fault: 'SIGKILL the leader\'s Patroni and PostgreSQL',
  },
  'postgres-switchover': {
    id: 'postgres-switchover', title: 'Planned PostgreSQL switchover (maintenance)', kind: 'availability',
    source: 'architecture 7.3 manual failover (Patroni switchover): 20-30 s, and a planned switch loses nothing', targets: {rpoSeconds: 0, rtoSeconds: 30}, tested: 'weekly',
    needs: ['postgres'], probes: ['postgres'], recovery: 'vaultctl', fault: 'none (planned): `vaultctl failover postgres`',
  },
  'postgres-corruption': {
    id: 'postgres-corruption', title: 'PostgreSQL data corruption (rows deleted by mistake)', kind: 'data',
    source: 'architecture 8.2 "PostgreSQL data corruption": RPO 1 min, RTO 15 min, restore from WAL archives', targets: {rpoSeconds: 60, rtoSeconds: 900}, tested: 'weekly',
    needs: ['postgres', 's3'], probes: ['postgres'], recovery: 'vaultctl', fault: 'delete the drill\'s own seeded rows at a recorded instant (no application table is touched)',
  },
  'redis-master-loss': {
    id: 'redis-master-loss', title: 'Redis Cluster master lost (SIGKILL, or SIGSTOP: a hung node)', kind: 'availability',
    source: 'architecture 7.2 "Redis Master": failover 10-15 s, data loss AOF 1 s', targets: {rpoSeconds: 1, rtoSeconds: 15}, tested: 'weekly',
    needs: ['redis'], probes: ['redis'], recovery: 'automatic', fault: 'SIGKILL (or SIGSTOP) one master',
  },
  'redis-cache-loss': {
    id: 'redis-cache-loss', title: 'Redis cache lost (every node down at once; restart from RDB+AOF)', kind: 'availability',
    source: 'architecture 8.2 "Redis cache loss": RPO 1 s, RTO 5 min, restore from RDB+AOF', targets: {rpoSeconds: 1, rtoSeconds: 300}, tested: 'weekly',
    needs: ['redis'], probes: ['redis'], recovery: 'vaultctl', fault: 'SIGKILL every Redis node, then start them again: each reloads its AOF (appendfsync everysec)',
  },
  's3-prefix-deletion': {
    id: 's3-prefix-deletion', title: 'S3 objects deleted (a whole prefix)', kind: 'data',
    source: 'architecture 8.2 "S3 bucket deletion": RPO 0 s, RTO 5 min, restore from version', targets: {rpoSeconds: 0, rtoSeconds: 300}, tested: 'monthly',
    needs: ['s3'], probes: ['s3'], recovery: 'vaultctl', fault: 'delete every object under the drill\'s prefix of the data bucket (delete markers)',
  },
  'namespace-deletion': {
    id: 'namespace-deletion', title: 'Kubernetes namespace deleted', kind: 'data',
    source: 'architecture 8.2 "Namespace deletion": RPO 24 h, RTO 2 h, Velero restore', targets: {rpoSeconds: 86_400, rtoSeconds: 7200}, tested: 'monthly',
    needs: ['kubernetes', 'velero'], probes: [], recovery: 'vaultctl', fault: 'delete a drill namespace (its ConfigMaps seeded and backed up by Velero first)',
  },
  'backup-validation': {
    id: 'backup-validation', title: 'Daily restore test of the newest base backup and WAL', kind: 'data',
    source: 'architecture 8.1 PostgreSQL: daily restore test; RPO 1 min (WAL shipping lag), RTO 15 min (restore + recovery)', targets: {rpoSeconds: 60, rtoSeconds: 900}, tested: 'daily',
    needs: ['postgres', 's3'], probes: [], recovery: 'vaultctl', fault: 'none: `vaultctl backup validate` restores the newest backup to its latest WAL, timed',
  },
}

export const isScenario = (s: string): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s)

/** The scenarios a schedule runs: the matrix's cadence and everything more frequent. */
export function scenariosFor(cadence: Cadence): ScenarioId[] {
  const rank: Record<Cadence, number> = {daily: 0, weekly: 1, monthly: 2}
  return SCENARIOS.filter((s) => rank[SCENARIO_INFO[s].tested] <= rank[cadence])
}

/** The environment's targets: `drills.targets` over the architecture's. */
export function targetsOf(env: {drills?: {targets?: Partial<Record<ScenarioId, {rpo?: number; rto?: number}>>}}): Record<ScenarioId, {rpoSeconds: number; rtoSeconds: number}> {
  return Object.fromEntries(SCENARIOS.map((id) => {
    const o = env.drills?.targets?.[id]
    const d = SCENARIO_INFO[id].targets
    return [id, {rpoSeconds: o?.rpo ?? d.rpoSeconds, rtoSeconds: o?.rto ?? d.rtoSeconds}]
  })) as Record<ScenarioId, {rpoSeconds: number; rtoSeconds: number}>
}
