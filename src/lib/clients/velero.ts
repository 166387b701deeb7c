// Velero through the Kubernetes API (its velero.io/v1 custom objects), never the velero CLI: list,
// read and create Backups and Restores, and read what Velero keeps in its storage location
// (backup tarball, resource list, restore results) through DownloadRequests, exactly as the velero
// CLI does: Velero signs a URL to the object in its bucket and vaultctl fetches it.
import {randomBytes} from 'node:crypto'
import {gunzipSync, createGunzip} from 'node:zlib'
import {Readable} from 'node:stream'
import type {KubeConfig} from '@kubernetes/client-node'
import {failure, timedOut} from '../errors.js'

const GROUP = 'velero.io'
const VERSION = 'v1'
export type VeleroPlural = 'backups' | 'restores' | 'backupstoragelocations' | 'schedules' | 'downloadrequests'
export type VeleroItem = {metadata?: {name?: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string}; spec?: Record<string, unknown>; status?: Record<string, unknown>}

async function custom(kc: KubeConfig) {
  const k8s = await import('@kubernetes/client-node')
  return kc.makeApiClient(k8s.CustomObjectsApi)
}

const is404 = (e: unknown) => (e as {code?: number}).code === 404

export async function listVelero(kc: KubeConfig, namespace: string, plural: VeleroPlural): Promise<VeleroItem[]> {
  const r = await (await custom(kc)).listNamespacedCustomObject({group: GROUP, version: VERSION, namespace, plural}) as {items?: VeleroItem[]}
  return r.items ?? []
}

export async function getVelero(kc: KubeConfig, namespace: string, plural: VeleroPlural, name: string): Promise<VeleroItem | undefined> {
  try {
    return await (await custom(kc)).getNamespacedCustomObject({group: GROUP, version: VERSION, namespace, plural, name}) as VeleroItem
  } catch (error) {
    if (is404(error)) return undefined
    throw error
  }
}

/** Create; when an object of that name exists already, return it instead (a re-run of the same plan). */
export async function createVelero(kc: KubeConfig, plural: VeleroPlural, body: {metadata: {name: string; namespace: string}}): Promise<{item: VeleroItem; created: boolean}> {
  try {
    return {item: await (await custom(kc)).createNamespacedCustomObject({group: GROUP, version: VERSION, namespace: body.metadata.namespace, plural, body}) as VeleroItem, created: true}
  } catch (error) {
    if ((error as {code?: number}).code !== 409) throw error
    const item = await getVelero(kc, body.metadata.namespace, plural, body.metadata.name)
    if (!item) throw error
    return {item, created: false}
  }
}

export type DownloadTarget = 'BackupContents' | 'BackupResourceList' | 'BackupLog' | 'RestoreResults' | 'RestoreLog' | 'BackupResults'

/**
 * A file of Velero's storage location, through a DownloadRequest (Velero's server answers with a
 * signed URL; the request is deleted afterwards). Returns the stored bytes (gzip for all targets).
 */
export async function veleroDownload(kc: KubeConfig, namespace: string, target: DownloadTarget, name: string, timeoutMs = 60_000): Promise<Buffer> {
  const api = await custom(kc)
  const reqName = `vaultctl-${name}-${randomBytes(4).toString('hex')}`.slice(0, 63)
  await api.createNamespacedCustomObject({group: GROUP, version: VERSION, namespace, plural: 'downloadrequests',
    body: {apiVersion: `${GROUP}/${VERSION}`, kind: 'DownloadRequest', metadata: {name: reqName, namespace}, spec: {target: {kind: target, name}}}})
  try {
    const t0 = Date.now()
    for (;;) {
      const r = await getVelero(kc, namespace, 'downloadrequests', reqName)
      const url = r?.status?.downloadURL as string | undefined
      if (r?.status?.phase === 'Processed' && url) {
        const res = await fetch(url)
        if (res.status === 404) throw failure('VELERO_FILE_MISSING', `Velero's storage location has no ${target} for ${name}`, [`velero -n ${namespace} backup-location get`])
        if (!res.ok) throw failure('VELERO_DOWNLOAD', `fetching ${target} of ${name} from Velero's storage location: HTTP ${res.status}`)
        return Buffer.from(await res.arrayBuffer())
      }
      if (Date.now() - t0 > timeoutMs) {
        throw timedOut('VELERO_DOWNLOAD', `Velero did not answer the download request for ${target} of ${name} within ${Math.round(timeoutMs / 1000)} s`,
          [`Is Velero's server running? kubectl -n ${namespace} get pods; its storage location: velero -n ${namespace} backup-location get`])
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  } finally {
    await api.deleteNamespacedCustomObject({group: GROUP, version: VERSION, namespace, plural: 'downloadrequests', name: reqName}).catch(() => undefined)
  }
}

export const gunzipJson = <T>(buf: Buffer): T => JSON.parse(gunzipSync(buf).toString('utf8')) as T

/** The files of a backup tarball (gzip'd tar): path -> parsed JSON for each .json file. */
export async function readBackupTarball(buf: Buffer): Promise<{path: string; json: unknown}[]> {
  const tar = await import('tar-stream')
  const extract = tar.extract()
  const out: {path: string; json: unknown}[] = []
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('end', () => {
        if (header.type === 'file' && header.name.endsWith('.json')) {
          try {
            out.push({path: header.name, json: JSON.parse(Buffer.concat(chunks).toString('utf8'))})
          } catch {
            // not JSON after all: not a resource
          }
        }
        next()
      })
      stream.resume()
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  Readable.from(buf).pipe(createGunzip()).on('error', (e) => extract.destroy(e)).pipe(extract)
  await done
  return out
}
