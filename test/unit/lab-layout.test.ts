import {describe, expect, it} from 'vitest'
import {listeningPorts, newLayout, parsePortOverrides, portsFrom, validatePorts} from '../../src/lib/lab/layout.js'

describe('lab ports', () => {
  it('derives every port from the base, with overrides', () => {
    const p = portsFrom(12000, parsePortOverrides(['redis-1=7001']))
    expect(p).toMatchObject({etcd: 12379, 'patroni-1': 12008, 'postgres-3': 12434, 'redis-1': 7001, 'redis-2': 12702, s3: 12900, prometheus: 12090})
  })

  it('counts the Redis cluster bus ports, and only for the components the lab runs', () => {
    const p = portsFrom(12000)
    expect(listeningPorts(p, ['redis']).map(([n]) => n)).toContain('redis-1 cluster bus')
    expect(listeningPorts(p, ['redis']).find(([n]) => n === 'redis-1 cluster bus')?.[1]).toBe(22701)
    expect(listeningPorts(p, ['s3']).map(([, v]) => v)).toEqual([12900, 12901])
  })

  it('refuses ports in the ephemeral range, clashes and bad names', () => {
    expect(() => validatePorts(portsFrom(25000), ['redis'], [32768, 60999])).toThrow(/redis-1 cluster bus would use port 35701, inside the kernel's ephemeral range/)
    expect(() => validatePorts(portsFrom(25000), ['postgres'], [32768, 60999])).not.toThrow()
    expect(() => validatePorts(portsFrom(12000, {s3: 12090}), ['s3', 'prometheus'], undefined)).toThrow(/ports for s3 and prometheus are both 12090/)
    expect(() => parsePortOverrides(['redis-9=1'])).toThrow(/NAME=PORT/)
    expect(() => newLayout('/tmp/x', {basePort: 60000})).toThrow(/1024-65535|ephemeral/)
  })
})
