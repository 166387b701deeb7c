#!/usr/bin/env node
// Entry point. Kept tiny: oclif reads oclif.manifest.json for help, and command modules import
// SDKs and drivers only lazily, so `vaultctl --help` loads none of them.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
