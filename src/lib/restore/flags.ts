// Flags of `restore pitr`, shared with its spelling `restore --pitr`.
import {Flags} from '@oclif/core'
import {durationFlag, portFlag} from '../flags.js'

export const pitrFlags = {
  'target-time': Flags.string({description: 'recover to this instant: ISO 8601 with its UTC offset (2026-11-27T14:30:00Z)', exclusive: ['target-lsn', 'latest']}),
  'target-lsn': Flags.string({description: 'recover to this WAL position (e.g. 0/3000060)', exclusive: ['target-time', 'latest']}),
  latest: Flags.boolean({description: 'recover to the end of the archived WAL', exclusive: ['target-time', 'target-lsn']}),
  into: Flags.string({description: 'side: a new instance beside the cluster (default); cluster: replace the Patroni cluster\'s data (old data kept)', options: ['side', 'cluster'], default: 'side'}),
  'data-dir': Flags.string({description: 'the NEW data directory (default: under the restores directory, named after cluster and target)'}),
  port: portFlag({description: 'port of the restored instance (default: the first free from 15432)'}),
  'verify-sql': Flags.string({description: 'SQL run on the restored instance; a false/0/null first value fails the restore'}),
  timeout: durationFlag({description: 'how long recovery may take', default: '15m'}),
  'new-id': Flags.string({description: 'RDS/Aurora: identifier of the new cluster or instance (default: SOURCE-pitr-YYYYMMDDHHMM)'}),
}
