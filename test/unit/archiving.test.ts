// Rating WAL archiving on the leader from pg_stat_archiver: a jammed archive must never look OK.
import {describe, expect, it} from 'vitest'
import {rateArchiving, type ArchiverStats} from '../../src/lib/status/archiving.js'

const base: ArchiverStats = {
  archiveMode: 'on', currentWal: '00000004000000000000002C', archivedCount: 40, lastArchivedWal: '00000004000000000000002B',
  lastArchivedAt: '2026-11-27T05:00:00.000Z', failedCount: 0, lastFailedWal: null, lastFailedAt: null, now: '2026-11-27T05:00:30.000Z',
}
const loc = {bucket: 'b', prefix: 'postgres/', cluster: 'c'}

describe('archiving rating', () => {
  it('is ok when only the open segment is unarchived, however quiet the server', () => {
    expect(rateArchiving(base, {diverged: []}, 60).rating).toBe('ok')
    expect(rateArchiving({...base, now: '2026-11-28T05:00:00.000Z'}, {diverged: []}, 60).rating).toBe('ok')
  })
  it('is crit when the last attempt failed, naming the segment and, when it is archived already, why', () => {
    const jammed = {...base, currentWal: '0000000A0000000000000033', lastArchivedWal: '00000009000000000000002A', failedCount: 23,
      lastFailedWal: '0000000A000000000000002B', lastFailedAt: '2026-11-27T05:08:00.000Z'}
    const r = rateArchiving(jammed, {failedAlreadyArchived: true, diverged: []}, 60, loc)
    expect(r.rating).toBe('crit')
    expect(r.state).toBe('failing')
    expect(r.detail).toContain('0000000A000000000000002B')
    expect(r.detail).toMatch(/already archived with different content/)
    expect(r.detail).toMatch(/23 failure/)
    expect(r.detail).toMatch(/9 segment\(s\) not archived/)
    expect(rateArchiving(jammed, {failedAlreadyArchived: false, diverged: []}, 60).detail).toMatch(/archive_command fails/)
  })
  it('is ok again once a success is newer than the last failure, and says there were failures', () => {
    const r = rateArchiving({...base, failedCount: 3, lastFailedWal: '00000004000000000000002A', lastFailedAt: '2026-11-27T04:59:00.000Z'}, {diverged: []}, 60)
    expect(r.rating).toBe('ok')
    expect(r.detail).toMatch(/3 earlier failure/)
  })
  it('is crit when finished segments wait longer than the RPO', () => {
    const r = rateArchiving({...base, currentWal: '000000040000000000000030', now: '2026-11-27T05:05:00.000Z'}, undefined, 60)
    expect(r).toMatchObject({rating: 'crit', state: 'behind'})
    expect(r.detail).toMatch(/4 finished segment/)
  })
  it('warns when archiving is off, and reports diverged copies kept beside the archive', () => {
    expect(rateArchiving({...base, archiveMode: 'off'}, undefined, 60).rating).toBe('warn')
    const r = rateArchiving(base, {diverged: [{name: '000000020000000000000008.ab94e74c6ad86a57', at: '2026-11-27T06:04:14.000Z'}]}, 60, loc)
    expect(r.rating).toBe('ok')
    expect(r.detail).toMatch(/1 diverged copy .*s3:\/\/b\/postgres\/c\/wal-diverged\/.*000000020000000000000008/)
  })
  it('reads a .partial, .backup or .history as the last archived file', () => {
    expect(rateArchiving({...base, lastArchivedWal: '00000004000000000000002B.partial'}, undefined, 60).facts.segmentsBehind).toBe(1)
    expect(rateArchiving({...base, lastArchivedWal: '00000005.history'}, undefined, 60).rating).toBe('ok')
  })
})
