import {describe, expect, it} from 'vitest'
import {VAULT_WORKLOADS, generateOpenMetrics} from '../../src/lib/lab/metrics.js'

const end = new Date('2026-11-20T12:00:00Z')

describe('lab metrics generator', () => {
  it('is deterministic for the same end and seed, and differs with the seed', () => {
    const a = [...generateOpenMetrics({end, days: 1, stepSeconds: 3600})].join('\n')
    const b = [...generateOpenMetrics({end, days: 1, stepSeconds: 3600})].join('\n')
    const c = [...generateOpenMetrics({end, days: 1, stepSeconds: 3600, seed: 7})].join('\n')
    expect(a).toBe(b)
    expect(a).not.toBe(c)
    expect(a.endsWith('# EOF')).toBe(true)
  })

  it('writes monotonic CPU counters and memory within limits for every pod', () => {
    const lines = [...generateOpenMetrics({end, days: 1, stepSeconds: 600})]
    const pods = VAULT_WORKLOADS.reduce((n, w) => n + w.replicas, 0)
    const series = new Map<string, number[]>()
    for (const l of lines) {
      if (l.startsWith('#')) continue
      const m = /^(\w+)(\{[^}]*\}) (\S+) (\d+)$/.exec(l)
      expect(m, l).not.toBeNull()
      const key = m![1]! + m![2]!
      if (!series.has(key)) series.set(key, [])
      series.get(key)!.push(Number(m![3]))
    }
    const cpu = [...series].filter(([k]) => k.startsWith('container_cpu_usage_seconds_total'))
    expect(cpu).toHaveLength(pods)
    for (const [, v] of cpu) for (let i = 1; i < v.length; i++) expect(v[i]).toBeGreaterThanOrEqual(v[i - 1]!)
    const api = VAULT_WORKLOADS.find((w) => w.name === 'vault-api')!
    const mem = series.get('container_memory_working_set_bytes{namespace="llm-vault-prod",pod="vault-api-0",container="api"}')!
    expect(mem).toHaveLength(144)
    for (const v of mem) expect(v).toBeLessThanOrEqual(api.memLimit)
    expect(series.get('kube_pod_container_resource_requests{namespace="llm-vault-data",pod="postgres-0",container="postgres",resource="cpu",unit="core"}')![0]).toBe(2)
  })
})
