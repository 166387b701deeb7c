import {resolve} from 'node:path'
import {BaseCommand} from '../../base-command.js'
import {labDirFlag} from '../../lib/lab/flags.js'
import {readLayout} from '../../lib/lab/layout.js'
import {useLabAccess} from '../../lib/lab/services.js'
import {labStatus, type LabServiceStatus} from '../../lib/lab/plan.js'
import {endpointOf} from '../../lib/lab/summary.js'
import {table} from '../../lib/table.js'

export type LabStatusResult = {dir: string; exists: boolean; allReady: boolean; services: (LabServiceStatus & {endpoint: string})[]}

export default class LabStatus extends BaseCommand<typeof LabStatus> {
  static override summary = 'Each lab service: running (pid), ready (answers its own protocol), endpoint'
  static override description = 'Exit 0 when every service is running and ready, 1 otherwise.'
  static override flags = {dir: labDirFlag}

  async run(): Promise<LabStatusResult> {
    const dir = resolve(this.flags.dir)
    const layout = readLayout(dir)
    if (!layout) {
      this.out(`No lab in ${dir}. Start one with \`vaultctl lab up\`.`)
      process.exitCode = 1
      return {dir, exists: false, allReady: false, services: []}
    }
    useLabAccess(layout)
    const services = (await labStatus(layout)).map((s) => ({...s, endpoint: endpointOf(layout, s.service, s.port)}))
    const allReady = services.every((s) => s.running && s.ready)
    this.out(table(['SERVICE', 'PID', 'ENDPOINT', 'READY', 'DETAIL'],
      services.map((s) => [s.service, s.pid ? String(s.pid) : '-', s.endpoint, s.ready ? 'yes' : 'NO', s.detail])))
    if (!allReady) process.exitCode = 1
    return {dir, exists: true, allReady, services}
  }
}
