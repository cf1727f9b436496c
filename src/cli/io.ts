/** Where gwctl writes. Injected so tests capture output without spawning a process. */
export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** All of standard input (for `--file -`); absent when there is none to read. */
  readStdin?: () => Promise<string>;
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

export type Paint = (text: string) => string;

/** The few styles gwctl uses; plain identity functions when colour is off. */
export interface Colors {
  green: Paint;
  yellow: Paint;
  red: Paint;
  bold: Paint;
  dim: Paint;
}

const plain: Paint = (t) => t;
export const NO_COLORS: Colors = { green: plain, yellow: plain, red: plain, bold: plain, dim: plain };

export function colorWanted(io: Io, argv: readonly string[]): boolean {
  return io.stdout.isTTY === true && !io.env.NO_COLOR && !argv.includes('--no-color');
}

/**
 * chalk is loaded only when colour will be used (a terminal): scripts and pipes, where gwctl runs
 * most often, do not pay for its import.
 */
export async function loadColors(io: Io, argv: readonly string[]): Promise<Colors> {
  if (!colorWanted(io, argv)) return NO_COLORS;
  const { Chalk } = await import('chalk');
  const c = new Chalk({ level: 1 });
  return { green: c.green.bold, yellow: c.yellow, red: c.red, bold: c.bold, dim: c.dim };
}
