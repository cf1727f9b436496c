import { processIo } from './io.js';
import { flushOutput, watchOutput } from './output.js';
import { run } from './program.js';

watchOutput(process.stdout, process.stderr);
const code = await run(process.argv.slice(2), processIo());
// stdout is not synchronous on a pipe once the pipe is full (the rest waits in the stream's
// buffer): exiting right after the last write cut `config list --json | wc -c` at 64 KiB. Exit as
// soon as every byte is out, without waiting for the event loop to run dry.
await flushOutput(process.stdout, process.stderr);
process.exit(code);
