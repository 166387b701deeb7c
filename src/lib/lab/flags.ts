// Flags shared by the lab commands.
import {Flags} from '@oclif/core'
import {defaultLabDir} from '../paths.js'

export const labDirFlag = Flags.string({description: 'lab state directory (default: VAULTCTL_LAB_DIR or ~/.local/share/vaultctl/lab)', default: async () => defaultLabDir()})
