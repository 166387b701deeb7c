import {Args} from '@oclif/core'
import {BaseCommand} from '../../../base-command.js'
import {refusal} from '../../../lib/errors.js'
import {requireCluster} from '../../../lib/kube/cluster.js'
import {table} from '../../../lib/table.js'
import {listBackups, veleroKube} from '../../../lib/velero/observe.js'
import {unusable, veleroNamespaceOf, type BackupSummary} from '../../../lib/velero/restore.js'

export type BackupVeleroDescribeResult = {backup: BackupSummary & {usable: boolean; why?: string}; resources: Record<string, string[]>}

export default class BackupVeleroDescribe extends BaseCommand<typeof BackupVeleroDescribe> {
  static override summary = 'One Velero backup: its phase and scope, and the objects it holds per resource (its resource list, read from the storage location)'
  static override args = {name: Args.string({description: 'the backup', required: true})}

  async run(): Promise<BackupVeleroDescribeResult> {
    const {args} = await this.parse(BackupVeleroDescribe)
    const r = this.environment()
    const kc = await veleroKube(requireCluster(r.env, r.name))
    const ns = veleroNamespaceOf(r.env)
    const b = (await listBackups(kc, ns)).find((x) => x.name === args.name)
    if (!b) throw refusal('VELERO_NO_BACKUP', `there is no Velero backup named ${args.name}`, ['vaultctl backup velero list'])
    const why = unusable(b, new Date())
    let resources: Record<string, string[]> = {}
    if (b.phase === 'Completed' || b.phase === 'PartiallyFailed') {
      const {gunzipJson, veleroDownload} = await import('../../../lib/clients/velero.js')
      resources = gunzipJson<Record<string, string[]>>(await veleroDownload(kc, ns, 'BackupResourceList', b.name))
    }
    this.out([`Backup ${b.name}: ${b.phase}${why ? ` (not usable: ${why})` : ''}`, `Completed: ${b.completedAt ?? '-'}   Expires: ${b.expiresAt ?? '-'}   Items: ${b.items ?? '-'}   Errors: ${b.errors}   Warnings: ${b.warnings}`,
      `Namespaces: ${b.includedNamespaces.length ? b.includedNamespaces.join(', ') : '*'}${b.excludedNamespaces.length ? ` (excluded: ${b.excludedNamespaces.join(', ')})` : ''}`, '',
      table(['RESOURCE', 'COUNT', 'OBJECTS'], Object.entries(resources).sort().map(([k, v]) => [k, String(v.length), v.slice(0, 4).join(', ') + (v.length > 4 ? ', ...' : '')]))].join('\n'))
    return {backup: {...b, usable: !why, ...(why ? {why} : {})}, resources}
  }
}
