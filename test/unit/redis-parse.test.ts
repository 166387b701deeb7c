import {describe, expect, it} from 'vitest'
import {parseClusterInfo, parseClusterNodes} from '../../src/lib/redis/cluster.js'

// Captured from the lab's Redis 7.0 cluster, one replica killed.
const NODES = `f50722bb0a21c5b30a25855b6aa61be91387d8e8 127.0.0.1:12702@22702 master - 0 1795731247053 0 connected 5461-10922
cc5db8a8d90417f720f33c9190886f97bcf73f99 127.0.0.1:12701@22701 myself,master - 0 1795731246000 1 connected 0-5460
6105f4df73f7727e8ff8796db0faf936ec5bc802 127.0.0.1:12706@22706 slave,fail 3f3009fe3ba6af3dd74cb584bf002d14ecf921f7 1795731240000 1795731239000 4 disconnected
3f3009fe3ba6af3dd74cb584bf002d14ecf921f7 127.0.0.1:12703@22703 master - 0 1795731247053 4 connected 10923-16383 [10923->-abc]
`

describe('CLUSTER NODES / INFO parsing', () => {
  it('parses roles, masters, link state, failure flags and slot counts', () => {
    const nodes = parseClusterNodes(NODES)
    expect(nodes).toHaveLength(4)
    const me = nodes.find((n) => n.myself)!
    expect(me).toMatchObject({address: '127.0.0.1:12701', role: 'master', slotCount: 5461, failing: false})
    const dead = nodes.find((n) => n.address === '127.0.0.1:12706')!
    expect(dead).toMatchObject({role: 'replica', masterId: '3f3009fe3ba6af3dd74cb584bf002d14ecf921f7', linkState: 'disconnected', failing: true})
    expect(nodes.find((n) => n.address === '127.0.0.1:12703')!.slotCount).toBe(5461)
    expect(nodes.reduce((s, n) => s + n.slotCount, 0)).toBe(16_384)
  })
  it('parses CLUSTER INFO', () => {
    expect(parseClusterInfo('cluster_state:ok\r\ncluster_slots_ok:16384\r\n')).toEqual({cluster_state: 'ok', cluster_slots_ok: '16384'})
  })
})
