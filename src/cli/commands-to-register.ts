/**
 * The top-level commands gwctl has to register to run `argv`: the one that runs, none for
 * `--version`, or undefined when it needs them all. Registering fewer changes nothing a user sees
 * as long as nothing printed lists the others: commander lists them in the root's help (`gwctl`,
 * `gwctl --help`, `gwctl help ...`) and suggests them for an unknown command. So only a line that
 * starts with root options gwctl knows that take no part in that (--socket PATH, --json,
 * --no-color) and goes on with one of `names`, or with --version (which commander prints and exits
 * on as soon as it reads it), registers fewer, read exactly as commander will; anything else (no
 * command, a typo, `help`, `--help` before the command, an option commander would refuse, `--`)
 * registers every command, as before.
 */
export function commandsToRegister(argv: readonly string[], names: readonly string[]): readonly string[] | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--socket') {
      i++; // its value, whatever it looks like (commander takes it as such too)
      continue;
    }
    if (arg.startsWith('--socket=') || arg === '--json' || arg === '--no-color') continue;
    if (arg === '--version' || arg === '-V') return [];
    return names.includes(arg) ? [arg] : undefined;
  }
  return undefined;
}
