import {Flags} from '@oclif/core'
import chalk from 'chalk'
import {BaseCommand} from '../base-command.js'
import {COMPONENTS, collectStatus, formatStatus, type Component, type StatusResult} from '../lib/status/collect.js'
import type {Rating} from '../lib/status/types.js'

/** What --json prints. */
export type StatusCommandResult = StatusResult

const paint: Record<Rating, (s: string) => string> = {ok: (s) => chalk.green(s), warn: (s) => chalk.yellow(s), crit: (s) => chalk.red.bold(s)}

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'One view of an environment: Patroni members, Redis Cluster, S3 versioning, Prometheus, Kubernetes (nodes by pool and zone, workloads, PDBs, Velero backups)'
  static override description = 'Every row is rated ok / warn / crit against the environment\'s SLO thresholds. Exit 0 when everything is ok, 1 otherwise.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --component postgres --json', '<%= config.bin %> status --env prod']
  static override flags = {
    component: Flags.string({char: 'c', description: 'only these components', options: [...COMPONENTS], multiple: true}),
  }

  async run(): Promise<StatusCommandResult> {
    const {name, env} = this.environment()
    const res = await collectStatus(name, env, this.flags.component as Component[] | undefined)
    this.out(formatStatus(res, (r, s) => paint[r](s)))
    if (res.rating !== 'ok') process.exitCode = 1
    return res
  }
}
