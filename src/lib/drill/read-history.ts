// Reads the drills' records of one environment (files that are not valid records are skipped and named).
import {join} from 'node:path'
import {listDir, readJsonFile} from '../clients/files.js'
import {DrillRecordSchema, type DrillRecord} from './history.js'

export function readDrillHistory(dir: string, env: string): DrillRecord[] {
  const out: DrillRecord[] = []
  const base = join(dir, env)
  for (const scenario of listDir(base)) {
    for (const f of listDir(join(base, scenario), /\.json$/)) {
      try {
        const r = readJsonFile(join(base, scenario, f), DrillRecordSchema)
        if (r) out.push(r as DrillRecord)
      } catch (error) {
        process.stderr.write(`Warning: ${join(base, scenario, f)} is not a drill record (${(error as Error).message}); skipped\n`)
      }
    }
  }
  return out
}
