// Reads what the backup location holds: manifests, WAL objects, timeline histories.
import {z} from 'zod'
import {getObjectBytes, listObjects, s3Client, type ListedObject, type S3Conn} from '../clients/s3.js'
import {BackupManifestSchema, type BackupManifest} from './base.js'
import {basePrefix, divergedPrefix, parseSegmentName, retentionKey, walPrefix, type BackupLocation} from './layout.js'
import {computeWindow, parseHistory, type History, type WalObject, type Window} from './window.js'

/** `backup prune`'s record: WAL before `walFrom` was removed by the policy. */
export type RetentionMarker = {walFrom: string; prunedAt: string; backupsKept: string[]}
export const RetentionMarkerSchema = z.object({walFrom: z.string().regex(/^[0-9A-F]{24}$/), prunedAt: z.string(), backupsKept: z.array(z.string())}) satisfies z.ZodType<RetentionMarker>

/**
 * `invalid`: backups whose manifest is not one vaultctl wrote (never used for a restore).
 * `objects`: every current object under base/ (with sizes); `diverged`: the wal-diverged/ copies.
 */
export type Catalog = {backups: BackupManifest[]; incomplete: string[]; invalid: {id: string; problem: string}[]; wal: WalObject[]; histories: History[]; window: Window
  objects: ListedObject[]; diverged: ListedObject[]; retention?: RetentionMarker}

export async function readCatalog(conn: S3Conn, loc: BackupLocation): Promise<Catalog> {
  const client = await s3Client(conn)
  try {
    const [baseObjs, walObjs, diverged, marker] = await Promise.all([listObjects(client, loc.bucket, basePrefix(loc)), listObjects(client, loc.bucket, walPrefix(loc)),
      listObjects(client, loc.bucket, divergedPrefix(loc)), getObjectBytes(client, loc.bucket, retentionKey(loc))])
    let retention: RetentionMarker | undefined
    try {
      retention = marker ? RetentionMarkerSchema.parse(JSON.parse(Buffer.from(marker.body).toString('utf8'))) : undefined
    } catch {
      retention = undefined // not ours: every missing segment is then reported as a gap, the safe reading
    }
    const ids = new Map<string, Set<string>>()
    for (const o of baseObjs) {
      const [id, file] = o.key.slice(basePrefix(loc).length).split('/')
      if (!id || !file) continue
      if (!ids.has(id)) ids.set(id, new Set())
      ids.get(id)!.add(file)
    }
    const backups: BackupManifest[] = []
    const incomplete: string[] = []
    const invalid: {id: string; problem: string}[] = []
    await Promise.all([...ids].map(async ([id, files]) => {
      if (!files.has('manifest.json')) return void incomplete.push(id)
      const m = await getObjectBytes(client, loc.bucket, `${basePrefix(loc)}${id}/manifest.json`)
      if (!m) return void incomplete.push(id)
      let raw: unknown
      try {
        raw = JSON.parse(Buffer.from(m.body).toString('utf8'))
      } catch (error) {
        return void invalid.push({id, problem: `manifest.json is not JSON (${(error as Error).message})`})
      }
      const parsed = BackupManifestSchema.safeParse(raw)
      if (!parsed.success) return void invalid.push({id, problem: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`).join('; ')})
      if (parsed.data.id !== id) return void invalid.push({id, problem: `its manifest names backup ${parsed.data.id}`})
      backups.push(parsed.data)
    }))
    backups.sort((a, b) => a.id.localeCompare(b.id))
    const wal: WalObject[] = walObjs.map((o) => ({name: o.key.slice(walPrefix(loc).length), lastModified: o.lastModified ?? new Date(0), size: o.size}))
    const histories = await Promise.all(wal.filter((w) => /^[0-9A-F]{8}\.history$/.test(w.name)).map(async (w) => {
      const body = await getObjectBytes(client, loc.bucket, `${walPrefix(loc)}${w.name}`)
      return parseHistory(parseInt(w.name.slice(0, 8), 16), Buffer.from(body?.body ?? new Uint8Array()).toString('utf8'))
    }))
    const walFrom = retention ? parseSegmentName(retention.walFrom)?.segno : undefined
    return {backups, incomplete: incomplete.sort(), invalid: invalid.sort((a, b) => a.id.localeCompare(b.id)), wal, histories, window: computeWindow(backups, wal, histories, walFrom),
      objects: baseObjs, diverged, ...(retention ? {retention} : {})}
  } finally {
    client.destroy()
  }
}
