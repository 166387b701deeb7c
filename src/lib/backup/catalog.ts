// Reads what the backup location holds: manifests, WAL objects, timeline histories.
import {getObjectBytes, listObjects, s3Client, type S3Conn} from '../clients/s3.js'
import type {BackupManifest} from './base.js'
import {basePrefix, walPrefix, type BackupLocation} from './layout.js'
import {computeWindow, parseHistory, type History, type WalObject, type Window} from './window.js'

export type Catalog = {backups: BackupManifest[]; incomplete: string[]; wal: WalObject[]; histories: History[]; window: Window}

export async function readCatalog(conn: S3Conn, loc: BackupLocation): Promise<Catalog> {
  const client = await s3Client(conn)
  try {
    const [baseObjs, walObjs] = await Promise.all([listObjects(client, loc.bucket, basePrefix(loc)), listObjects(client, loc.bucket, walPrefix(loc))])
    const ids = new Map<string, Set<string>>()
    for (const o of baseObjs) {
      const [id, file] = o.key.slice(basePrefix(loc).length).split('/')
      if (!id || !file) continue
      if (!ids.has(id)) ids.set(id, new Set())
      ids.get(id)!.add(file)
    }
    const backups: BackupManifest[] = []
    const incomplete: string[] = []
    await Promise.all([...ids].map(async ([id, files]) => {
      if (!files.has('manifest.json')) return void incomplete.push(id)
      const m = await getObjectBytes(client, loc.bucket, `${basePrefix(loc)}${id}/manifest.json`)
      if (m) backups.push(JSON.parse(Buffer.from(m.body).toString('utf8')) as BackupManifest)
    }))
    backups.sort((a, b) => a.id.localeCompare(b.id))
    const wal: WalObject[] = walObjs.map((o) => ({name: o.key.slice(walPrefix(loc).length), lastModified: o.lastModified ?? new Date(0)}))
    const histories = await Promise.all(wal.filter((w) => /^[0-9A-F]{8}\.history$/.test(w.name)).map(async (w) => {
      const body = await getObjectBytes(client, loc.bucket, `${walPrefix(loc)}${w.name}`)
      return parseHistory(parseInt(w.name.slice(0, 8), 16), Buffer.from(body?.body ?? new Uint8Array()).toString('utf8'))
    }))
    return {backups, incomplete: incomplete.sort(), wal, histories, window: computeWindow(backups, wal, histories)}
  } finally {
    client.destroy()
  }
}
