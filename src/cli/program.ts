import { Command, CommanderError, Option } from 'commander';

import { GwError, RemoteError } from '../core/errors.js';
import { PRODUCT_VERSION } from '../core/version.js';
import { registerCertCommands } from './commands/certs.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerConnectionCommands } from './commands/connections.js';
import { registerConfigCommands } from './commands/config.js';
import { registerEventsCommand } from './commands/events.js';
import { registerNetworkCommands } from './commands/network.js';
import { registerRedundancyCommands } from './commands/redundancy.js';
import { registerNodeCommands } from './commands/node.js';
import { registerStatusCommand } from './commands/status.js';
import { registerWaitCommand } from './commands/wait.js';
import { commandsToRegister } from './commands-to-register.js';
import { CommandContext, resolveSocketPath, type ContextFactory, type GlobalOptions } from './context.js';
import { EXIT, ExitError, type ExitCode } from './exit-codes.js';
import { FlagRefusal } from './flag-refusal.js';
import { loadColors, NO_COLORS, type Colors, type Io } from './io.js';

/**
 * `--json` anywhere before `--`: errors on stderr are then the API's error body, usage errors
 * included, so a script parses stderr one way whatever went wrong (DESIGN.md section 8).
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** A usage error as the error body printed under --json. */
function usageBody(detail: string): string {
  return `${JSON.stringify(new GwError('GW_ERR_CLI_USAGE', { detail }).toBody())}\n`;
}

/**
 * gwctl's top-level commands, in the order its help lists them, and what registers each. run()
 * registers only the one that runs when it can tell which (commandsToRegister): commander took
 * 7-15 ms a call to build all of them, ~1 ms for `status` alone (bench/NOTES.md, gwctl start-up).
 * `completion` walks the whole tree, so it always has every command.
 */
const COMMANDS: ReadonlyArray<readonly [string, (program: Command, context: ContextFactory) => void]> = [
  ['status', registerStatusCommand],
  ['node', registerNodeCommands],
  ['events', registerEventsCommand],
  ['wait', registerWaitCommand],
  ['redundancy', registerRedundancyCommands],
  ['network', registerNetworkCommands],
  ['certs', registerCertCommands],
  ['connections', registerConnectionCommands],
  ['config', registerConfigCommands],
  ['completion', registerCompletionCommand],
];
export const REGISTERED_ALONE = COMMANDS.map(([name]) => name).filter((name) => name !== 'completion');

