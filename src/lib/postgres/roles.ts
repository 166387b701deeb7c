// Patroni 3 says master/running, Patroni 4 primary/streaming: one vocabulary for the rest of vaultctl.
export type MemberRole = 'leader' | 'replica' | 'standby-leader' | 'unknown'

export function normalizeRole(role: string | undefined): MemberRole {
  switch (role) {
    case 'leader': case 'master': case 'primary': return 'leader'
    case 'replica': case 'sync_standby': case 'quorum_standby': case 'standby': return 'replica'
    case 'standby_leader': return 'standby-leader'
    default: return 'unknown'
  }
}

/** running (3.x) and streaming (4.x) are both healthy for a replica. */
export function isHealthyState(state: string | undefined): boolean {
  return state === 'running' || state === 'streaming'
}

export function lagBytes(lag: number | string | undefined): number | undefined {
  if (typeof lag === 'number') return lag
  if (lag === undefined || lag === 'unknown') return undefined
  const n = Number(lag)
  return Number.isFinite(n) ? n : undefined
}
