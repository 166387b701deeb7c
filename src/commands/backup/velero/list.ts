import {BaseCommand} from '../../../base-command.js'
import {requireCluster} from '../../../lib/kube/cluster.js'
import {table} from '../../../lib/table.js'
import {listBackups, veleroKube} from '../../../lib/velero/observe.js'
import {unusable, veleroNamespaceOf, type BackupSummary} from '../../../lib/velero/restore.js'

export type BackupVeleroListResult = {backups: (BackupSummary & {usable: boolean; why?: string})[]}

export default class BackupVeleroList extends BaseCommand<typeof BackupVeleroList> {
  static override summary = 'Velero backups, newest first: phase, namespaces, items, errors and warnings, expiry, and whether a restore can use each'

  async run(): Promise<BackupVeleroListResult> {
    const r = this.environment()
    const kc = await veleroKube(requireCluster(r.env, r.name))
    const now = new Date()
    const backups = (await listBackups(kc, veleroNamespaceOf(r.env))).sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
      .map((b) => { const why = unusable(b, now); return {...b, usable: !why, ...(why ? {why} : {})} })
    this.out(backups.length ? table(['NAME', 'PHASE', 'COMPLETED', 'EXPIRES', 'NAMESPACES', 'ITEMS', 'ERRORS', 'WARNINGS', 'USABLE'], backups.map((b) => [b.name, b.phase, b.completedAt ?? '-', b.expiresAt ?? '-',
      b.includedNamespaces.length ? b.includedNamespaces.join(',') : `*${b.excludedNamespaces.length ? ` -${b.excludedNamespaces.join(',')}` : ''}`, String(b.items ?? '-'), String(b.errors), String(b.warnings), b.usable ? 'yes' : `no: ${b.why}`])) : 'No Velero backups.')
    return {backups}
  }
}
