// Parsers for CLUSTER INFO and CLUSTER NODES (pure; unit-tested on captured output).

export type ClusterNode = {
  id: string
  address: string // host:port
  flags: string[]
  role: 'master' | 'replica'
  myself: boolean
  masterId?: string
  pingSent: number
  pongRecv: number
  configEpoch: number
  linkState: 'connected' | 'disconnected'
  slots: string[]
  /** Number of hash slots served (ranges expanded; migrating/importing markers ignored). */
  slotCount: number
  failing: boolean
}

export function parseClusterInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim()
  }
  return out
}

export function parseClusterNodes(text: string): ClusterNode[] {
  return text.split(/\r?\n/).filter((l) => l.trim()).map((line) => {
    const f = line.trim().split(' ')
    const flags = (f[2] ?? '').split(',')
    const slots = f.slice(8)
    let slotCount = 0
    for (const s of slots) {
      if (s.startsWith('[')) continue
      const [a, b] = s.split('-').map(Number)
      slotCount += b === undefined ? 1 : b - a! + 1
    }
    return {
      id: f[0]!,
      address: (f[1] ?? '').split('@')[0]!,
      flags,
      role: flags.includes('master') ? 'master' : 'replica',
      myself: flags.includes('myself'),
      masterId: f[3] && f[3] !== '-' ? f[3] : undefined,
      pingSent: Number(f[4]),
      pongRecv: Number(f[5]),
      configEpoch: Number(f[6]),
      linkState: f[7] === 'connected' ? 'connected' : 'disconnected',
      slots,
      slotCount,
      failing: flags.includes('fail') || flags.includes('fail?'),
    }
  })
}

/** Does a CLUSTER NODES slot list ("0-5460", "5461") include `slot`? */
export function ownsSlot(ranges: string[], slot: number): boolean {
  return ranges.some((r) => {
    const [a, b] = r.split('-').map(Number)
    return Number.isInteger(a) && slot >= a! && slot <= (b ?? a)!
  })
}
