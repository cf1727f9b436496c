import { processIo } from './io.js';
import { run } from './program.js';

const code = await run(process.argv.slice(2), processIo());
// Exit at once: stdout and stderr are synchronous for files, pipes and terminals on Linux, and
// waiting for the loop to drain costs ~150 ms of undici's background WebAssembly compilation.
process.exit(code);
