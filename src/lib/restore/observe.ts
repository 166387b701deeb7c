// Observe, then plan: what a PostgreSQL restore's plan is made from, read through the clients
// (the backup catalog in S3, the last archived commits, the data directories, a free port).
import {join} from 'node:path'
import {pathExists, readJsonFile} from '../clients/files.js'
import {portInUse} from '../clients/process.js'
import {refusal} from '../errors.js'
import {readCatalog, type Catalog} from '../backup/catalog.js'
import {windowWithCommits} from '../backup/last-commit.js'
import type {Window} from '../backup/window.js'
import {MARKER, MarkerFileSchema} from './settings.js'
import {chooseSide, type PitrOptions, type PitrSource, type SideState} from './pitr.js'

async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 100; p++) if (!(await portInUse(p))) return p
  throw refusal('NO_FREE_PORT', `no free port in ${from}-${from + 99} for the restored instance`, ['Pass --port N.'])
}

/** What is at a restore's data directory: nothing, our own restore (its marker's status), or someone else's directory. */
export function dataDirContent(path: string): SideState['dataDir']['content'] {
  const marker = readJsonFile(join(path, MARKER), MarkerFileSchema)
  if (marker) return marker.status === 'complete' ? 'complete' : 'restoring'
  return pathExists(path) ? 'foreign' : 'absent'
}

/**
 * The backups and the window a target is checked against. A time target needs a commit after it in
 * the archive: it is checked against the same window `backup list` prints (each window ends just
 * before its last archived commit).
 */
export async function observeWindow(src: PitrSource, opts: Pick<PitrOptions, 'target'>, catalog?: Catalog): Promise<{catalog: Catalog; window: Window}> {
  const c = catalog ?? await readCatalog(src.conn, src.location)
  return {catalog: c, window: opts.target.kind === 'time' ? await windowWithCommits(src.binDir, src.conn, src.location, c.window, c.histories) : c.window}
}

/** The state a side restore is planned from; `seen` when the caller has read the window already. */
export async function observeSide(src: PitrSource, opts: PitrOptions, seen?: {catalog: Catalog; window: Window}): Promise<SideState> {
  const {catalog: c, window} = seen ?? await observeWindow(src, opts)
  const choice = chooseSide(src, opts, window, c.backups)
  const path = choice?.dataDir ?? opts.dataDir ?? join(opts.restoresRoot, 'none')
  const content = dataDirContent(path)
  const port = opts.port ?? await freePort(15_432)
  return {backups: c.backups, walNames: c.wal.map((w) => w.name), histories: c.histories, window, dataDir: {path, content}, port}
}
