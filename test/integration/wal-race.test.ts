// Two or more `wal push` of the same segment name at once (a split brain, two clusters in one
// location): the HEAD-then-PUT of old let every one of them "archive" it, each overwriting the last.
// With a conditional write (If-None-Match: *) exactly one wins; the others compare and refuse.
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, inject, it} from 'vitest'
import {pushWal} from '../../src/lib/backup/wal.js'
import {walKey} from '../../src/lib/backup/layout.js'
import {decodeWal} from '../../src/lib/backup/wal-codec.js'
import {getObjectBytes, s3Client} from '../../src/lib/clients/s3.js'
import {labPorts, labSecret} from '../helpers/lab.js'

describe.each([['MinIO', () => inject('labDir')], ['moto', () => inject('motoLabDir')]] as const)('wal push races (%s)', (server, labDir) => {
  it('of 8 concurrent pushes of different content under one name, exactly one archives it, and the archived copy is that one', async (ctx) => {
    const dir = labDir()
    if (!dir) ctx.skip() // VAULTCTL_TEST_SKIP_MOTO=1
    const conn = {endpoint: `http://127.0.0.1:${labPorts(dir!).s3}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: labSecret('s3-access-key', dir!), secretAccessKey: labSecret('s3-secret-key', dir!)}
    const loc = {bucket: 'vault-backups', prefix: `race-${server.toLowerCase()}-${Date.now().toString(36)}/`, cluster: 'race'}
    const work = mkdtempSync(join(tmpdir(), 'vaultctl-race-'))
    const name = '000000010000000000000007'
    const paths = Array.from({length: 8}, (_, i) => {
      const d = join(work, String(i))
      const p = join(d, name)
      mkdirSync(d)
      writeFileSync(p, Buffer.alloc(64 * 1024, i + 1))
      return p
    })
    const results = await Promise.allSettled(paths.map((p) => pushWal(conn, loc, p)))
    const archived = results.flatMap((r, i) => (r.status === 'fulfilled' && r.value.outcome === 'archived' ? [i] : []))
    expect(archived, JSON.stringify(results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : (r.reason as Error).message.slice(0, 80))))).toHaveLength(1)
    // the others were told: the same name with other content on the restorable timeline is refused
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(7).fill('WAL_CONFLICT'))
    const client = await s3Client(conn)
    const obj = await getObjectBytes(client, loc.bucket, walKey(loc, name))
    client.destroy()
    // stored compressed: the segment itself is what was archived
    expect(decodeWal(name, obj!.body, obj!.metadata)[0]).toBe(archived[0]! + 1)
  })
})
