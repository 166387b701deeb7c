// Records every module URL the process resolves into $TRACE_IMPORTS_FILE (for the --help laziness test).
import {appendFileSync} from 'node:fs'
import {registerHooks} from 'node:module'

const out = process.env.TRACE_IMPORTS_FILE
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context)
    if (out) appendFileSync(out, r.url + '\n')
    return r
  },
})
