// The one way vaultctl quotes for a POSIX shell: every command line it builds (run by a shell,
// as PostgreSQL runs restore_command, or printed for an operator to type) quotes each word here.

/** Quote one word for a POSIX shell, only when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

export const shellLine = (argv: string[]) => argv.map(shellQuote).join(' ')