/** `only`: the top-level commands to register (the one that runs, or none); every command without it. */
export function buildProgram(io: Io, contexts: CommandContext[], colors: Colors = NO_COLORS, jsonErrors = false, only?: readonly string[]): Command {
  const program = new Command('gwctl');
  program
    .description('Control a gwd gateway redundancy daemon over its local socket.')
    // Only -V is registered: commander matches a root option anywhere on the line, and
    // `config get --version backup` needs --version for itself. A leading --version still works
    // (see rootVersionFlag).
    .version(PRODUCT_VERSION, '-V', 'output the version number (also --version before any command)')
    .addOption(new Option('--socket <path>', 'gwd API socket (env GWD_SOCKET, else $GWD_DATA_DIR/gwd.sock, else ./gwd-data/gwd.sock)'))
    .option('--json', 'print exactly the API object as JSON')
    .option('--no-color', 'no colour in human output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      // Under --json, stderr carries only the error body: no help text after a usage error.
      writeErr: (s) => (jsonErrors ? true : io.stderr.write(s)),
      outputError: (s, write) => {
        if (jsonErrors) io.stderr.write(usageBody(s.replace(/^error: /, '').trim()));
        else write(s.startsWith('error:') ? `gwctl: ${s}` : s);
      },
    })
    .addHelpText('after', '\nExamples:\n  gwctl status\n  gwctl --json status\n  gwctl wait --ready --timeout 30\n');

  const context: ContextFactory = (command) => {
    const opts = command.optsWithGlobals<GlobalOptions>();
    const ctx = new CommandContext(
      io,
      resolveSocketPath(opts.socket, io.env, io.cwd),
      opts.json === true,
      opts.color === false ? NO_COLORS : colors,
    );
    contexts.push(ctx);
    return ctx;
  };

  for (const [name, register] of COMMANDS) if (only === undefined || only.includes(name)) register(program, context);

  // Every sub-command reports usage errors the same way as the root.
  for (const cmd of allCommands(program)) {
    foldChoices(cmd);
    if (cmd === program) continue;
    cmd.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

/**
 * Choices are case-insensitive (DESIGN.md section 8): `status` prints `Cold`, and a script that
 * passes it back to `wait --activity` must not be refused. The value is folded to lower case
 * before commander checks it, so help and error messages still list the choices.
 */
function foldChoices(cmd: Command): void {
  const fold = (item: { argChoices?: string[]; parseArg?: (value: string, previous: unknown) => unknown }): void => {
    const choices = item.argChoices;
    const parse = item.parseArg;
    if (!choices || !parse) return;
    item.parseArg = (value, previous) => {
      const lower = value.toLowerCase();
      return parse(choices.includes(lower) ? lower : value, previous);
    };
  };
  for (const option of cmd.options) fold(option as never);
  for (const argument of cmd.registeredArguments) fold(argument as never);
}

export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/** Run gwctl with `argv` (without node and script) and return the exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<ExitCode> {
  const contexts: CommandContext[] = [];
  const json = wantsJson(argv);
  const program = buildProgram(io, contexts, await loadColors(io, argv), json, commandsToRegister(argv, REGISTERED_ALONE));
  try {
    await program.parseAsync(rootVersionFlag(argv), { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    return reportError(err, io, contexts.at(-1)?.json ?? json);
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
  }
}

/** `gwctl --version` (before any command) is `gwctl -V`; after a command it is that command's own. */
export function rootVersionFlag(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    const arg = out[i]!;
    if (arg === '--version') {
      out[i] = '-V';
      break;
    }
    if (arg === '--socket') {
      i++; // its value
      continue;
    }
    if (!arg.startsWith('-')) break; // the command: from here on, options are its own
  }
  return out;
}

function reportError(err: unknown, io: Io, json: boolean): ExitCode {
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof CommanderError) {
    // `commander.help` with a non-zero exit code is the help shown for a missing command (a bare
    // `gwctl`): a usage error, not a success a script could mistake for one.
    if (err.code === 'commander.help' && err.exitCode !== 0) {
      if (json) io.stderr.write(usageBody('a command is required (gwctl --help lists them)'));
      return EXIT.USAGE;
    }
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return EXIT.OK;
    }
    return EXIT.USAGE;
  }
  if (err instanceof FlagRefusal) {
    // The daemon refused a value a flag set: a usage error (exit 2), named by the flag.
    if (json) io.stderr.write(`${JSON.stringify(err.toBody())}\n`);
    else io.stderr.write(`gwctl: ${err.refusal.code}: ${err.message}\n(run with --help for usage)\n`);
    return EXIT.USAGE;
  }
  if (err instanceof GwError || err instanceof RemoteError) {
    if (json) io.stderr.write(`${JSON.stringify(err.toBody())}\n`);
    else io.stderr.write(`gwctl: ${err.code}: ${err.message}\n`);
    // A code from a newer gwd is none of the client's own: a plain failure.
    if (err instanceof RemoteError) return EXIT.FAILED;
    if (err.code === 'GW_ERR_CLI_DAEMON_UNREACHABLE') {
      if (!json) {
        io.stderr.write(
          '# is gwd running? Start it with `gwd --data-dir DIR` (or `npm start` in a checkout),\n' +
            '# or point gwctl at its socket with --socket PATH, GWD_SOCKET or GWD_DATA_DIR.\n',
        );
      }
      return EXIT.UNREACHABLE;
    }
    if (err.code === 'GW_ERR_CLI_WAIT_TIMEOUT') return EXIT.TIMEOUT;
    if (err.code === 'GW_ERR_CLI_USAGE') return EXIT.USAGE;
    return EXIT.FAILED;
  }
  io.stderr.write(`gwctl: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.FAILED;
}
