import {Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {BaseCommand, type PlanRunResult} from '../../base-command.js'
import {getCluster} from '../../lib/clients/patroni.js'
import {normalizeRole} from '../../lib/postgres/roles.js'
import {labDirFlag} from '../../lib/lab/flags.js'
import {newLayout, readLayout} from '../../lib/lab/layout.js'
import {useLabAccess} from '../../lib/lab/services.js'
import {planLabDown} from '../../lib/lab/plan.js'
import {patroniUrl} from '../../lib/lab/services.js'
import {PG_MEMBERS} from '../../lib/lab/layout.js'

/** What --json prints. */
export type LabDownResult = PlanRunResult

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Stop exactly the lab processes that `lab up` started (by pid file); --purge also deletes the lab data'
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --purge --yes']
  static override flags = {
    dir: labDirFlag,
    purge: Flags.boolean({description: 'also delete all lab data (destructive: asks, or needs --yes)'}),
  }

  async run(): Promise<LabDownResult> {
    const dir = resolve(this.flags.dir)
    const layout = readLayout(dir) ?? newLayout(dir, {})
    useLabAccess(layout)
    let leader: string | undefined
    for (const i of PG_MEMBERS) {
      try {
        leader = (await getCluster(patroniUrl(layout, i), 1000)).members.find((m) => normalizeRole(m.role) === 'leader')?.name
        break
      } catch {
        // member down: try the next
      }
    }
    const result = await this.runPlan(planLabDown(layout, {purge: this.flags.purge, leader}))
    if (!result.dryRun) this.out(`Lab in ${dir}: ${result.plan.summary}.`)
    return result
  }
}
